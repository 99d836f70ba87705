"""The GRPO loss as pure functions of tensors: clipped policy gradient, aggregation, KL to a reference, entropy.

Both learners (`learner.backend: torch` and `deepspeed`) compute their forward passes and hand the per-token
log-probs here; nothing in this module knows about models, optimizers or process groups. Shapes: (sequences,
positions), positions aligned to the *target* token (position i scores token i + 1 of the padded input).

Per action token t: ratio ρ = exp(logp − logp_old), pg = max(−A·ρ, −A·clip(ρ, 1 − clip_low, 1 + clip_high)),
times the truncated importance weight min(exp(logp_old − logp_behaviour), tis_c) when `tis_c` is set.
Aggregations (`algorithm.loss_agg`) always normalise by totals of the *whole* batch (`BatchTotals`), so a batch
split into micro-batches — or across ranks — sums to exactly the full-batch loss:
- `token_mean`: Σ over all action tokens / action tokens in the batch;
- `seq_mean_token_mean`: mean over sequences of each sequence's token mean;
- `seq_mean_token_sum`: mean over sequences of (token sum / length-norm constant) — Dr. GRPO.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from training import metrics as M
from training.config import AlgorithmConfig


@dataclass(frozen=True)
class BatchTotals:
    """Normalisers of the whole batch (all micro-batches, all ranks)."""

    action_tokens: float
    sequences: float
    #: divisor of `seq_mean_token_sum`
    length_norm: float


def clipped_pg(
    logp: torch.Tensor, logp_old: torch.Tensor, adv: torch.Tensor, clip_low: float, clip_high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token PPO-clipped policy-gradient loss, and a 0/1 tensor of the tokens whose ratio was clipped."""
    ratio = torch.exp(logp - logp_old)
    clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high)
    pg = torch.maximum(-adv * ratio, -adv * clipped)
    return pg, ((ratio - clipped).abs() > 0).float()


def truncated_is_weight(logp_old: torch.Tensor, logp_behaviour: torch.Tensor, cap: float) -> torch.Tensor:
    """min(π_learner / π_rollout, cap) per token: corrects for the rollout engine's numerics (TIS)."""
    return torch.exp(logp_old - logp_behaviour).clamp(max=cap)


def aggregate(x: torch.Tensor, mask: torch.Tensor, mode: str, totals: BatchTotals) -> torch.Tensor:
    """This (micro-)batch's share of the batch aggregate of per-token values `x` over the action tokens."""
    if mode == "token_mean":
        return (x * mask).sum() / max(totals.action_tokens, 1.0)
    per_seq_sum = (x * mask).sum(-1)
    if mode == "seq_mean_token_mean":
        return (per_seq_sum / mask.sum(-1).clamp(min=1.0)).sum() / max(totals.sequences, 1.0)
    if mode == "seq_mean_token_sum":
        return (per_seq_sum / totals.length_norm).sum() / max(totals.sequences, 1.0)
    raise ValueError(f"algorithm.loss_agg: unknown aggregation {mode!r}")


def kl_per_token(logp: torch.Tensor, ref_logp: torch.Tensor, estimator: str) -> torch.Tensor:
    """Per-token KL(π‖π_ref) estimators of Schulman's note, with r = π/π_ref on samples from π:
    k1 = log r, k2 = ½(log r)², k3 = (1/r − 1) + log r."""
    log_r = logp - ref_logp
    if estimator == "k1":
        return log_r
    if estimator == "k2":
        return 0.5 * log_r * log_r
    if estimator == "k3":
        return torch.exp(-log_r) - 1.0 + log_r
    raise ValueError(f"algorithm.kl_estimator: unknown estimator {estimator!r}")


def entropy_per_token(logits: torch.Tensor, logz: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) at each position: Σ p·(log Z − logit)."""
    probs = torch.softmax(logits, dim=-1)
    return logz - (probs * logits).sum(-1)


def policy_loss(
    logp: torch.Tensor,
    logits: torch.Tensor,
    logz: torch.Tensor,
    *,
    logp_old: torch.Tensor | None,
    ref_logp: torch.Tensor | None,
    mask: torch.Tensor,
    adv: torch.Tensor,
    behaviour_logp: torch.Tensor,
    algo: AlgorithmConfig,
    totals: BatchTotals,
) -> tuple[torch.Tensor, dict[str, float]]:
    """One micro-batch's share of the full loss: pg − entropy_coef·entropy + kl_coef·KL, and its parts.

    `logp_old` None means the pre-update policy is the current one (one PPO epoch): ρ = 1, gradient −A·∇logp.
    `ref_logp` None means no KL term (reported as 0). The parts are the summed shares of `LOSS_PARTS`."""
    old = logp.detach() if logp_old is None else logp_old
    pg_tok, was_clipped = clipped_pg(logp, old, adv, algo.clip_low, algo.clip_high)
    if algo.tis_c is not None:
        pg_tok = pg_tok * truncated_is_weight(old, behaviour_logp, algo.tis_c)
    pg = aggregate(pg_tok, mask, algo.loss_agg, totals)
    loss = pg
    ent = aggregate(entropy_per_token(logits, logz), mask, algo.loss_agg, totals)
    if algo.entropy_coef > 0:
        loss = loss - algo.entropy_coef * ent
    kl = torch.zeros((), device=logp.device)
    if ref_logp is not None:
        kl = aggregate(kl_per_token(logp, ref_logp, algo.kl_estimator), mask, algo.loss_agg, totals)
        loss = loss + algo.kl_coef * kl
    clip = float((was_clipped * mask).sum()) / max(totals.action_tokens, 1.0)
    return loss, {
        "pg": float(pg.detach()),
        "kl": float(kl.detach()),
        "ent": float(ent.detach()),
        "clip": clip,
    }


#: The keys of `policy_loss`'s parts, summed over micro-batches (and ranks) into one step's metrics.
LOSS_PARTS = ("pg", "kl", "ent", "clip")


def step_metrics(sums: dict[str, float], epochs: int, grad_norm: float, lr: float) -> dict[str, float]:
    """A learner step's metrics: loss parts averaged over the PPO epochs, gradient norm before clipping, lr."""
    e = float(epochs)
    return {
        M.LOSS_PG: sums["pg"] / e,
        M.LOSS_KL: sums["kl"] / e,
        M.ENTROPY: sums["ent"] / e,
        M.CLIP_FRAC: sums["clip"] / e,
        M.GRAD_NORM: grad_norm,
        M.LR: lr,
    }


def empty_step_metrics(lr: float) -> dict[str, float]:
    """What a step with no action tokens reports (nothing to learn from; no optimizer update)."""
    return {M.LOSS_PG: 0.0, M.LOSS_KL: 0.0, M.ENTROPY: 0.0, M.GRAD_NORM: 0.0, M.LR: lr}
