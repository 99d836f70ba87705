"""GL029 truncated-sampling-is-bias: top-p/top-k/min-p sampling with an IS correction built on sampler log-probs."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not (c.sampling_filters and c.sampler_is_correction):
        return []
    filters = ", ".join(f"{key} = {value}" for key, value in c.sampling_filters)
    return [
        Hit(
            f"sampling filters ({filters}) renormalize the sampler's log-probs over the kept tokens, and "
            f"{c.key('sampler_is_correction')} builds its importance weight from those log-probs: the weight is "
            "biased by the kept probability mass (a mean ratio of ~0.90 was measured at top_p = 0.8), so the "
            "correction pushes every token in the same direction.",
            ("sampling_filters", "sampler_is_correction"),
        )
    ]


RULE = Rule(
    id="GL029",
    name="truncated-sampling-is-bias",
    severity="warning",
    title="Truncated sampling (top-p/top-k/min-p) with an importance correction on sampler log-probs",
    why=(
        "Inference engines return log-probs of the distribution they sampled from. With top-p, top-k, min-p or "
        "a repetition penalty that distribution is the model's renormalized over the kept tokens, so "
        "log π_sampler = log π_model − log(kept mass). An importance weight π_trainer / π_sampler is then "
        "systematically below 1 (about 0.90 on average at top_p = 0.8): the correction meant to remove the "
        "sampler/trainer mismatch adds a bias of its own."
    ),
    fix=(
        "Sample from the full distribution for training (top_p 1, top_k off, min_p 0, repetition_penalty 1), or "
        "turn the sampler-based correction off (TRL `vllm_importance_sampling_correction: false`; verl "
        "`algorithm.rollout_correction.rollout_is: null`; OpenRLHF without `--algo.advantage.is_correction_enable`)."
    ),
    check=check,
    example="# lint with: --input-format trl\nuse_vllm: true\ntop_p: 0.8\n",
    fixed_example="# lint with: --input-format trl\nuse_vllm: true\ntop_p: 1.0\n",
    references=("huggingface/trl#6789", "huggingface/trl#6880", "huggingface/trl#7269"),
)
