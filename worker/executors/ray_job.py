"""The `ray` executor: each attempt of a run is a Ray Job on an existing cluster (Ray's Job Submission API).

`grpolab worker --executor ray --ray-address http://HEAD:8265`. The worker stays the supervisor (claim, heartbeat,
metrics and logs into the database, cancel, requeue); Ray places and runs the trainer:

- submit: `python -m worker.executors.ray_driver OUT_DIR` as the job's entrypoint (on the head node: it only
  places ranks), submission id `grpolab-<run>-a<attempt>-<random>`, metadata naming the run, and a runtime env that ships
  the project's `training` and `worker` packages (py_modules) and carries the run's config and the trainer's
  environment (env_vars);
- output: the job's log stream (`tail_job_logs`), the same lines a local child prints;
- status: `get_job_info` — SUCCEEDED is exit 0, STOPPED a SIGTERM, FAILED the driver's exit code; a job whose
  driver never reported one (its supervisor actor or node died), or a cluster that stopped answering, counts as
  lost infrastructure, so the run is requeued like one whose worker died;
- cancel: `stop_job` (Ray sends SIGTERM to the driver, which passes it to every rank).

A new attempt first stops any job of an earlier attempt that is still running (its worker died; Ray kept going).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import threading
import time
from pathlib import Path
from typing import Any

from worker.executors import EXIT_INFRA_LOST, LaunchSpec
from worker.executors.local import resources_of

log = logging.getLogger("grpolab.worker.ray")
PROJECT = Path(__file__).resolve().parents[2]
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
STATUS_EVERY_S = 1.0
#: how long the cluster may not answer before the attempt counts as lost (the run is then requeued)
UNREACHABLE_S = 60.0


def job_id_of(run_id: str, attempt: int) -> str:
    """`grpolab-<run>-a<attempt>-<random>`: unique even when a cluster outlives the database that named the run."""
    import uuid

    return f"grpolab-{run_id}-a{attempt}-{uuid.uuid4().hex[:6]}"


class RayExecution:
    def __init__(self, client: Any, job_id: str, lines: Any):
        self.client = client
        self.job_id = job_id
        self.lines = lines
        self.infra_lost: str | None = None
        self._status: str = "PENDING"
        self._info: Any = None
        self._checked = 0.0
        self._unreachable_since: float | None = None
        self._seen = 0  # lines delivered (a reconnected log stream starts again from the first line)
        self._closed = threading.Event()  # no more lines may be delivered
        self._ended = threading.Event()  # the log stream ended on its own
        self._lock = threading.Lock()
        self._tail = threading.Thread(target=self._follow_logs, name=f"tail-{job_id}", daemon=True)
        self._tail.start()

    # -- output ------------------------------------------------------------------------------------------
    def _follow_logs(self) -> None:
        while not self._closed.is_set():
            try:
                asyncio.run(self._tail_once())
                if self._job_over():
                    self._ended.set()
                    return
            except Exception:  # the dashboard restarted or the stream broke: reconnect, skip what we have
                log.warning("job %s: log stream broke; reconnecting", self.job_id, exc_info=True)
            self._closed.wait(1.0)

    def _job_over(self) -> bool:
        """Whether the job has finished (a log stream can also end because the dashboard went away)."""
        try:
            status = self.client.get_job_status(self.job_id)
        except Exception:
            return False
        return str(getattr(status, "value", status)) in TERMINAL

    async def _tail_once(self) -> None:
        index, partial = 0, ""
        async for chunk in self.client.tail_job_logs(self.job_id):
            *whole, partial = (partial + chunk).split("\n")
            for line in whole:
                index += 1
                self._deliver(index, line)
        if partial:
            self._deliver(index + 1, partial)

    def _deliver(self, index: int, line: str) -> None:
        with self._lock:
            if index <= self._seen or self._closed.is_set():
                return
            self._seen = index
            self.lines.put(line)

    def _catch_up(self) -> None:
        """The stream did not end with the job: take the rest of the lines from the stored log."""
        try:
            text = self.client.get_job_logs(self.job_id)
        except Exception:
            log.warning("job %s: could not read its stored log", self.job_id, exc_info=True)
            return
        for index, line in enumerate(text.splitlines(), start=1):
            self._deliver(index, line)

    # -- status ------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < STATUS_EVERY_S:
            return
        self._checked = now
        try:
            self._info = self.client.get_job_info(self.job_id)
            self._status = str(getattr(self._info.status, "value", self._info.status))
            self._unreachable_since = None
        except Exception as exc:
            self._unreachable_since = self._unreachable_since or now
            if now - self._unreachable_since > UNREACHABLE_S and self.infra_lost is None:
                self.infra_lost = f"the Ray cluster stopped answering for {UNREACHABLE_S:.0f} s ({exc})"

    def poll(self) -> int | None:
        self._refresh()
        if self.infra_lost and self._status not in TERMINAL:
            self._finish_output()
            return EXIT_INFRA_LOST
        if self._status not in TERMINAL:
            return None
        self._finish_output()
        info = self._info
        if self._status == "SUCCEEDED":
            return 0
        if self._status == "STOPPED":
            return -15  # stopped on request: SIGTERM
        code = getattr(info, "driver_exit_code", None)
        if code is None:  # the driver never finished: its supervisor actor or its node died
            self.infra_lost = (
                f"the Ray job {self.job_id} failed outside the trainer: {(info.message or '')[:500]}"
            )
            return EXIT_INFRA_LOST
        return int(code)

    def _finish_output(self) -> None:
        if not self._closed.is_set():
            if not self._ended.wait(10.0):
                self._catch_up()
            with self._lock:
                self._closed.set()
                self.lines.put(None)

    # -- control -----------------------------------------------------------------------------------------
    def stop(self) -> None:
        with contextlib.suppress(Exception):  # already finished, or the cluster is gone: nothing to stop
            self.client.stop_job(self.job_id)

    def kill(self) -> None:
        self.stop()  # Ray itself SIGKILLs a job that ignores the stop after RAY_JOB_STOP_WAIT_TIME_S

    def close(self) -> None:
        if self._status not in TERMINAL:
            self.stop()
        self._closed.set()


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, python: str = "python"):
        self.address = address
        self.python = python
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            from ray.job_submission import JobSubmissionClient

            self._client = JobSubmissionClient(self.address)
        return self._client

    def placement(self, config: dict[str, Any]) -> tuple[int, int]:
        res = resources_of(config)
        return res.nodes, res.world_size

    def runtime_env(self, spec: LaunchSpec) -> dict[str, Any]:
        import json

        env = {
            **spec.env,
            "GRPOLAB_RUN_CONFIG": json.dumps(spec.config),
            "GRPOLAB_RUN_ID": spec.run_id,
            "RAY_JOB_STOP_WAIT_TIME_S": "30",  # the ranks finish their step, then SIGKILL
        }
        return {
            "py_modules": [str(PROJECT / "training"), str(PROJECT / "worker")],
            "env_vars": env,
        }

    def stop_earlier_attempts(self, run_id: str) -> None:
        """A worker that died left its job running: stop it before the next attempt writes the same folder."""
        client = self.client()
        for job in client.list_jobs():
            meta = job.metadata or {}
            status = str(getattr(job.status, "value", job.status))
            if meta.get("grpolab_run") == run_id and status not in TERMINAL and job.submission_id:
                log.warning("run %s: stopping the earlier attempt's job %s", run_id, job.submission_id)
                with contextlib.suppress(Exception):
                    client.stop_job(job.submission_id)

    def start(self, spec: LaunchSpec, lines: Any) -> RayExecution:
        self.stop_earlier_attempts(spec.run_id)
        job_id = job_id_of(spec.run_id, spec.attempt)
        entrypoint = f"{self.python} -m worker.executors.ray_driver {shlex.quote(str(spec.out_dir))}"
        self.client().submit_job(
            entrypoint=entrypoint,
            submission_id=job_id,
            runtime_env=self.runtime_env(spec),
            metadata={"grpolab_run": spec.run_id, "grpolab_attempt": str(spec.attempt)},
            entrypoint_num_cpus=0,  # the driver only places and follows the ranks
        )
        return RayExecution(self.client(), job_id, lines)
