"""Sweeps: check every arm of a grid (validation and lint, nothing stored), then store the sweep and its runs
in one transaction; read them back with per-status counts and the seed statistics of the summary.

Each arm goes through the same `api.submission.prepare` as POST /runs, so an arm is accepted exactly when the
same config sent alone would be.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.idempotency import body_digest, key_reused
from api.schemas import RunCreate
from api.submission import Prepared, prepare
from api.sweep_grid import add_allow, apply_overrides, arm_label, check_grid, expand
from api.sweep_schemas import SweepCreate
from service.auth import Identity
from service.broker import enqueue_run
from service.db.lifecycle import create_run_history
from service.db.models import FINISHED, Run, RunStatus, Sweep, User, utcnow
from service.queue_status import waiting_reason_for
from service.runs import new_run_row
from service.settings import Settings
from training.sourcemap import ConfigSyntaxError, SourceMap, parse_text

log = logging.getLogger("grpolab.api")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
MAX_ARM_TEXT = 1_000_000  # what POST /runs accepts as config_text


@dataclass
class Arm:
    index: int
    overrides: dict[str, Any]
    prepared: Prepared | None = None
    refusal: ApiError | None = None
    base_findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return arm_label(self.overrides)


def _base(config_text: str) -> tuple[dict[str, Any], SourceMap]:
    try:
        raw, smap = parse_text(config_text)
    except ConfigSyntaxError as exc:
        message = f"config_text: {exc.message}"
        raise ApiError(
            422,
            "invalid_config",
            f"the base config is not valid: {message}",
            errors=[
                {
                    "pointer": "/config_text",
                    "field": "config_text",
                    "message": exc.message,
                    "line": exc.line,
                    "column": exc.column,
                }
            ],
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError(
            422,
            "invalid_config",
            "the base config must be a mapping of sections (e.g. `algorithm:`, `run:`)",
            errors=[
                {
                    "pointer": "/config_text",
                    "field": "config_text",
                    "message": "not a mapping of sections",
                    "line": 1,
                    "column": 1,
                }
            ],
        )
    return raw, smap


def _locate(items: list[dict[str, Any]], smap: SourceMap, overridden: set[str]) -> list[dict[str, Any]]:
    """Line and column in the BASE text (what the user wrote and sees) where the base spells the field out and
    the arm does not override it; none otherwise (a position in the arm's generated text would mislead)."""
    out = []
    for item in items:
        pointer = item.get("pointer") or ""
        key = pointer.strip("/").replace("/", ".")
        pos = smap.locate(pointer) if pointer and smap.has(pointer) and key not in overridden else None
        out.append({**item, "line": pos.line if pos else None, "column": pos.column if pos else None})
    return out


def _too_big(index: int, size: int) -> ApiError:
    message = f"arm {index}'s config is {size:,} characters; a run config may have at most {MAX_ARM_TEXT:,}"
    return ApiError(
        422,
        "invalid_config",
        message,
        errors=[{"pointer": "/grid", "field": "grid", "message": message, "line": None, "column": None}],
    )


def check_arms(body: SweepCreate, settings: Settings) -> list[Arm]:
    """Every arm validated and linted (each refusal kept, not raised): what preview shows and create requires."""
    check_grid(body.grid)
    raw, smap = _base(body.config_text)
    allow = [a.model_dump() for a in body.allow]
    arms = []
    for index, overrides in enumerate(expand(body.grid)):
        arm = Arm(index, overrides)
        config = add_allow(apply_overrides(raw, overrides), allow)
        name = f"{body.name} · {arm.label}"[:200]
        # as text, not an object: the linter tells a value the config sets from a default by the text's source
        # map, and the run page shows the arm's full config
        text = f"# sweep {body.name!r}, arm {index}: {arm.label}\n" + yaml.dump(
            config, Dumper=_DUMPER, sort_keys=False, allow_unicode=True
        )
        if len(text) > MAX_ARM_TEXT:
            arm.refusal = _too_big(index, len(text))
            arms.append(arm)
            continue
        try:
            arm.prepared = prepare(RunCreate(name=name, config_text=text, tags=body.tags), settings)
        except ApiError as exc:
            exc.errors = _locate(exc.errors, smap, set(overrides))
            exc.findings = _locate(exc.findings, smap, set(overrides))
            arm.refusal = exc
        if arm.prepared:  # the run keeps positions in its own text; the preview shows them in the base text
            arm.base_findings = _locate(arm.prepared.findings, smap, set(overrides))
        arms.append(arm)
    return arms


def arm_check(arm: Arm) -> dict[str, Any]:
    ok = arm.refusal is None
    return {
        "index": arm.index,
        "overrides": arm.overrides,
        "label": arm.label,
        "ok": ok,
        "code": None if ok else arm.refusal.code,  # type: ignore[union-attr]
        "message": None if ok else arm.refusal.message,  # type: ignore[union-attr]
        "errors": [] if ok else arm.refusal.errors,  # type: ignore[union-attr]
        "findings": arm.base_findings if arm.prepared else arm.refusal.findings,  # type: ignore[union-attr]
    }


def refuse_if_any(arms: list[Arm]) -> None:
    """422 naming every refused arm and its findings (each finding tagged with its arm) before anything is stored."""
    refused = [a for a in arms if a.refusal is not None]
    if not refused:
        return
    lint_only = all(a.refusal.code == "lint_failed" for a in refused)  # type: ignore[union-attr]
    parts = [f"arm {a.index} ({a.label}): {a.refusal.message}" for a in refused[:5]]  # type: ignore[union-attr]
    more = f"; and {len(refused) - 5} more" if len(refused) > 5 else ""
    errors, findings = [], []
    for a in refused:
        assert a.refusal is not None
        errors += [{**e, "message": f"arm {a.index} ({a.label}): {e['message']}"} for e in a.refusal.errors]
        findings += [{**f, "arm": a.index, "arm_label": a.label} for f in a.refusal.findings]
    raise ApiError(
        422,
        "lint_failed" if lint_only else "invalid_config",
        f"{len(refused)} of {len(arms)} arms refused, nothing stored: " + "; ".join(parts) + more,
        errors=errors,
        findings=findings,
    )


def store(
    session: Session,
    settings: Settings,
    body: SweepCreate,
    arms: list[Arm],
    project: str,
    user: Identity,
    *,
    idempotency_key: str | None = None,
) -> tuple[Sweep, list[dict[str, Any]]]:
    """The sweep and all its runs in one transaction (all or nothing), then each run sent to its queue. A stored
    `idempotency_key` (api.idempotency.scoped_key) that exists already raises IntegrityError before any run is
    written (see `replay`)."""
    now = utcnow()
    sweep = Sweep(
        id=uuid.uuid4().hex[:12],
        name=body.name,
        project=project,
        owner_id=user.user_id,
        config_text=body.config_text,
        grid=body.grid,
        created_at=now,
        archived=False,
        notes="",
        idempotency_key=idempotency_key,
        request_digest=body_digest(body.model_dump(mode="json")) if idempotency_key else None,
    )
    prepared = [a.prepared for a in arms if a.prepared is not None]
    # never silently forever-queued: a queue no live worker consumes is said at once, as for POST /runs
    reasons = {q: waiting_reason_for(session, settings, q) for q in {p.queue for p in prepared}}
    rows = [
        new_run_row(
            settings,
            p,
            owner_name=user.name,
            owner_id=user.user_id,
            now=now,
            project=project,
            sweep_id=sweep.id,
            sweep_arm=a.overrides,
            waiting_reason=reasons[p.queue],
        )
        for a, p in zip(arms, prepared, strict=True)
    ]
    session.add(sweep)
    session.flush()
    conn = session.connection()
    conn.execute(insert(Run), rows)
    for row in rows:
        create_run_history(conn, row["id"], f"submitted by {user.name} (sweep {sweep.id})", now)
    session.commit()
    for row in rows:
        try:
            enqueue_run(settings, row["id"], row["queue"])
        except Exception:
            # the run stays queued, marked never-sent: a worker's reaper sends it once the broker is back
            log.exception(
                "could not enqueue run %s of sweep %s; the reaper will send it", row["id"], sweep.id
            )
            session.execute(update(Run).where(Run.id == row["id"]).values(enqueued_at=None))
            session.commit()
    return sweep, rows


def replay(session: Session, stored_key: str | None, key: str | None, body: SweepCreate) -> Sweep | None:
    """The sweep an earlier create with this user's Idempotency-Key made (409 if its body differs), or None."""
    if stored_key is None:
        return None
    existing = session.execute(select(Sweep).where(Sweep.idempotency_key == stored_key)).scalar_one_or_none()
    if existing is None:
        return None
    if existing.request_digest != body_digest(body.model_dump(mode="json")):
        raise key_reused(key, "sweep", existing.id, "body (name, config, grid, tags, project or allow)")
    return existing


def status_counts(session: Session, sweep_ids: list[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {s: {} for s in sweep_ids}
    if not sweep_ids:
        return counts
    rows = session.execute(
        select(Run.sweep_id, Run.status, func.count())
        .where(Run.sweep_id.in_(sweep_ids))
        .group_by(Run.sweep_id, Run.status)
    ).all()
    for sweep_id, status, n in rows:
        counts[str(sweep_id)][status] = int(n)
    return counts


def overall_status(counts: dict[str, int]) -> str:
    if not counts or all(s in {x.value for x in FINISHED} for s in counts):
        return "finished"
    return "running" if counts.get(RunStatus.RUNNING.value) else "queued"


def sweep_dict(sweep: Sweep, counts: dict[str, int], owner: str | None) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "name": sweep.name,
        "project": sweep.project,
        "owner": owner,
        "created_at": sweep.created_at,
        "archived": sweep.archived,
        "notes": sweep.notes,
        "grid": sweep.grid,
        "runs": sum(counts.values()),
        "counts": counts,
        "status": overall_status(counts),
    }


def owner_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all()
    return {int(i): str(n) for i, n in rows}
