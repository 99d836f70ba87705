"""Run one claimed run: start it through the worker's executor, stream its output to the DB, heartbeat, cancel.

The executor (worker/executors/: `local` child process or `ray` job) runs the trainer; this supervisor is the
same for both. The worker process itself never imports torch: the child (`worker.child`) does. Metrics and log lines are
written in batches (one transaction every FLUSH_S) together with the heartbeat; the heartbeat UPDATE is guarded
by `worker = me AND status = running`, so a worker that lost its run (reaped, or cancelled) notices and stops.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.broker import enqueue_run
from service.db.lifecycle import transition
from service.db.models import LogLine, MetricPoint, Run, RunStatus, utcnow
from service.db.session import session_scope
from service.settings import Settings
from training import metrics as M
from worker.child import MARK, finite
from worker.executors import EXIT_INFRA_LOST, Execution, Executor, ExecutorRefused, LaunchSpec, make_executor
from worker.executors.local import resources_of, trainer_command, trainer_ranks

__all__ = ["SHUTTING_DOWN", "execute_run", "trainer_command", "trainer_ranks"]

log = logging.getLogger("grpolab.worker")
FLUSH_S = 0.5
SPARKLINE = 50
REWARD = M.REWARD_MEAN
MAX_LINE = 4000

#: set when the worker is asked to shut down (Ctrl-C, SIGTERM): running runs stop and go back to the queue
SHUTTING_DOWN = threading.Event()


@dataclass
class Batch:
    metrics: dict[int, dict[str, Any]] = field(default_factory=dict)
    logs: list[tuple[Any, str]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: str | None = None
    infra_lost: str | None = None  # the executor's infrastructure went away (a `lost` event): requeue


def _parse(line: str, batch: Batch) -> None:
    if line.startswith(MARK):
        try:
            event = json.loads(line[1:])
        except json.JSONDecodeError:
            batch.logs.append((utcnow(), line[1:MAX_LINE]))
            return
        kind = event.get("type")
        if kind == "metric":
            batch.metrics.setdefault(int(event["step"]), {}).update(event.get("metrics") or {})
        elif kind == "log":
            batch.logs.append((utcnow(), str(event.get("line", ""))[:MAX_LINE]))
        elif kind == "summary":
            batch.summary = event.get("summary")
        elif kind == "error":
            batch.error = str(event.get("message", ""))[:2000]
        elif kind == "lost":
            batch.infra_lost = str(event.get("message", ""))[:2000]
        return
    batch.logs.append((utcnow(), line[:MAX_LINE]))


class RunSupervisor:
    def __init__(self, settings: Settings, run_id: str, worker_name: str, executor: Executor | None = None):
        self.settings = settings
        self.executor = executor or make_executor(settings.executor, settings.ray_address)
        self.url = settings.db_url
        self.run_id = run_id
        self.me = worker_name
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.pending = Batch()
        self.seq = 0
        self.cancel_reason: str | None = None
        self.lost = False
        self._queue = "cpu"
        self.attempt = 0

    # -- claim ---------------------------------------------------------------------------------------------
    def claim(self) -> Run | None:
        with session_scope(self.url) as s:
            run = s.get(Run, self.run_id)
            if run is None or run.status != RunStatus.QUEUED.value:
                return None  # already claimed, finished or cancelled: this message is a duplicate
            attempt = run.attempts + 1
            try:
                nodes, ranks = self.executor.placement(run.config)
            except ValueError:
                nodes, ranks = 1, 1  # an unreadable resources section fails in the trainer, with its message
            where = f" (executor {self.executor.name}, {nodes} node(s), {ranks} rank(s))"
            reason = (
                f"started on {self.me} (attempt {attempt}){where if self.executor.name != 'local' else ''}"
            )
            if not transition(
                s,
                self.run_id,
                RunStatus.RUNNING,
                reason,
                from_={RunStatus.QUEUED},
                worker=self.me,
                executor=self.executor.name,
                nodes=nodes,
                ranks=ranks,
            ):
                return None
            s.flush()
            s.refresh(run)
            self.seq = run.log_seq
            self._queue = run.queue
            self.attempt = run.attempts
            return run

    # -- main loop -----------------------------------------------------------------------------------------
    def execute(self) -> str:
        if SHUTTING_DOWN.is_set():
            return self._hand_back()
        run = self.claim()
        if run is None:
            return "skipped"
        out_dir = Path(run.output_dir)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "run-config.json").write_text(json.dumps(run.config))
        except OSError as exc:
            self._finish(RunStatus.FAILED, f"cannot write the run's folder {out_dir}: {exc.strerror}")
            return "failed"
        spec = LaunchSpec(
            run_id=self.run_id,
            attempt=run.attempts,
            config=run.config,
            out_dir=out_dir,
            env=self._trainer_env(run.config),
            cwd=self.settings.data_dir.resolve(),  # relative model paths resolve inside the data dir
        )
        try:
            execution = self.executor.start(spec, self.lines)
        except ExecutorRefused as exc:
            self._finish(RunStatus.FAILED, str(exc))
            return "failed"
        except Exception as exc:  # OSError, or the Ray cluster unreachable: say which executor failed
            log.exception("run %s: the %s executor could not start it", self.run_id, self.executor.name)
            if self.executor.name != "local":  # a cluster that is down now may be back for the next attempt
                return self._infra_lost(f"the {self.executor.name} executor could not submit the run ({exc})")
            self._finish(
                RunStatus.FAILED, f"could not start the training process ({self.executor.name}): {exc}"
            )
            return "failed"
        self._backfill(out_dir)
        try:
            rc = self._supervise(execution)
        finally:
            execution.close()
        return self._conclude(rc, execution.infra_lost)

    def _trainer_env(self, config: dict[str, Any]) -> dict[str, str]:
        threads = str(resources_of(config).cpu_threads) if isinstance(config, dict) else "2"
        env = {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        if self.settings.child_mem_limit_mb:
            env["GRPOLAB_CHILD_MEM_LIMIT_MB"] = str(self.settings.child_mem_limit_mb)
        return env

    def _supervise(self, execution: Execution) -> int:
        """Stream, heartbeat and cancel until the execution has ended and its output is stored; its exit code."""
        killed_at: float | None = None
        db_failing_since: float | None = None
        while True:
            rc = execution.poll()
            self._drain()
            try:
                self._flush()
                db_failing_since = None
            except SQLAlchemyError:
                # the database restarts or is briefly unreachable: keep the batch, retry on the next tick; give
                # up (and let the reaper requeue the run) once our heartbeat would be considered lost anyway
                log.warning("run %s: cannot write to the database; retrying", self.run_id, exc_info=True)
                db_failing_since = db_failing_since or time.monotonic()
                if time.monotonic() - db_failing_since > self.settings.heartbeat_timeout_s:
                    raise
            if rc is not None and db_failing_since is None:
                return rc
            if (self.cancel_reason or self.lost or SHUTTING_DOWN.is_set()) and killed_at is None:
                execution.stop()  # the pipeline stops after its current step
                killed_at = time.monotonic()
            elif killed_at is not None and time.monotonic() - killed_at > self.settings.cancel_grace_s:
                execution.kill()
            time.sleep(FLUSH_S)

    def _backfill(self, out_dir: Path) -> None:
        """Steps a lost worker finished and checkpointed but never flushed to the DB: take them from the run's
        metrics.jsonl (the resumed pipeline recomputes only what comes after its checkpoint)."""
        steps = [
            int(p.name.split("-")[-1]) for p in out_dir.glob("checkpoints/step-*") if p.name[5:].isdigit()
        ]
        path = out_dir / "metrics.jsonl"
        if not steps or not path.is_file():
            return
        with session_scope(self.url) as s:
            stored = s.execute(
                select(func.max(MetricPoint.step)).where(MetricPoint.run_id == self.run_id)
            ).scalar()
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                step = int(row.pop("step"))
            except (ValueError, KeyError, TypeError):
                continue
            if (stored or 0) < step <= max(steps):
                self.pending.metrics[step] = finite(row)

    def _drain(self) -> None:
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                _parse(line, self.pending)

    def _flush(self) -> None:
        """One transaction: metric points, log lines, progress and the heartbeat; reads the cancel flag."""
        b = self.pending
        self.pending = Batch(summary=b.summary, error=b.error, infra_lost=b.infra_lost)  # the end state stays
        try:
            self._write(b)
        except SQLAlchemyError:
            # put the batch back in front of anything that arrived meanwhile
            for step, values in self.pending.metrics.items():
                b.metrics.setdefault(step, {}).update(values)
            b.logs.extend(self.pending.logs)
            b.summary, b.error, b.infra_lost = (
                self.pending.summary,
                self.pending.error,
                self.pending.infra_lost,
            )
            self.pending = b
            raise

    def _write(self, b: Batch) -> None:
        seq = self.seq
        with session_scope(self.url) as s:
            if b.metrics:
                self._write_metrics(s, b.metrics)
            for at, line in b.logs:
                seq += 1
                s.add(LogLine(run_id=self.run_id, seq=seq, at=at, line=line))
            values: dict[str, Any] = {"heartbeat_at": utcnow(), "log_seq": seq}
            if b.metrics:
                values.update(self._progress(s, b.metrics))
            n = s.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.worker == self.me, Run.status == RunStatus.RUNNING.value)
                .values(**values)
            ).rowcount  # type: ignore[attr-defined]
            if n != 1:
                # reaped (our heartbeat was late) or finished elsewhere: keep nothing of this batch
                s.rollback()
                self.lost = True
                return
            asked, by = s.execute(
                select(Run.cancel_requested, Run.cancel_requested_by).where(Run.id == self.run_id)
            ).one()
            if asked:
                self.cancel_reason = self.cancel_reason or (
                    f"cancelled by {by}" if by else "cancelled on request"
                )
        self.seq = seq  # committed

    def _write_metrics(self, s: Session, metrics: dict[int, dict[str, Any]]) -> None:
        # a resumed run replays steps after its checkpoint: merge into what is there
        existing = {
            p.step: p
            for p in s.execute(
                select(MetricPoint).where(
                    MetricPoint.run_id == self.run_id, MetricPoint.step.in_(list(metrics))
                )
            ).scalars()
        }
        for step, values in sorted(metrics.items()):
            if step in existing:
                existing[step].metrics = {**existing[step].metrics, **values}
            else:
                s.add(MetricPoint(run_id=self.run_id, step=step, metrics=values))

    def _progress(self, s: Session, metrics: dict[int, dict[str, Any]]) -> dict[str, Any]:
        spark = s.execute(select(Run.reward_sparkline).where(Run.id == self.run_id)).scalar_one() or []
        last_reward = None
        for _step, values in sorted(metrics.items()):
            r = values.get(REWARD)
            if isinstance(r, int | float):
                spark.append(float(r))
                last_reward = float(r)
        out: dict[str, Any] = {"step": max(metrics), "reward_sparkline": spark[-SPARKLINE:]}
        if last_reward is not None:
            out["last_reward"] = last_reward
        return out

    # -- end -----------------------------------------------------------------------------------------------
    def _conclude(self, rc: int, infra_lost: str | None = None) -> str:
        if self.lost and not self.cancel_reason:
            return "lost"
        summary, error = self.pending.summary, self.pending.error
        finished = bool(rc == 0 and summary and not summary.get("stopped"))
        infra_lost = (
            infra_lost
            or self.pending.infra_lost
            or ("the executor's infrastructure went away" if rc == EXIT_INFRA_LOST else None)
        )
        if infra_lost and not self.cancel_reason and not finished:
            return self._infra_lost(infra_lost)
        if SHUTTING_DOWN.is_set() and not self.cancel_reason and not finished:
            return self._requeue(f"worker {self.me} shut down; the run resumes from its last checkpoint")
        if self.cancel_reason and (rc != 0 or (summary or {}).get("stopped")):
            self._finish(RunStatus.CANCELLED, self.cancel_reason, summary=summary)
            return "cancelled"
        if rc == 0 and summary is not None:
            self._finish(RunStatus.SUCCEEDED, f"finished {summary.get('steps', '?')} steps", summary=summary)
            return "succeeded"
        reason = error or f"the training process exited with code {rc}"
        if rc < 0:
            reason = f"the training process was killed by signal {-rc}"
        self._finish(RunStatus.FAILED, reason, error=reason)
        return "failed"

    def _infra_lost(self, why: str) -> str:
        """Like a lost worker: the next attempt resumes from the last checkpoint, up to max_attempts."""
        if self.attempt >= self.settings.max_attempts:
            reason = f"{why} on attempt {self.attempt} of {self.settings.max_attempts}; giving up"
            self._finish(RunStatus.FAILED, reason)
            return "failed"
        return self._requeue(f"{why}; requeued to resume from its last checkpoint")

    def _requeue(self, reason: str) -> str:
        with session_scope(self.url) as s:
            transition(s, self.run_id, RunStatus.QUEUED, reason, from_={RunStatus.RUNNING})
        self._send_again()
        return "requeued"

    def _hand_back(self) -> str:
        """A message that reaches this worker after it was asked to shut down (the solo pool may still take one
        during a warm shutdown, even the message of the run it has just requeued): the run stays queued and
        unclaimed, no attempt is counted against max_attempts, and its message goes back for another worker."""
        with session_scope(self.url) as s:
            run = s.get(Run, self.run_id)
            if run is None or run.status != RunStatus.QUEUED.value:
                return "skipped"
            self._queue = run.queue
        self._send_again()
        return "handed back"

    def _send_again(self) -> None:
        try:
            enqueue_run(self.settings, self.run_id, self._queue)
        except Exception:  # broker down too: mark it never-sent, the next reaper sends it
            log.exception("run %s: could not requeue; the reaper will send it", self.run_id)
            with session_scope(self.url) as s:
                s.execute(update(Run).where(Run.id == self.run_id).values(enqueued_at=None))

    def _finish(self, to: RunStatus, reason: str, **fields: Any) -> None:
        if to is RunStatus.FAILED:
            fields.setdefault("error", reason)
        with session_scope(self.url) as s:
            transition(s, self.run_id, to, reason, from_={RunStatus.RUNNING}, **fields)


def execute_run(settings: Settings, run_id: str, worker_name: str) -> str:
    return RunSupervisor(settings, run_id, worker_name).execute()
