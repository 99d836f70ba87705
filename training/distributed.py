"""Several ranks in one run: a torchrun-style launcher, the process group, and the few collectives the trainer uses.

A run on N ranks is N copies of the same trainer process, torchrun-style: one process per rank with `RANK`,
`WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`/`MASTER_PORT` in its environment, and a `torch.distributed` group over
NCCL on GPUs and gloo on CPU. `launch` starts them (`grpolab train --nproc N` in-process; the worker, for
`resources.gpus` or `resources.cpu_ranks` > 1, through `python -m training.distributed --nproc N -- ...`, the
command `launch_command` builds). Ranks started by torchrun itself work the same.

What the ranks share (training/pipeline.py): every rank draws the same step seeds, plays its share of the groups
(whole groups: `shard`), then all ranks gather every group, so advantages are computed on the full batch exactly
as in one process; each rank trains on its own groups' sequences and the learners sum gradients over ranks. Rank 0
alone writes metrics.jsonl, summary.json and the checkpoint folder (DeepSpeed adds its per-rank files there).

With one process and no launcher, every function here is a no-op on a world of one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_writer(self) -> bool:
        """Rank 0 writes the run's files and reports metrics."""
        return self.rank == 0


def launched_ranks() -> Ranks:
    """This process's rank from the launcher's environment (a world of one without a launcher)."""
    try:
        return Ranks(
            rank=int(os.environ.get("RANK", "0")),
            world=int(os.environ.get("WORLD_SIZE", "1")),
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        )
    except ValueError as exc:
        raise ValueError(
            f"RANK / WORLD_SIZE / LOCAL_RANK must be integers (set by torchrun): {exc}"
        ) from None


def init(on_gpu: bool) -> Ranks:
    """Join the launcher's process group (NCCL on GPU, gloo on CPU) when there are several ranks."""
    ranks = launched_ranks()
    if ranks.world <= 1:
        return ranks
    import torch
    import torch.distributed as dist

    if on_gpu:
        torch.cuda.set_device(ranks.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if on_gpu else "gloo")
    return ranks


def world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def shard(n: int, ranks: Ranks) -> range:
    """The contiguous slice of `n` items (groups, eval episodes) that `ranks.rank` handles: sizes differ by at
    most one, in rank order, so concatenating every rank's slice gives back the original order."""
    base, extra = divmod(n, ranks.world)
    start = ranks.rank * base + min(ranks.rank, extra)
    return range(start, start + base + (1 if ranks.rank < extra else 0))


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (picklable objects; [obj] in a world of one)."""
    if world_size() == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def sum_floats(values: list[float]) -> list[float]:
    """Element-wise sum over ranks, in float64."""
    if world_size() == 1:
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return [float(x) for x in t.tolist()]


def max_int(value: int) -> int:
    """The largest `value` over ranks."""
    if world_size() == 1:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def any_rank(flag: bool) -> bool:
    """True on every rank when it is true on one (a stop request must stop all ranks at the same step)."""
    return max_int(int(flag)) > 0


def barrier() -> None:
    if world_size() > 1:
        import torch.distributed as dist

        dist.barrier()


def sum_gradients(params: list[Any]) -> None:
    """All-reduce (sum) the gradients of `params` in one flat buffer; a missing gradient counts as zeros. The
    loss of each rank is already normalised by totals of the whole batch, so the sum is the full-batch gradient."""
    if world_size() == 1 or not params:
        return
    import torch
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p, g in zip(params, grads, strict=True):
        n = g.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast_parameters(module: Any) -> None:
    """Rank 0's parameters and buffers on every rank (replicas start, and stay, identical)."""
    if world_size() == 1:
        return
    import torch.distributed as dist

    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def destroy() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def launch_command(nproc: int, command: list[str], python: str | None = None) -> list[str]:
    """The command line that runs `command` on `nproc` ranks of this machine (`python -m training.distributed`)."""
    if nproc < 1:
        raise ValueError(f"the number of ranks must be ≥ 1, got {nproc}")
    return [python or sys.executable, "-m", "training.distributed", "--nproc", str(nproc), "--", *command]


def launch(nproc: int, command: list[str], env: dict[str, str] | None = None, grace_s: float = 30.0) -> int:
    """Run `command` as `nproc` rank processes (torchrun's environment: RANK, WORLD_SIZE, LOCAL_RANK,
    LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and wait for them. SIGTERM/SIGINT are passed on to every rank;
    when one rank fails the others get SIGTERM, then SIGKILL after `grace_s` (a rank blocked in a collective
    would otherwise wait for its dead peer). Each rank dies with the launcher (PR_SET_PDEATHSIG). Returns 0, or
    the first failing rank's exit status."""
    import signal
    import subprocess
    import time

    base = dict(os.environ if env is None else env)
    port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []
    for r in range(nproc):
        rank_env = {
            **base,
            "RANK": str(r),
            "LOCAL_RANK": str(r),
            "WORLD_SIZE": str(nproc),
            "LOCAL_WORLD_SIZE": str(nproc),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        procs.append(subprocess.Popen(command, env=rank_env, preexec_fn=_die_with_parent))

    def stop_all(sig: int = signal.SIGTERM) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(sig)

    def forward(signum: int, _frame: Any) -> None:
        stop_all(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    failed: int | None = None
    killed_at: float | None = None
    try:
        while None in (codes := [p.poll() for p in procs]):
            bad = [c for c in codes if c not in (None, 0)]
            if bad and failed is None:
                failed = bad[0]
                stop_all(signal.SIGTERM)
                killed_at = time.monotonic()
            if killed_at is not None and time.monotonic() - killed_at > grace_s:
                stop_all(signal.SIGKILL)
            time.sleep(0.05)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stop_all(signal.SIGKILL)
    if failed is not None:
        return failed
    return next((p.returncode for p in procs if p.returncode != 0), 0)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In a rank before exec: get SIGKILL when the launcher dies (a killed run must not leave ranks behind)."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main(argv: list[str]) -> int:
    """`python -m training.distributed --nproc N -- COMMAND...`: the worker's launcher for multi-rank runs."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training.distributed", description=main.__doc__)
    parser.add_argument("--nproc", type=int, required=True, metavar="N", help="ranks to start (≥ 1)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command each rank runs")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.nproc < 1 or not command:
        parser.error("give --nproc N (≥ 1) and, after --, the command each rank runs")
    return launch(args.nproc, command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
