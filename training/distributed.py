"""Several ranks in one run: the launcher (torchrun), the process group, and the few collectives the trainer uses.

A run on N ranks is N copies of the same trainer process started by torchrun (`python -m torch.distributed.run
--standalone --nproc-per-node N ...`): one process per rank, `RANK`/`WORLD_SIZE`/`LOCAL_RANK`/`MASTER_*` in the
environment, a `torch.distributed` group over NCCL on GPUs and gloo on CPU. `grpolab train --nproc N` and the
worker (`resources.gpus` or `resources.cpu_ranks` > 1) build that command with `torchrun_command`.

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


def torchrun_command(nproc: int, module: str, args: list[str], python: str | None = None) -> list[str]:
    """The command that runs `python -m <module> <args>` on `nproc` ranks of this machine. `--standalone` gives
    the ranks a private rendezvous on a free local port, so concurrent runs never collide."""
    if nproc < 1:
        raise ValueError(f"the number of ranks must be ≥ 1, got {nproc}")
    return [
        python or sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "--max-restarts=0",
        "-m",
        module,
        *args,
    ]
