"""`learner.backend: deepspeed` — the same clipped policy-gradient update as `learner.backend: torch`, run by a
DeepSpeed engine (ZeRO stage 0–3, gradient accumulation, clipping, checkpoints).

What DeepSpeed changes and what it does not:
- The loss is `training.loss.policy_loss`, as in the torch learner (whose padding, log-prob and reference
  functions this learner calls), and it is already normalised over the whole batch, so micro-batches call
  `engine.backward(loss, scale_wrt_gas=False)`; the accumulation boundary is set by hand on the last
  micro-batch, so one `step` is exactly one optimizer update whatever the number of micro-batches (which varies
  with the batch).
- Several ranks (data parallel): batch totals are summed over ranks, and the engine *averages* gradients, so each
  rank's loss is scaled by the world size to give the full-batch gradient. ZeRO-2/3 reduce (and ZeRO-3 gathers)
  inside every backward/forward, so every rank runs the same number of micro-batches: a rank with fewer pads with
  all-masked micro-batches (loss 0).
- Optimizer: a client `torch.optim.AdamW` (never DeepSpeed's FusedAdam / CPUAdam: on CPU those JIT-compile for
  minutes). Clipping: DeepSpeed's `gradient_clipping` (it knows the partitioned gradients); `grad_norm` is the
  engine's global norm before clipping. Warmup: a client LambdaLR stepped by the engine.
- Precision: `learner.precision: auto` = fp32 on CPU, bf16 on a GPU (DeepSpeed keeps fp32 master weights).
- Weights for the rollout engine (`export_weights`): stage 0–2 keep full parameters on every rank, so it is the
  module's `state_dict()`; stage 3 gathers one parameter at a time with `GatheredParameters` (a collective: every
  rank must iterate the generator).
- LoRA (`model.lora`): the engine wraps the peft model and optimizes only the adapters; the KL reference is
  the engine's forward with the adapters switched off; exports merge the adapters (gathered under ZeRO-3);
  checkpoints hold the adapter (rank 0) and DeepSpeed's files without the frozen base.
- Processes: one process works with no launcher (a world of one is set up over gloo on CPU / NCCL on GPU);
  several ranks come from `torchrun` / `deepspeed` (env `RANK`, `WORLD_SIZE`, ...). No home-made groups.
"""

from __future__ import annotations

import contextlib
import copy
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from training import distributed, lora
from training.backends import LearnerBackend, TrainBatch, TrainSequence
from training.config import AlgorithmConfig, LearnerConfig, OptimConfig
from training.learner.torch_learner import (
    batch_totals,
    lr_factor,
    pad,
    reference_logprobs,
    sequence_logprobs,
    split,
    token_logprobs,
)
from training.loss import LOSS_PARTS, BatchTotals, empty_step_metrics, policy_loss, step_metrics

#: Sub-folder of a pipeline checkpoint that holds DeepSpeed's own files (optimizer partitions, scheduler).
DS_SUBDIR = "deepspeed"
DS_TAG = "state"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def import_deepspeed(on_gpu: bool | None = None) -> Any:
    """Import DeepSpeed with the accelerator chosen explicitly (its auto-detection probes CUDA and warns)."""
    if on_gpu is None:
        on_gpu = torch.cuda.is_available()
    if not on_gpu:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        import deepspeed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "learner.backend: deepspeed needs the `deepspeed` package: `pip install -e .[gpu]` on a GPU machine, "
            "`make gpu-path` on CPU (docs/gpu.md)"
        ) from exc
    return deepspeed


def init_distributed(on_gpu: bool) -> None:
    """Join the launcher's process group, or make a world of one when started without a launcher."""
    import torch.distributed as dist

    deepspeed = import_deepspeed(on_gpu)
    _forget_stale_groups(deepspeed)
    if dist.is_initialized():
        # e.g. an in-process vLLM engine made a world of one first: DeepSpeed wraps the existing group, but
        # still reads the launcher's variables
        os.environ.setdefault("RANK", str(dist.get_rank()))
        os.environ.setdefault("WORLD_SIZE", str(dist.get_world_size()))
        os.environ.setdefault("LOCAL_RANK", "0" if dist.get_world_size() == 1 else os.environ["RANK"])
        deepspeed.init_distributed(dist_backend=dist.get_backend())
        _SEEN_WORLD[:] = [dist.group.WORLD]
        return
    for key, value in {"MASTER_ADDR": "127.0.0.1", "RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_PORT", str(_free_port()))
    deepspeed.init_distributed(dist_backend="nccl" if on_gpu else "gloo")
    _SEEN_WORLD[:] = [dist.group.WORLD]


_SEEN_WORLD: list[Any] = []


def _forget_stale_groups(deepspeed: Any) -> None:
    """DeepSpeed caches groups cloned from the world it first saw. When that world was destroyed and a new one
    made in the same process (an in-process vLLM engine shuts its world down on close, the next one makes a new
    one), those clones are dead: drop them so DeepSpeed clones the current world again."""
    import torch.distributed as dist

    world = dist.group.WORLD if dist.is_initialized() else None
    if _SEEN_WORLD and _SEEN_WORLD[0] is not world:
        from deepspeed.utils import groups

        groups._WORLD_GROUP = None
        groups._ZERO_PARAM_INTRA_PARALLEL_GROUP = None
        import deepspeed.comm.comm as ds_comm

        ds_comm.cdb = None
        _SEEN_WORLD.clear()


def ds_config(learner: LearnerConfig, optim: OptimConfig, on_gpu: bool) -> dict[str, Any]:
    """The DeepSpeed config derived from RunConfig (nothing else is read: one source of truth)."""
    bf16 = learner.precision == "bf16" or (learner.precision == "auto" and on_gpu)
    return {
        "train_micro_batch_size_per_gpu": optim.micro_batch_size,
        "gradient_accumulation_steps": 1,  # boundaries are set per step (see the module docstring)
        "gradient_clipping": optim.max_grad_norm,
        "zero_optimization": {"stage": learner.zero_stage},
        "bf16": {"enabled": bf16},
        "fp16": {"enabled": False},
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 2**31 - 1,
        "wall_clock_breakdown": False,
    }


class DeepSpeedLearner(LearnerBackend):
    """A `LearnerBackend` over `deepspeed.initialize`: the engine owns parameters, optimizer, scheduler and
    gradient reduction; the loss is `training.loss`'s."""

    def __init__(
        self,
        model: Any,
        algo: AlgorithmConfig,
        optim: OptimConfig,
        learner: LearnerConfig,
        default_length_norm: float = 1.0,
        device: str | torch.device | None = None,
        total_steps: int | None = None,
    ) -> None:
        on_gpu = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
        if learner.precision == "bf16" and not on_gpu:
            raise ValueError("learner.precision: bf16 needs a GPU here; use `auto` or `fp32` on CPU")
        deepspeed = import_deepspeed(on_gpu)
        init_distributed(on_gpu)
        self.algo = algo
        self.optim_cfg = optim
        self.learner_cfg = learner
        self.default_length_norm = float(default_length_norm)
        self.stage = learner.zero_stage
        self.config = ds_config(learner, optim, on_gpu)
        self.bf16 = bool(self.config["bf16"]["enabled"])
        self.ref_model = None
        self.lora = lora.is_lora(model)
        if algo.kl_coef > 0 and algo.reference == "initial" and not self.lora:
            # A frozen full copy on every rank (inference only). Fine up to a few B parameters; larger runs would
            # want a second ZeRO-3 inference engine.
            self.ref_model = copy.deepcopy(model).eval()
            for p in self.ref_model.parameters():
                p.requires_grad_(False)
        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad],
            lr=optim.lr,
            betas=(optim.beta1, optim.beta2),
            weight_decay=optim.weight_decay,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(optim, total_steps))
        self.engine, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model, optimizer=optimizer, lr_scheduler=scheduler, config=self.config
        )
        self.model = self.engine  # forward goes through the engine (ZeRO-3 gathers in its hooks)
        self.device = self.engine.device
        if self.ref_model is not None:
            self.ref_model.to(self.device)
        self._deepspeed = deepspeed

    # -- the update --------------------------------------------------------------------------------------
    def step(self, batch: TrainBatch) -> dict[str, float]:
        seqs = [s for s in batch.sequences if any(s.action_mask)]
        totals = batch_totals(seqs, batch.length_norm_constant or self.default_length_norm)
        if totals.action_tokens == 0:
            return empty_step_metrics(self._lr())
        self.engine.train()
        chunks = split(seqs, self.optim_cfg.micro_batch_size)
        n_chunks = distributed.max_int(len(chunks))  # equal on every rank (ZeRO reduces in each backward)
        chunks += [[_all_masked(batch)]] * (n_chunks - len(chunks))
        mbs = [(mb, pad(mb, self.device)) for mb in chunks]
        old: list[torch.Tensor] | None = None
        if self.algo.ppo_epochs > 1:
            with torch.no_grad():
                old = [self._policy_logprobs(t, batch.temperature)[0] for _, t in mbs]
        sums = dict.fromkeys(LOSS_PARTS, 0.0)
        grad_norm = 0.0
        scale = float(distributed.world_size())  # the engine averages over ranks; the loss wants their sum
        for _epoch in range(self.algo.ppo_epochs):
            for k, (_mb, t) in enumerate(mbs):
                self.engine.set_gradient_accumulation_boundary(k == len(mbs) - 1)
                loss, parts = self._micro_loss(t, batch.temperature, old[k] if old else None, totals)
                self.engine.backward(loss * scale if scale != 1.0 else loss, scale_wrt_gas=False)
                for key, value in parts.items():
                    sums[key] += value
                if k < len(mbs) - 1:
                    continue
                stage0_norm = self._stage0_grad_norm() if self.stage == 0 and not self.bf16 else None
                self.engine.step()  # reduce, clip, AdamW, LambdaLR
                norm = stage0_norm if stage0_norm is not None else self.engine.get_global_grad_norm()
                grad_norm = float(norm) if norm is not None else 0.0
        sums = dict(zip(LOSS_PARTS, distributed.sum_floats([sums[k] for k in LOSS_PARTS]), strict=True))
        return step_metrics(sums, self.algo.ppo_epochs, grad_norm, self._lr())

    def _policy_logprobs(self, t: dict[str, torch.Tensor], temperature: float):
        return token_logprobs(self.engine, t["ids"], t["attn"], temperature)

    def _micro_loss(
        self, t: dict[str, torch.Tensor], temperature: float, lp_old: torch.Tensor | None, totals: BatchTotals
    ) -> tuple[torch.Tensor, dict[str, float]]:
        lp, logits, logz = self._policy_logprobs(t, temperature)
        ref_lp = reference_logprobs(
            self.engine, self._peft_module(), self.ref_model, self.algo, t, temperature
        )
        return policy_loss(
            lp,
            logits,
            logz,
            logp_old=lp_old,
            ref_logp=ref_lp,
            mask=t["mask"],
            adv=t["adv"],
            behaviour_logp=t["blp"],
            algo=self.algo,
            totals=totals,
        )

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def logprobs(self, batch: TrainBatch) -> list[list[float]]:
        return sequence_logprobs(
            self.engine, split(batch.sequences, self.optim_cfg.micro_batch_size), batch, self.device
        )

    def _stage0_grad_norm(self) -> float:
        """fp32 stage 0 clips with torch but records no norm. Its gradients are full, and the boundary
        `backward` already all-reduced them, so every rank computes the same norm `step` clips with."""
        grads = [p.grad.detach().float() for p in self.engine.module.parameters() if p.grad is not None]
        if not grads:
            return 0.0
        return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))

    # -- weights -----------------------------------------------------------------------------------------
    def _peft_module(self) -> Any:
        return self.engine.module

    def _gather(self, params: list[torch.nn.Parameter]) -> contextlib.AbstractContextManager[Any]:
        """Whole parameters for reading (a collective under ZeRO-3; nothing to do below it)."""
        if self.stage < 3:
            return contextlib.nullcontext()
        return self._deepspeed.zero.GatheredParameters(params, modifier_rank=None)

    def export_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        module = self.engine.module
        if self.lora:
            for name, tensor in lora.merged_weights(module, gather=self._gather):
                # under ZeRO-3 a frozen tensor is whole only inside its gather: hand out a copy
                yield name, tensor.clone() if self.stage == 3 else tensor
            return
        if self.stage < 3:
            yield from module.state_dict().items()
            return
        # ZeRO-3: each rank holds a shard; gather one tensor at a time so peak memory stays one layer. The names
        # are the state_dict's (tied aliases such as lm_head.weight included, non-persistent buffers left out),
        # so stage 3 exports exactly what stage 0 does.
        params = dict(module.named_parameters(remove_duplicate=False))
        buffers = dict(module.named_buffers())
        for name in list(module.state_dict().keys()):
            if name in params:
                param = params[name]
                with self._deepspeed.zero.GatheredParameters([param], modifier_rank=None):
                    yield name, param.data.detach().clone()
            elif name in buffers:
                yield name, buffers[name].detach().clone()

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        """All weights, full, on CPU (every rank; collective under ZeRO-3)."""
        return {name: t.to("cpu") for name, t in self.export_weights()}

    # -- checkpoints -------------------------------------------------------------------------------------
    @property
    def rank(self) -> int:
        import torch.distributed as dist

        return dist.get_rank() if dist.is_initialized() else 0

    def save_checkpoint(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.lora:
            module = self.engine.module
            trainable = [p for p in module.parameters() if p.requires_grad]
            with self._gather(trainable):  # collective: every rank gathers the adapters, rank 0 writes them
                if self.rank == 0:
                    lora.save_adapter(module, directory)
            # Optimizer partitions and the adapters' module state; the frozen base is rebuilt from model.path.
            self.engine.save_checkpoint(
                str(directory / DS_SUBDIR), tag=DS_TAG, save_latest=False, exclude_frozen_parameters=True
            )
            return
        state = self.full_state_dict()  # collective: every rank gathers, rank 0 writes the HF folder
        if self.rank == 0:
            from safetensors.torch import save_file

            module = self.engine.module
            # The HF folder layout of `save_pretrained` (config.json + model.safetensors), written by hand: with
            # an explicit state_dict transformers refuses tied aliases. Aliases (lm_head.weight =
            # embed_tokens.weight) are written once, as save_pretrained does.
            keep = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
            tensors = {k: v.contiguous().clone() for k, v in state.items() if k in keep}
            save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
            module.config.save_pretrained(directory)
            if getattr(module, "generation_config", None) is not None:
                module.generation_config.save_pretrained(directory)
            if self.ref_model is not None:  # clones: safetensors refuses the tied aliases' shared storage
                save_file(
                    {k: v.contiguous().clone() for k, v in self.ref_model.state_dict().items()},
                    str(directory / "reference.safetensors"),
                )
        # Optimizer partitions, scheduler and module states, one file per rank.
        self.engine.save_checkpoint(str(directory / DS_SUBDIR), tag=DS_TAG, save_latest=False)

    def load_checkpoint(self, directory: Path) -> None:
        ds_dir = Path(directory) / DS_SUBDIR
        if not (ds_dir / DS_TAG).is_dir():
            raise ValueError(
                f"checkpoint {directory} has no DeepSpeed state ({DS_SUBDIR}/{DS_TAG}); it was written by "
                "another learner backend: resume with the same learner.backend"
            )
        if self.lora:
            lora.check_adapter(Path(directory), self.engine.module)
        path, _ = self.engine.load_checkpoint(
            str(ds_dir),
            tag=DS_TAG,
            load_optimizer_states=True,
            load_lr_scheduler_states=True,
            load_module_strict=not self.lora,  # LoRA checkpoints leave the frozen base out
        )
        if path is None:
            raise ValueError(f"DeepSpeed could not load the checkpoint in {ds_dir}")
        ref = Path(directory) / "reference.safetensors"
        if self.ref_model is not None and ref.exists():
            from safetensors.torch import load_file

            self.ref_model.load_state_dict(load_file(ref), strict=False)

    def close(self) -> None:
        self.engine.destroy() if hasattr(self.engine, "destroy") else None


def _all_masked(batch: TrainBatch) -> TrainSequence:
    """A sequence that contributes nothing to the loss (no action token): the padding micro-batch of a rank that
    has fewer micro-batches than the others."""
    first = batch.sequences[0].token_ids[:2] if batch.sequences else []
    ids = list(first) if len(first) == 2 else [0, 0]
    return TrainSequence(ids, [0, 0], [0.0, 0.0], [0.0, 0.0])


def build_learner(config: Any, model: Any, default_length_norm: float) -> DeepSpeedLearner:
    """`learner.backend: deepspeed` for the pipeline, from the RunConfig sections it reads."""
    return DeepSpeedLearner(
        model,
        config.algorithm,
        config.optim,
        config.learner,
        default_length_norm=default_length_norm,
        total_steps=config.run.steps,
    )
