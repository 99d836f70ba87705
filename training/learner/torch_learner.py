"""`learner.backend: torch` — clipped policy-gradient update of a transformers causal LM with plain PyTorch.

The loss is `training.loss.policy_loss` (clipped PG, `algorithm.loss_agg`, KL k1/k2/k3 to a frozen reference,
entropy bonus, TIS); this module owns the forward passes, micro-batching (gradients accumulate to exactly the
full-batch gradient), gradient-norm clipping, AdamW with warmup and `lr_schedule`, and checkpoints. Observation and
prompt tokens carry no loss (action mask). The padding, log-prob and reference helpers are module functions that
the DeepSpeed learner uses too.

Several ranks (training/distributed.py): each rank passes its share of the batch; the batch totals that normalise
the loss and the gradients are summed over ranks (an all-reduce in one flat buffer, DDP-style), so every rank
applies the same full-batch update and the replicas stay identical.

With `model.lora` the module is a peft model: only the adapters train, the KL reference is the same module with
its adapters switched off (no second copy), rollouts and exports get merged weights (training/lora.py), and
checkpoints hold the adapter instead of the full weights.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training import distributed, lean_lm, lora
from training.backends import LearnerBackend, TrainBatch, TrainSequence
from training.config import AlgorithmConfig, OptimConfig
from training.loss import LOSS_PARTS, BatchTotals, empty_step_metrics, policy_loss, step_metrics


class TorchLearner(LearnerBackend):
    def __init__(
        self,
        model: Any,
        algo: AlgorithmConfig,
        optim: OptimConfig,
        default_length_norm: float = 1.0,
        device: str | torch.device = "cpu",
        total_steps: int | None = None,
        shared_prefix: bool = True,
    ) -> None:
        """`total_steps`: where `optim.lr_schedule` reaches 0 (the run's RL steps); None keeps the rate constant.
        `shared_prefix`: compute a prompt shared by several sequences once (training/lean_lm.py), for the models
        the lean forward covers."""
        self.model = model
        self.shared_prefix = shared_prefix and lean_lm.supports(model) is None
        self.algo = algo
        self.optim_cfg = optim
        self.device = torch.device(device)
        self.default_length_norm = float(default_length_norm)
        self.lora = lora.is_lora(model)
        self.ref_model = None
        if algo.kl_coef > 0 and algo.reference == "initial" and not self.lora:
            self.ref_model = copy.deepcopy(model).eval()
            for p in self.ref_model.parameters():
                p.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad],
            lr=optim.lr,
            betas=(optim.beta1, optim.beta2),
            weight_decay=optim.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(optim, total_steps))

    # -- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _token_logprobs(model: Any, ids: torch.Tensor, attn: torch.Tensor, temperature: float):
        return token_logprobs(model, ids, attn, temperature)

    def _pad(self, seqs: list[TrainSequence]) -> dict[str, torch.Tensor]:
        return pad(seqs, self.device)

    def _policy_logprobs(self, mb: list[TrainSequence], t: dict[str, torch.Tensor], temperature: float):
        """`_token_logprobs` of the policy for micro-batch `mb` (padded as `t`); sequences that share the tokens
        before their first action token (a group's prompt) run them once."""
        if self.shared_prefix:
            plens = [max(1, _prompt_len(s)) for s in mb]
            if len({tuple(s.token_ids[:p]) for s, p in zip(mb, plens, strict=True)}) < len(mb):
                logits = lean_lm.shared_prefix_logits(self.model, [s.token_ids for s in mb], plens)
                return _from_logits(logits, t["ids"], temperature)
        return token_logprobs(self.model, t["ids"], t["attn"], temperature)

    def _peft_module(self) -> Any:
        """The peft model (the DeepSpeed learner's sits inside its engine)."""
        return self.model

    def _reference_logprobs(self, t: dict[str, torch.Tensor], temperature: float) -> torch.Tensor | None:
        return reference_logprobs(self.model, self._peft_module(), self.ref_model, self.algo, t, temperature)

    def _order(self, seqs: list[TrainSequence]) -> list[TrainSequence]:
        """Order for splitting into micro-batches (the summed gradient does not depend on it): similar lengths
        together, so little compute goes to padding — and, with shared prefixes, a prompt's sequences together."""
        if not self.shared_prefix:
            return sorted(seqs, key=lambda s: len(s.token_ids))
        groups: dict[tuple[int, ...], list[TrainSequence]] = {}
        for s in seqs:
            groups.setdefault(tuple(s.token_ids[: _prompt_len(s)]), []).append(s)
        ordered = sorted(groups.values(), key=lambda g: (max(len(s.token_ids) for s in g), len(g)))
        return [s for g in ordered for s in sorted(g, key=lambda s: len(s.token_ids))]

    def _micro_batches(self, seqs: list[TrainSequence]) -> list[list[TrainSequence]]:
        return split(seqs, self.optim_cfg.micro_batch_size)

    # -- LearnerBackend ------------------------------------------------------------------------------------
    def logprobs(self, batch: TrainBatch) -> list[list[float]]:
        return sequence_logprobs(
            self.model, split(batch.sequences, self.optim_cfg.micro_batch_size), batch, self.device
        )

    def step(self, batch: TrainBatch) -> dict[str, float]:
        seqs = [s for s in batch.sequences if any(s.action_mask)]
        totals = batch_totals(seqs, batch.length_norm_constant or self.default_length_norm)
        if totals.action_tokens == 0:
            return empty_step_metrics(self._lr())
        a = self.algo
        self.model.train()
        if len(seqs) > self.optim_cfg.micro_batch_size:
            seqs = self._order(seqs)
        mbs = self._micro_batches(seqs)
        old: list[torch.Tensor] | None = None
        if a.ppo_epochs > 1:  # later epochs need the pre-update log-probs; one epoch uses logp.detach()
            with torch.no_grad():
                old = [self._policy_logprobs(mb, self._pad(mb), batch.temperature)[0] for mb in mbs]
        sums = dict.fromkeys(LOSS_PARTS, 0.0)
        grad_norm = 0.0
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        for _epoch in range(a.ppo_epochs):
            self.optimizer.zero_grad(set_to_none=True)
            for k, mb in enumerate(mbs):
                loss, parts = self._micro_loss(
                    mb, self._pad(mb), batch.temperature, old[k] if old is not None else None, totals
                )
                loss.backward()
                for key, value in parts.items():
                    sums[key] += value
            distributed.sum_gradients(trainable)  # several ranks: the full batch's gradient on every rank
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.optim_cfg.max_grad_norm)
            )
            self.optimizer.step()
            self.scheduler.step()
        sums = dict(zip(LOSS_PARTS, distributed.sum_floats([sums[k] for k in LOSS_PARTS]), strict=True))
        return step_metrics(sums, a.ppo_epochs, grad_norm, self._lr())

    def _micro_loss(
        self,
        mb: list[TrainSequence],
        t: dict[str, torch.Tensor],
        temperature: float,
        lp_old: torch.Tensor | None,
        totals: BatchTotals,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """One micro-batch's share of the full-batch loss, and its parts for the metrics."""
        lp, logits, logz = self._policy_logprobs(mb, t, temperature)
        return policy_loss(
            lp,
            logits,
            logz,
            logp_old=lp_old,
            ref_logp=self._reference_logprobs(t, temperature),
            mask=t["mask"],
            adv=t["adv"],
            behaviour_logp=t["blp"],
            algo=self.algo,
            totals=totals,
        )

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def export_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        if self.lora:  # the plain model's names and weights, adapters merged
            yield from lora.merged_weights(self.model)
            return
        yield from self.model.state_dict().items()

    def save_checkpoint(self, directory: Path) -> None:
        if distributed.rank() != 0:
            return  # the replicas are identical: rank 0 writes
        directory.mkdir(parents=True, exist_ok=True)
        if self.lora:
            lora.save_adapter(self.model, directory)
        else:
            self.model.save_pretrained(directory, safe_serialization=True)
        torch.save(
            {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()},
            directory / "optimizer.pt",
        )
        if self.ref_model is not None:
            from safetensors.torch import save_file

            save_file(
                # clone: tied embeddings share memory, which safetensors refuses to save
                {k: v.contiguous().clone() for k, v in self.ref_model.state_dict().items()},
                directory / "reference.safetensors",
            )

    def load_checkpoint(self, directory: Path) -> None:
        from safetensors.torch import load_file

        if self.lora:
            lora.load_adapter(self.model, directory)
            self._load_optimizer(directory)
            return
        weights = load_file(directory / "model.safetensors")
        missing, unexpected = self.model.load_state_dict(weights, strict=False)
        # tied embeddings are saved once: lm_head.weight may legitimately be absent
        if unexpected or [m for m in missing if m != "lm_head.weight"]:
            raise ValueError(
                f"checkpoint {directory} does not match the model: missing {missing}, unexpected {unexpected}"
            )
        self._load_optimizer(directory)
        ref = directory / "reference.safetensors"
        if self.ref_model is not None and ref.exists():
            self.ref_model.load_state_dict(load_file(ref), strict=False)

    def _load_optimizer(self, directory: Path) -> None:
        state = torch.load(directory / "optimizer.pt", weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])


def _prompt_len(s: TrainSequence) -> int:
    """Tokens before the first action token: the prompt a group's sequences share."""
    return s.action_mask.index(1) if 1 in s.action_mask else len(s.token_ids)


def pad(seqs: list[TrainSequence], device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded tensors of a micro-batch: `ids`, `attn`, and the target-aligned `mask`, `adv`, `blp`."""
    width = max(len(s.token_ids) for s in seqs)
    b = len(seqs)
    ids = torch.zeros((b, width), dtype=torch.long)
    attn = torch.zeros((b, width), dtype=torch.long)
    act = torch.zeros((b, width), dtype=torch.float32)
    adv = torch.zeros((b, width), dtype=torch.float32)
    blp = torch.zeros((b, width), dtype=torch.float32)
    for i, s in enumerate(seqs):  # right padding: positions start at 0 for every row
        n = len(s.token_ids)
        ids[i, :n] = torch.tensor(s.token_ids)
        attn[i, :n] = 1
        act[i, :n] = torch.tensor(s.action_mask, dtype=torch.float32)
        adv[i, :n] = torch.tensor(s.advantages, dtype=torch.float32)
        blp[i, :n] = torch.tensor(s.behaviour_logprobs, dtype=torch.float32)
    # token i is predicted from position i − 1: shift everything that describes targets by one
    return {
        "ids": ids.to(device),
        "attn": attn.to(device),
        "mask": act[:, 1:].to(device),
        "adv": adv[:, 1:].to(device),
        "blp": blp[:, 1:].to(device),
    }


def split(seqs: list[TrainSequence], size: int) -> list[list[TrainSequence]]:
    """Consecutive micro-batches of at most `size` sequences."""
    return [seqs[i : i + size] for i in range(0, len(seqs), size)]


def batch_totals(seqs: list[TrainSequence], length_norm: float) -> BatchTotals:
    """The loss normalisers of the whole batch: this rank's action tokens and sequences, summed over ranks."""
    tokens, n_seqs = distributed.sum_floats([float(sum(sum(s.action_mask) for s in seqs)), float(len(seqs))])
    return BatchTotals(action_tokens=tokens, sequences=n_seqs, length_norm=float(length_norm))


def token_logprobs(model: Any, ids: torch.Tensor, attn: torch.Tensor, temperature: float):
    """`_from_logits` of a full forward of `model` (a transformers causal LM or a DeepSpeed engine around one)."""
    logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits
    return _from_logits(logits, ids, temperature)


@torch.no_grad()
def sequence_logprobs(
    model: Any, mbs: list[list[TrainSequence]], batch: TrainBatch, device: torch.device
) -> list[list[float]]:
    """`LearnerBackend.logprobs`: every token's log-prob under `model`, micro-batch by micro-batch."""
    out: list[list[float]] = []
    for mb in mbs:
        t = pad(mb, device)
        lp, _, _ = token_logprobs(model, t["ids"], t["attn"], batch.temperature)
        for i, s in enumerate(mb):
            out.append([0.0, *lp[i, : len(s.token_ids) - 1].tolist()])
    return out


@torch.no_grad()
def reference_logprobs(
    model: Any,
    peft_module: Any,
    ref_model: Any | None,
    algo: AlgorithmConfig,
    t: dict[str, torch.Tensor],
    temperature: float,
) -> torch.Tensor | None:
    """Token log-probs of the KL reference, or None without one. With LoRA the reference is the base model:
    the policy's own forward (`model`) with the adapters of `peft_module` switched off."""
    if lora.is_lora(peft_module) and algo.kl_coef > 0 and algo.reference == "initial":
        with peft_module.disable_adapter():
            return token_logprobs(model, t["ids"], t["attn"], temperature)[0]
    if ref_model is None:
        return None
    return token_logprobs(ref_model, t["ids"], t["attn"], temperature)[0]


def _from_logits(logits: torch.Tensor, ids: torch.Tensor, temperature: float):
    """(log-prob of each next token, tempered logits, log-partition), all over positions 0..W−2."""
    logits = logits[:, :-1, :].float()
    if temperature != 1.0:
        logits = logits / temperature
    logz = torch.logsumexp(logits, dim=-1)
    tok_logits = logits.gather(-1, ids[:, 1:, None]).squeeze(-1)
    return tok_logits - logz, logits, logz


def lr_factor(optim: OptimConfig, total_steps: int | None) -> Callable[[int], float]:
    """The learning-rate multiplier of step s (0-based): linear warmup, then `optim.lr_schedule` to 0 at
    `total_steps`."""
    warm, kind = optim.warmup_steps, optim.lr_schedule

    def factor(s: int) -> float:
        f = min(1.0, (s + 1) / warm) if warm > 0 else 1.0
        if kind == "constant" or not total_steps or s < warm:
            return f
        done = min(1.0, (s - warm) / max(1, total_steps - warm))
        return f * ((1.0 - done) if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * done)))

    return factor


def rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])


def dump_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True))
