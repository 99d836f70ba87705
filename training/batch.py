"""From a step's groups to the learner's batch: advantages → subsample → optional whitening → token sequences.

`build_batch` sees every group of the step (on every rank), so group statistics, batch-level whitening
(`reinforce_pp_baseline`, `norm_return`) and subsampling are the same whether the step ran on one rank or several;
each rank then trains on its own groups' sequences (`pipeline.rank_share`).
"""

from __future__ import annotations

import math

import numpy as np

from training import metrics as M
from training.advantages import compute_advantages, whiten_transitions
from training.backends import TrainBatch, TrainSequence
from training.config import RunConfig
from training.envs.runner import Episode


def build_batch(
    groups: list[list[Episode]], cfg: RunConfig, rng: np.random.Generator
) -> tuple[TrainBatch, dict[str, float]]:
    """Advantages (per group, float64) → optional subsample → optional norm_return → token-level batch."""
    algo = cfg.algorithm
    adv = compute_advantages(
        [[e.rewards for e in g] for g in groups],
        algo.estimator,
        gamma=algo.gamma,
        std_eps=algo.std_eps,
        step_token_counts=[[e.action_tokens for e in g] for g in groups],
    )
    trans = _kept_transitions(groups, cfg, rng)
    values = [adv[g][e][t] for g, e, t in trans]
    if algo.norm_return:
        values = whiten_transitions(values)  # the seed's second normalization (GL001)
    per_ep: dict[tuple[int, int], dict[int, float]] = {}
    for (g, e, t), v in zip(trans, values, strict=True):
        per_ep.setdefault((g, e), {})[t] = v
    seqs = [_train_sequence(groups[g][e], g, turns) for (g, e), turns in per_ep.items()]
    batch = TrainBatch(
        sequences=seqs, temperature=1.0 if cfg.rollout.greedy else (cfg.rollout.temperature or 1.0)
    )
    return batch, advantage_stats(groups, trans, values)


def _kept_transitions(
    groups: list[list[Episode]], cfg: RunConfig, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """The (group, episode, turn) triples that go to the learner after `rollout.subsample`."""
    keep_groups = list(range(len(groups)))
    sub = cfg.rollout.subsample
    if sub.unit == "groups" and sub.size is not None and sub.size < len(groups):
        keep_groups = sorted(rng.choice(len(groups), size=sub.size, replace=False).tolist())
    trans = [
        (g, e, t) for g in keep_groups for e in range(len(groups[g])) for t in range(groups[g][e].num_turns)
    ]
    if sub.unit == "transitions" and sub.size is not None and sub.size < len(trans):
        # the seed's way: uniform over turns, ignoring group and episode boundaries (ablation only, GL006)
        idx = sorted(rng.choice(len(trans), size=sub.size, replace=False).tolist())
        trans = [trans[i] for i in idx]
    return trans


def _train_sequence(ep: Episode, group: int, turns: dict[int, float]) -> TrainSequence:
    """An episode as one token sequence: action tokens of the kept turns carry their turn's advantage."""
    mask = [1 if (m and ti in turns) else 0 for m, ti in zip(ep.action_mask, ep.turn_index, strict=True)]
    return TrainSequence(
        token_ids=ep.token_ids,
        action_mask=mask,
        advantages=[turns.get(ti, 0.0) if m else 0.0 for m, ti in zip(mask, ep.turn_index, strict=True)],
        behaviour_logprobs=ep.logprobs,
        group_id=group,
        turn_index=ep.turn_index,
    )


def advantage_stats(
    groups: list[list[Episode]], trans: list[tuple[int, int, int]], values: list[float]
) -> dict[str, float]:
    """adv/* over the transitions the learner sees, plus diagnostics of double normalization:
    `diag/flat_*`: transitions of groups with no signal (every episode failed, all returns equal) — 0 in the fixed
    pipeline; `diag/len_adv_corr`: correlation between an episode's turn count and its transitions' advantage."""
    if not values:
        return {M.ADV_MEAN: 0.0, M.ADV_STD: 0.0, M.ADV_ZERO_FRAC: 1.0}
    v = np.asarray(values, dtype=np.float64)
    flat = {
        g
        for g, grp in enumerate(groups)
        if not any(e.success for e in grp) and len({e.ret for e in grp}) == 1
    }
    fv = np.asarray([x for (g, _, _), x in zip(trans, values, strict=True) if g in flat])
    lens = np.asarray([groups[g][e].num_turns for g, e, _ in trans], dtype=np.float64)
    corr = float(np.corrcoef(lens, v)[0, 1]) if lens.std() > 0 and v.std() > 0 else 0.0
    return {
        M.ADV_MEAN: float(v.mean()),
        M.ADV_STD: float(v.std()),
        M.ADV_ZERO_FRAC: float(np.mean(np.abs(v) < 1e-6)),
        M.FLAT_FRAC: float(fv.size / v.size),
        M.FLAT_NONZERO_FRAC: float(np.mean(np.abs(fv) >= 1e-6)) if fv.size else 0.0,
        M.FLAT_ADV_MEAN: float(fv.mean()) if fv.size else 0.0,
        M.LEN_ADV_CORR: corr if math.isfinite(corr) else 0.0,
        M.BATCH_TRANSITIONS: float(v.size),
    }
