"""GL034 completion-budget: a completion budget so small that reasoning answers are truncated."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

_SMALL = 256  # TRL's old default; measured to truncate 97-99% of DeepMath completions


def check(c: Concepts) -> list[Hit]:
    n = c.max_completion_tokens
    if n is None or n > _SMALL or not c.policy_gradient:
        return []
    msg = (
        f"{c.key('max_completion_tokens')} = {n} tokens: reasoning answers longer than that are cut off, get "
        "reward 0, and when a whole group is cut off every reward ties and the group teaches nothing (TRL's old "
        "256 default truncated 97-99% of DeepMath completions)."
    )
    if c.budget_default_changed:
        msg += f" {c.budget_default_changed}"
    if c.truncation_masked:
        msg += " Truncated completions are also masked out of the loss here, so most of the batch may be dropped."
    return [Hit(msg, ("max_completion_tokens",))]


RULE = Rule(
    id="GL034",
    name="completion-budget",
    severity="info",
    title="A completion budget of 256 tokens or less",
    why=(
        "With a verifiable reward, a truncated answer scores 0. When the budget is below the typical answer "
        "length almost every completion is truncated, every reward is 0 and every group ties: the run learns "
        "nothing while its loss looks normal. TRL's default was 256 until PR #6264 (2026-07) raised it to 512, "
        "so configs written for older TRL may rely on the small budget without saying so."
    ),
    fix=(
        "Set the budget to the answer length you expect (TRL `max_completion_length: 1024` or more; verl "
        "`data.max_response_length`; SkyRL `generator.sampling_params.max_generate_length`)."
    ),
    check=check,
    example="# lint with: --input-format trl\nmax_completion_length: 256\n",
    fixed_example="# lint with: --input-format trl\nmax_completion_length: 2048\n",
    references=("huggingface/trl#5697", "huggingface/trl#6263", "huggingface/trl#6264"),
)
