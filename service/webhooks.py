"""Outgoing webhooks: a POST of Slack-compatible JSON when a run ends (succeeded, failed, cancelled) and when a
sweep's last arm ends.

`transition` (service.db.lifecycle) notes each run it finishes on its session; once that session commits, the
run ids are handed to one background thread per process, which reads the run, finds the webhooks that match
(the run's owner or its project), and sends — so a transition never waits for a slow receiver. Each delivery
gets 3 tries, 5 s each; its outcome is kept on the webhook (`last_sent_at`, `last_error`). A process that dies
with deliveries pending loses them: these are notifications, not the record (the run's history is).

A webhook URL often carries a secret (Slack's do, in the path), so logs and errors name only scheme and host.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, event, func, or_, select, update
from sqlalchemy.orm import Session

from service.db.models import FINISHED, Run, Sweep, User, Webhook, utcnow

log = logging.getLogger("grpolab.webhooks")

RUN_EVENTS = ("run.succeeded", "run.failed", "run.cancelled")
SWEEP_FINISHED = "sweep.finished"
EVENTS = (*RUN_EVENTS, SWEEP_FINISHED)
TIMEOUT_S = 5.0
TRIES = 3
RETRY_PAUSE_S = 1.0  # before the 2nd try; doubled before the 3rd
_SESSION_KEY = "grpolab_finished_runs"

_pending: queue.Queue[tuple[Engine, str]] = queue.Queue()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def safe_target(url: str) -> str:
    """What logs may say about a webhook URL: scheme and host, never the path or credentials."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"
    except ValueError:  # not a URL the API would have stored; still never show it
        return "(an unreadable URL)"


def masked_url(url: str) -> str:
    """The URL as the API shows it back: the host and the last 4 characters (enough to tell two apart)."""
    return safe_target(url) + url[-4:]


def note_finished(session: Session, run_id: str) -> None:
    """Called by `transition` when it moved a run to a finished status: deliver after the session commits."""
    session.info.setdefault(_SESSION_KEY, []).append(run_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    run_ids = session.info.pop(_SESSION_KEY, None)
    if not run_ids:
        return
    engine = session.get_bind()
    for run_id in run_ids:
        _pending.put((engine, run_id))  # type: ignore[arg-type]
    _ensure_thread()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)  # the transition did not happen


def _ensure_thread() -> None:
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_deliver_forever, name="grpolab-webhooks", daemon=True)
            _thread.start()


def _deliver_forever() -> None:
    while True:
        engine, run_id = _pending.get()
        try:
            deliver_run_end(engine, run_id)
        except Exception:  # a database hiccup: this notification is lost, the next ones are not
            log.exception("webhook delivery for run %s failed", run_id)
        finally:
            _pending.task_done()


def wait_idle(timeout: float = 30.0) -> bool:
    """Block until every noted delivery was attempted (tests, and a process that wants to exit cleanly)."""
    deadline = time.monotonic() + timeout
    while _pending.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _pending.unfinished_tasks


def _matching(session: Session, run: Run, event_name: str) -> list[Webhook]:
    owner = or_(
        Webhook.user_id == run.owner_id,
        Webhook.user_id.in_(select(User.id).where(User.name == run.created_by)),
    )
    rows = session.execute(select(Webhook).where(or_(Webhook.project == run.project, owner))).scalars()
    return [w for w in rows if not w.events or event_name in w.events]


def deliver_run_end(engine: Engine, run_id: str) -> int:
    """Send the run's end (and its sweep's end, when it was the last arm) to every matching webhook.
    Returns how many deliveries succeeded. No database connection is held while a receiver is waited for."""
    with Session(engine) as session:
        run = session.get(Run, run_id)
        if run is None or run.status not in FINISHED:
            return 0
        event_name = f"run.{run.status}"
        jobs = [(w.id, w.url, run_payload(run, event_name)) for w in _matching(session, run, event_name)]
        sweep = _finished_sweep(session, run)
        if sweep is not None:
            payload = sweep_payload(session, sweep)
            jobs += [(w.id, w.url, payload) for w in _matching(session, run, SWEEP_FINISHED)]
    outcomes = [(hook_id, post_with_retries(url, payload), utcnow()) for hook_id, url, payload in jobs]
    if outcomes:
        with Session(engine) as session:
            for hook_id, error, at in outcomes:
                session.execute(
                    update(Webhook).where(Webhook.id == hook_id).values(last_sent_at=at, last_error=error)
                )
            session.commit()
    return sum(error is None for _, error, _ in outcomes)


def _finished_sweep(session: Session, run: Run) -> Sweep | None:
    """The run's sweep if every arm has finished and this run is the last to finish (ties: the highest id), so
    that two arms ending at once announce the sweep once."""
    if run.sweep_id is None:
        return None
    arms = session.execute(
        select(Run.id, Run.status, Run.finished_at).where(Run.sweep_id == run.sweep_id)
    ).all()
    if any(a.status not in FINISHED for a in arms):
        return None
    last = max(arms, key=lambda a: (a.finished_at or run.finished_at, a.id))
    return session.get(Sweep, run.sweep_id) if last.id == run.id else None


def _run_fields(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "project": run.project,
        "owner": run.created_by,
        "sweep_id": run.sweep_id,
        "step": run.step,
        "total_steps": run.total_steps,
        "last_reward": run.last_reward,
        "error": run.error,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "path": f"/runs/{run.id}",
    }


def _slack(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def run_payload(run: Run, event_name: str) -> dict[str, Any]:
    reward = f", last reward {run.last_reward:.3f}" if run.last_reward is not None else ""
    why = f": {run.error[:300]}" if run.error else ""
    text = (
        f"GRPO Lab: run *{run.name}* (`{run.id}`, project {run.project}) {run.status} at step "
        f"{run.step}/{run.total_steps}{reward}{why}"
    )
    return {**_slack(text), "event": event_name, "run": _run_fields(run)}


def sweep_payload(session: Session, sweep: Sweep) -> dict[str, Any]:
    counts = dict(
        session.execute(
            select(Run.status, func.count()).where(Run.sweep_id == sweep.id).group_by(Run.status)
        ).all()
    )
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    text = f"GRPO Lab: sweep *{sweep.name}* (`{sweep.id}`, project {sweep.project}) finished: {tally}"
    return {
        **_slack(text),
        "event": SWEEP_FINISHED,
        "sweep": {
            "id": sweep.id,
            "name": sweep.name,
            "project": sweep.project,
            "arms": counts,
            "path": f"/sweeps/{sweep.id}",
        },
    }


def post_with_retries(url: str, payload: dict[str, Any]) -> str | None:
    """POST the JSON; None when a try got a 2xx, else why the last try failed (no URL path in it)."""
    import httpx  # here: the worker imports this module through lifecycle, and most processes never send

    # httpx logs every request's full URL at INFO; a webhook URL carries its secret in the path
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))

    error = "not sent"
    for attempt in range(TRIES):
        if attempt:
            time.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1))
        try:
            response = httpx.post(url, json=payload, timeout=TIMEOUT_S, follow_redirects=False)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__} from {safe_target(url)}"
        else:
            if response.is_success:
                return None
            error = f"HTTP {response.status_code} from {safe_target(url)}"
        log.warning("webhook to %s, try %d of %d: %s", safe_target(url), attempt + 1, TRIES, error)
    return error
