"""Executors: where a claimed run's training process actually runs.

The Celery task (worker/runner.py) is a thin supervisor: it claims the run, starts it through an executor, turns
the executor's output lines into metrics and log rows, heartbeats, and asks the executor to stop it on cancel. Two
executors, chosen per worker (`grpolab worker --executor local|ray`):

- `local` (worker/executors/local.py): a child process on the worker's host, as before;
- `ray` (worker/executors/ray_job.py): a Ray Job on an existing cluster; its driver (ray_driver.py) places the
  learner ranks in a placement group across nodes.

Both speak the same protocol: the trainer's stdout lines (worker/child.py's events), an exit code, stop and kill.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

#: exit code of an execution whose infrastructure went away (a Ray node died): the run is requeued, not failed
EXIT_INFRA_LOST = 75  # EX_TEMPFAIL


class ExecutorRefused(Exception):
    """The executor cannot run this run (the message says why and what to do); the run fails with it."""


@dataclass(frozen=True)
class LaunchSpec:
    """Everything an executor needs to start one attempt of a run."""

    run_id: str
    attempt: int
    config: dict[str, Any]
    out_dir: Path
    env: dict[str, str]  # the trainer's environment additions (threads, memory limit, unbuffered output)
    cwd: Path  # relative model paths resolve here (the data dir)


class Execution(Protocol):
    """One started attempt. Output lines go to the queue given at start, then None once the output has ended."""

    #: why the infrastructure went away (a Ray node died), when it did: the supervisor requeues the run
    infra_lost: str | None

    def poll(self) -> int | None:
        """The exit code once finished (negative: killed by that signal), else None."""
        ...

    def stop(self) -> None:
        """Ask the trainer to stop after its current step (SIGTERM / stop the Ray job)."""
        ...

    def kill(self) -> None:
        """Stop it now."""
        ...

    def close(self) -> None:
        """Leave nothing running (called once, whatever happened)."""
        ...


class Executor(Protocol):
    name: str

    def start(self, spec: LaunchSpec, lines: queue.Queue[str | None]) -> Execution: ...

    def placement(self, config: dict[str, Any]) -> tuple[int, int]:
        """(nodes, ranks) the run will use: recorded on the run when it is claimed."""
        ...


def make_executor(name: str, ray_address: str | None = None) -> Executor:
    """The executor a worker was started with (`local` or `ray`)."""
    if name == "local":
        from worker.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        from worker.executors.ray_job import RayExecutor

        return RayExecutor(ray_address)
    raise ValueError(f"unknown executor {name!r}: use local or ray")
