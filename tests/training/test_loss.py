"""training/loss.py: the GRPO loss as pure functions, against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from training.config import AlgorithmConfig
from training.loss import (
    BatchTotals,
    aggregate,
    clipped_pg,
    entropy_per_token,
    kl_per_token,
    policy_loss,
    step_metrics,
    truncated_is_weight,
)

LN2 = math.log(2.0)


def t(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def test_clipped_pg_takes_the_pessimistic_term_and_flags_clipped_ratios():
    # ratios 1.5, 1.5, 0.5, 1.1 with clip ±0.2 (clip range [0.8, 1.2])
    logp = t([math.log(1.5), math.log(1.5), math.log(0.5), math.log(1.1)])
    adv = t([1.0, -1.0, 1.0, 2.0])
    pg, was_clipped = clipped_pg(logp, torch.zeros_like(logp), adv, 0.2, 0.2)
    # +A, ρ=1.5: max(−1.5, −1.2) = −1.2 (clipped: no incentive past 1+ε)
    # −A, ρ=1.5: max(1.5, 1.2) = 1.5 (the unclipped, pessimistic term)
    # +A, ρ=0.5: max(−0.5, −0.8) = −0.5
    # A=2, ρ=1.1 inside the range: −2.2
    torch.testing.assert_close(pg, t([-1.2, 1.5, -0.5, -2.2]))
    assert was_clipped.tolist() == [[1.0, 1.0, 1.0, 0.0]]


def test_asymmetric_clip_bounds():
    logp = t([math.log(1.5), math.log(0.5)])
    pg, _ = clipped_pg(logp, torch.zeros_like(logp), t([1.0, -1.0]), 0.1, 0.3)
    # clip range [0.9, 1.3]: +A at 1.5 → −1.3; −A at 0.5 → max(0.5, 0.9) = 0.9
    torch.testing.assert_close(pg, t([-1.3, 0.9]))


def test_truncated_importance_weight_is_capped():
    w = truncated_is_weight(t([0.0, 0.0]), t([math.log(0.25), math.log(2.0)]), cap=2.0)
    torch.testing.assert_close(w, t([2.0, 0.5]))  # 4 capped at 2; 0.5 kept


X = t([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
MASK = t([1.0, 1.0, 0.0], [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("mode", "totals", "expected"),
    [
        ("token_mean", BatchTotals(3, 2, 1), (1 + 2 + 4) / 3),
        ("seq_mean_token_mean", BatchTotals(3, 2, 1), ((1 + 2) / 2 + 4 / 1) / 2),
        ("seq_mean_token_sum", BatchTotals(3, 2, 4), ((1 + 2) / 4 + 4 / 4) / 2),
        # a micro-batch's share of a larger batch: divided by the batch's totals, not its own
        ("token_mean", BatchTotals(6, 4, 1), (1 + 2 + 4) / 6),
        ("seq_mean_token_mean", BatchTotals(6, 4, 1), ((1 + 2) / 2 + 4 / 1) / 4),
    ],
)
def test_aggregations(mode, totals, expected):
    assert float(aggregate(X, MASK, mode, totals)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("mode", ["token_mean", "seq_mean_token_mean", "seq_mean_token_sum"])
def test_micro_batch_shares_sum_to_the_full_batch(mode):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g, dtype=torch.float64)
    mask = (torch.rand(5, 7, generator=g) > 0.4).double()
    mask[:, 0] = 1.0
    totals = BatchTotals(float(mask.sum()), 5.0, 9.0)
    whole = aggregate(x, mask, mode, totals)
    parts = aggregate(x[:2], mask[:2], mode, totals) + aggregate(x[2:], mask[2:], mode, totals)
    torch.testing.assert_close(parts, whole)


def test_unknown_aggregation_or_estimator_is_refused():
    with pytest.raises(ValueError, match="loss_agg"):
        aggregate(X, MASK, "sum", BatchTotals(1, 1, 1))
    with pytest.raises(ValueError, match="kl_estimator"):
        kl_per_token(t([0.0]), t([0.0]), "k4")


def test_kl_estimators_at_ratio_two():
    # π/π_ref = 2 on the sampled token: log r = ln 2
    logp, ref = t([0.0]), t([-LN2])
    assert float(kl_per_token(logp, ref, "k1")) == pytest.approx(LN2)
    assert float(kl_per_token(logp, ref, "k2")) == pytest.approx(0.5 * LN2**2)
    assert float(kl_per_token(logp, ref, "k3")) == pytest.approx(0.5 - 1.0 + LN2)  # 1/r − 1 + log r
    for k in ("k1", "k2", "k3"):  # the same policy: no divergence
        assert float(kl_per_token(ref, ref, k)) == 0.0


def test_entropy_of_uniform_and_peaked_distributions():
    logits = torch.tensor([[[0.0, 0.0], [0.0, math.log(3.0)]]], dtype=torch.float64)
    ent = entropy_per_token(logits, torch.logsumexp(logits, -1))
    # uniform over 2: ln 2; p = (1/4, 3/4): −(¼ ln ¼ + ¾ ln ¾)
    expected = [LN2, -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]
    torch.testing.assert_close(ent, torch.tensor([expected], dtype=torch.float64))


def test_policy_loss_combines_the_terms_and_its_gradient_is_minus_advantage():
    """Two action tokens (A = 2 and −1), one prompt position; on-policy (ratio 1), uniform logits over 2 tokens,
    reference with log-prob ln ½ below the policy on both tokens."""
    algo = AlgorithmConfig(entropy_coef=0.1, kl_coef=0.5, kl_estimator="k1")
    logp = torch.tensor([[0.0, -0.5, -0.5]], dtype=torch.float64, requires_grad=True)
    logits = torch.zeros(1, 3, 2, dtype=torch.float64)
    mask = t([0.0, 1.0, 1.0])
    adv = t([0.0, 2.0, -1.0])
    loss, parts = policy_loss(
        logp,
        logits,
        torch.logsumexp(logits, -1),
        logp_old=None,
        ref_logp=logp.detach() - LN2,
        mask=mask,
        adv=adv,
        behaviour_logp=torch.zeros_like(mask),
        algo=algo,
        totals=BatchTotals(2, 1, 1),
    )
    pg = (-2.0 + 1.0) / 2  # −A·ρ per token, ρ = 1, token mean
    assert parts["pg"] == pytest.approx(pg)
    assert parts["ent"] == pytest.approx(LN2)
    assert parts["kl"] == pytest.approx(LN2)
    assert parts["clip"] == 0.0
    assert float(loss.detach()) == pytest.approx(pg - 0.1 * LN2 + 0.5 * LN2)
    loss.backward()
    # d/dlogp of (−A·ρ)/N is −A/N; k1's gradient is 1/N per token (times kl_coef); masked positions get none
    torch.testing.assert_close(
        logp.grad, torch.tensor([[0.0, (-2.0 + 0.5) / 2, (1.0 + 0.5) / 2]], dtype=torch.float64)
    )


def test_policy_loss_with_tis_and_an_off_policy_old_logp():
    algo = AlgorithmConfig(entropy_coef=0.0, tis_c=2.0)
    logp = t([math.log(1.5)])
    loss, parts = policy_loss(
        logp,
        torch.zeros(1, 1, 2, dtype=torch.float64),
        torch.full((1, 1), LN2, dtype=torch.float64),
        logp_old=t([0.0]),
        ref_logp=None,
        mask=t([1.0]),
        adv=t([1.0]),
        behaviour_logp=t([math.log(0.25)]),
        algo=algo,
        totals=BatchTotals(1, 1, 1),
    )
    # ρ = 1.5 clipped to 1.2 → −1.2, times min(1/0.25, 2) = 2 → −2.4; no KL term without a reference
    assert float(loss) == pytest.approx(-2.4)
    assert parts == pytest.approx({"pg": -2.4, "kl": 0.0, "ent": LN2, "clip": 1.0})


def test_step_metrics_average_over_epochs():
    m = step_metrics({"pg": 1.0, "kl": 0.5, "ent": 3.0, "clip": 0.25}, epochs=2, grad_norm=0.7, lr=1e-3)
    assert m == {
        "loss/pg": 0.5,
        "loss/kl": 0.25,
        "entropy": 1.5,
        "clip_frac": 0.125,
        "grad_norm": 0.7,
        "lr": 1e-3,
    }
