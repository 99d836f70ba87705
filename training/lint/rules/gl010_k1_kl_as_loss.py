"""GL010 k1-kl-as-loss: the k1 KL estimator used as a loss term."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not (c.kl_in_loss and c.kl_loss_coef > 0 and c.kl_estimator == "k1"):
        return []
    return [
        Hit(
            f"{c.key('kl_estimator')} is k1 while KL is a loss term ({c.key('kl_loss_coef')} = "
            f"{c.kl_loss_coef:g}): the gradient of k1 = log π − log π_ref has zero expectation on-policy, so "
            "the penalty regularizes almost nothing while the logged KL looks active.",
            ("kl_estimator", "kl_loss_coef"),
            fix=f"set {c.key('kl_estimator')} to k3 (verl `low_var_kl`) or k2 (verl `mse`)"
            if c.framework != "grpolab"
            else None,
        )
    ]


RULE = Rule(
    id="GL010",
    name="k1-kl-as-loss",
    severity="warning",
    title="The k1 KL estimator used as a loss term",
    why=(
        "k1 = log π − log π_ref is an unbiased estimate of the KL value, but its gradient has zero "
        "expectation under on-policy samples: as a loss it regularizes almost nothing while the logged KL "
        "looks active. k3 (`low_var_kl`) and k2 (`mse`) have useful gradients."
    ),
    fix="Use `kl_estimator: k3` (verl `low_var_kl`, OpenRLHF `--kl_estimator k3`), or k2.",
    check=check,
    example="algorithm:\n  kl_coef: 0.05\n  kl_estimator: k1\n",
    fixed_example="algorithm:\n  kl_coef: 0.05\n  kl_estimator: k3\n",
    references=(
        "OpenRLHF/OpenRLHF openrlhf/cli/train_ppo_ray.py",
        "volcengine/verl docs/algo/grpo.md",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/verl.md",
    ),
)
