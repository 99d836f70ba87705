"""The `local` executor: the run's training process is a child of the worker, on the worker's host.

One rank: `python -m worker.child DIR`. Several (`resources.gpus` or `resources.cpu_ranks` > 1): the same command
under the trainer's launcher (`python -m training.distributed --nproc N -- ...`; rank 0 reports). The child dies
with the worker (PR_SET_PDEATHSIG), so a `kill -9` of the worker leaves no trainer behind.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from training.config import ResourcesConfig
from training.distributed import launch_command
from worker.executors import ExecutorRefused, LaunchSpec
from worker.executors.trainer_process import start_trainer


def resources_of(config: dict[str, Any]) -> ResourcesConfig:
    res = config.get("resources") if isinstance(config, dict) else None
    return ResourcesConfig.model_validate(res if isinstance(res, dict) else {})


def trainer_ranks(config: dict[str, Any]) -> int:
    """How many ranks a run trains on here: `resources.gpus` when > 0 (one process per GPU), else
    `resources.cpu_ranks` (default 1)."""
    return resources_of(config).ranks_per_node


def trainer_command(config: dict[str, Any], out_dir: Path) -> list[str]:
    """The training child's command line: `python -m worker.child DIR`, or on several ranks the same command
    under the trainer's launcher (`python -m training.distributed --nproc N -- ...`; rank 0 reports)."""
    child = [sys.executable, "-m", "worker.child", str(out_dir)]
    n = trainer_ranks(config)
    return launch_command(n, child) if n > 1 else child


class LocalExecution:
    def __init__(self, child: subprocess.Popen[str], lines: queue.Queue[str | None]):
        self.child = child
        self.infra_lost: str | None = None
        self._reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self._reader.start()

    def _read(self, lines: queue.Queue[str | None]) -> None:
        assert self.child.stdout is not None
        for line in self.child.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def poll(self) -> int | None:
        rc = self.child.poll()
        if rc is not None:
            self._reader.join(timeout=5)  # the last lines are in the queue before the exit is reported
        return rc

    def stop(self) -> None:
        self.child.send_signal(signal.SIGTERM)  # the pipeline stops after its current step

    def kill(self) -> None:
        self.child.kill()

    def close(self) -> None:
        if self.child.poll() is None:  # the supervisor itself failed: never leave a trainer behind
            self.child.kill()
            self.child.wait()


class LocalExecutor:
    name = "local"

    def placement(self, config: dict[str, Any]) -> tuple[int, int]:
        return 1, trainer_ranks(config)

    def start(self, spec: LaunchSpec, lines: queue.Queue[str | None]) -> LocalExecution:
        res = resources_of(spec.config)
        if res.nodes > 1:
            raise ExecutorRefused(
                f"resources.nodes is {res.nodes}: a multi-node run needs a worker started with "
                "`grpolab worker --executor ray --ray-address ...` (docs/ray.md); this worker runs runs locally"
            )
        # the trainer needs no credentials: keep the database and broker URLs (passwords) out of its environment
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
        env.update(spec.env)
        child = start_trainer(trainer_command(spec.config, spec.out_dir), env, cwd=spec.cwd)
        return LocalExecution(child, lines)
