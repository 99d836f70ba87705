"""The Ray Job's entrypoint: `python -m worker.executors.ray_driver OUT_DIR`, run by Ray on the cluster.

It places the run's learner ranks in a placement group (one bundle per node: `resources.nodes` bundles, STRICT_SPREAD
when there are several, each asking for its node's ranks' CPUs/GPUs and `resources.ray_resources`), starts one
`RankActor` per rank, and each actor runs the ordinary trainer (`python -m worker.child OUT_DIR`) with torchrun's
environment (RANK, WORLD_SIZE, MASTER_ADDR/PORT = rank 0's node): training/distributed.py then forms the
torch.distributed group (NCCL on GPU, gloo on CPU) across the nodes exactly as it does on one machine.

The actors stream their trainer's stdout back (a Ray streaming generator) and the driver prints it: rank 0's lines
as they are (the worker's supervisor reads the job's logs, so metrics, logs and the summary arrive exactly as from
a local child), other ranks' plain lines with a `[rank r]` prefix and their error events. SIGTERM (the job
stopped: a cancel) is passed to every rank's trainer, which stops after its current step. When an actor dies
(its node went away) the driver prints a `lost` event, stops the other ranks and exits with EXIT_INFRA_LOST: the
supervisor requeues the run, and the next attempt resumes from the last checkpoint.

The run's config arrives in GRPOLAB_RUN_CONFIG (the job's runtime env), so a node needs no copy of the worker's
files; the output folder (checkpoints, metrics.jsonl) must be storage every node sees (docs/ray.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from training.config import ResourcesConfig
from worker.child import MARK, Reporter
from worker.executors import EXIT_INFRA_LOST
from worker.executors.trainer_process import start_trainer

EXIT_PREFIX = "\x00exit "
PLACEMENT_TIMEOUT_ENV = "GRPOLAB_RAY_PLACEMENT_TIMEOUT_S"
RANK_START_TIMEOUT_ENV = "GRPOLAB_RAY_RANK_START_TIMEOUT_S"
WAIT_NOTE_S = 10.0  # a placement that takes longer is said in the run's log (the run waits for the cluster)


class RankActor:
    """One learner rank: runs the trainer in a child process and streams its output lines."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[str] | None = None

    def address(self) -> tuple[str, int, str]:
        """This node's address, a free port (rank 0's are every rank's MASTER_ADDR / MASTER_PORT) and node id."""
        import socket

        import ray

        ip = ray.util.get_node_ip_address()
        with socket.socket() as s:
            s.bind((ip, 0))
            port = int(s.getsockname()[1])
        return ip, port, ray.get_runtime_context().get_node_id()

    def run(self, out_dir: str, env: dict[str, str]) -> Iterator[str]:
        # the trainer dies with its actor (and so with its node)
        self.child = start_trainer([sys.executable, "-m", "worker.child", out_dir], {**os.environ, **env})
        assert self.child.stdout is not None
        for line in self.child.stdout:
            yield line.rstrip("\n")
        yield f"{EXIT_PREFIX}{self.child.wait()}"

    def terminate(self) -> None:
        """Ask the trainer to stop after its current step (concurrently with `run`: max_concurrency=2)."""
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)


def bundles(res: ResourcesConfig) -> list[dict[str, float]]:
    """One bundle per node: the CPUs (one per rank), GPUs and custom resources of that node's ranks."""
    gpus = res.gpus_per_node if res.nodes > 1 else res.gpus
    bundle: dict[str, float] = {"CPU": float(res.ranks_per_node), **res.ray_resources}
    if gpus:
        bundle["GPU"] = float(gpus)
    return [dict(bundle) for _ in range(res.nodes)]


def readable(resources: dict[str, float]) -> dict[str, float]:
    """CPUs, GPUs and custom resources, as a bundle names them (Ray's memory sizes and per-node markers left out)."""
    skip = ("memory", "object_store_memory")
    return {
        k: int(v) if float(v).is_integer() else v
        for k, v in sorted(resources.items())
        if k not in skip and not k.startswith("node:") and not k.startswith("accelerator_type:")
    }


class Driver:
    def __init__(self, out_dir: Path, config: dict[str, Any]):
        self.out_dir = out_dir
        self.res = ResourcesConfig.model_validate(config.get("resources") or {})
        self.report = Reporter(sys.stdout)
        self.actors: list[Any] = []
        self.codes: dict[int, int] = {}
        self.lost: str | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def place(self) -> Any:
        import ray
        from ray.util.placement_group import placement_group

        wanted = bundles(self.res)
        strategy = "STRICT_SPREAD" if self.res.nodes > 1 else "PACK"
        pg = placement_group(wanted, strategy=strategy, name=f"grpolab-{self.out_dir.name}")
        timeout = float(os.environ.get(PLACEMENT_TIMEOUT_ENV, "300"))
        started = time.monotonic()
        ready, _ = ray.wait([pg.ready()], timeout=min(WAIT_NOTE_S, timeout))
        if not ready:  # say why the run has not started yet, then wait the rest
            self.report.emit(
                "log",
                line=f"ray: waiting for the cluster to place {self.res.nodes} bundle(s) {wanted[0]} ({strategy}); "
                f"free now: {readable(ray.available_resources())}; giving up after {timeout:.0f} s",
            )
            ready, _ = ray.wait([pg.ready()], timeout=max(timeout - (time.monotonic() - started), 0))
        if not ready:
            total = ray.cluster_resources()
            raise RuntimeError(
                f"the Ray cluster could not place {self.res.nodes} bundle(s) {wanted[0]} ({strategy}) within "
                f"{timeout:.0f} s; it has {len(ray.nodes())} node(s) with {readable(total)} in all. Lower "
                "resources.nodes / "
                "gpus_per_node / ray_resources, or grow the cluster"
            )
        return pg

    def start_ranks(self, pg: Any) -> list[Any]:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        per_node, on_gpu = self.res.ranks_per_node, self.res.gpus > 0
        actor_class = ray.remote(RankActor)
        for node in range(self.res.nodes):
            for _ in range(per_node):
                strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=node)
                self.actors.append(
                    actor_class.options(  # type: ignore[attr-defined]
                        num_cpus=1,
                        num_gpus=1 if on_gpu else 0,
                        max_concurrency=2,  # `terminate` runs while `run` streams
                        scheduling_strategy=strategy,
                        max_restarts=0,
                    ).remote()
                )
        timeout = float(os.environ.get(RANK_START_TIMEOUT_ENV, "300"))
        try:
            where = ray.get([a.address.remote() for a in self.actors], timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            raise RuntimeError(
                f"the ranks' Ray workers did not start within {timeout:.0f} s of their placement (a node that "
                f"cannot start Python workers or set up the job's runtime env: see `ray status` and the node's "
                f"raylet and runtime_env_agent logs); {RANK_START_TIMEOUT_ENV} sets the wait"
            ) from None
        master_addr, master_port, _ = where[0]
        placed = ", ".join(f"rank {r} on {ip} node {node[:12]}" for r, (ip, _p, node) in enumerate(where))
        self.report.emit(
            "log", line=f"ray: {len(self.actors)} rank(s) over {self.res.nodes} node(s): {placed}"
        )
        world = len(self.actors)
        streams = []
        for rank, actor in enumerate(self.actors):
            env = {
                "RANK": str(rank),
                "WORLD_SIZE": str(world),
                # Ray gives each GPU rank one visible device, so its local rank is 0; CPU ranks count per node
                "LOCAL_RANK": "0" if on_gpu else str(rank % per_node),
                "LOCAL_WORLD_SIZE": "1" if on_gpu else str(per_node),
                "MASTER_ADDR": master_addr,
                "MASTER_PORT": str(master_port),
            }
            streams.append(actor.run.remote(str(self.out_dir), env))
        return streams

    def follow(self, rank: int, stream: Any) -> None:
        """Print one rank's lines until its trainer exits, or note the rank lost when its actor dies."""
        import ray

        try:
            for ref in stream:
                line = ray.get(ref)
                if line.startswith(EXIT_PREFIX):
                    self.codes[rank] = int(line[len(EXIT_PREFIX) :])
                elif rank == 0 or (line.startswith(MARK) and '"type": "error"' in line):
                    print(line, flush=True)
                elif not line.startswith(MARK):
                    print(f"[rank {rank}] {line}", flush=True)
        except ray.exceptions.RayError as exc:  # actor or node died, or the object was lost with its node
            with self.lock:
                if self.lost is None:
                    self.lost = f"rank {rank}'s Ray worker died ({type(exc).__name__}: {str(exc)[:300]})"
        finally:
            self.done.set()

    def stop_ranks(self) -> None:
        import ray

        for actor in self.actors:
            with contextlib.suppress(ray.exceptions.RayError):  # a dead actor has nothing left to stop
                actor.terminate.remote()

    def run(self) -> int:
        import ray

        ray.init(log_to_driver=False)  # inside a Ray Job: RAY_ADDRESS points at the cluster
        signal.signal(signal.SIGTERM, lambda *_: self.stop_ranks())
        pg = self.place()
        threads = [
            threading.Thread(target=self.follow, args=(rank, stream), daemon=True)
            for rank, stream in enumerate(self.start_ranks(pg))
        ]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            self.done.wait(1.0)
            self.done.clear()
            failed = self.lost or any(c != 0 for c in self.codes.values())
            if failed:  # the other ranks would wait for their dead peer in a collective: stop them
                self.stop_ranks()
                for t in threads:
                    t.join(timeout=30)
                break
        for actor in self.actors:
            ray.kill(actor)
        if self.lost:
            self.report.emit("lost", message=f"the run lost a node: {self.lost}")
            return EXIT_INFRA_LOST
        return next((c for c in self.codes.values() if c != 0), 0 if self.codes else 1)


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    report = Reporter(sys.stdout)
    try:
        config = json.loads(os.environ.get("GRPOLAB_RUN_CONFIG") or (out_dir / "run-config.json").read_text())
        return Driver(out_dir, config).run()
    except Exception as exc:
        report.emit("error", message=f"Ray driver: {type(exc).__name__}: {exc}"[:2000])
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
