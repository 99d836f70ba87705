"""The rule registry: every rule, by id. Rules are written once, against the concept model.

GL001–GL025 live in `core.py` and `extended.py`; from GL026 on each rule is one file
(`glNNN_<name>.py`) holding its metadata and its check, the way ruff keeps a rule in one place.
"""

from __future__ import annotations

from training.lint.findings import Rule
from training.lint.rules import (
    core,
    extended,
    gl026_cispo_bounds,
    gl027_sequence_ratio_clip_scale,
    gl028_sequence_ratio_token_sum,
    gl029_truncated_sampling_is_bias,
    gl030_clip_inert_on_policy,
    gl031_off_policy_without_correction,
    gl032_reward_clip_truncates,
    gl033_rejection_in_group_baseline,
    gl034_completion_budget,
    gl035_updates_per_rollout,
    gl036_pg_variant_default,
    gl037_version_sensitive_key,
    gl038_truncation_not_masked,
)

_ONE_FILE_RULES = (
    gl026_cispo_bounds,
    gl027_sequence_ratio_clip_scale,
    gl028_sequence_ratio_token_sum,
    gl029_truncated_sampling_is_bias,
    gl030_clip_inert_on_policy,
    gl031_off_policy_without_correction,
    gl032_reward_clip_truncates,
    gl033_rejection_in_group_baseline,
    gl034_completion_budget,
    gl035_updates_per_rollout,
    gl036_pg_variant_default,
    gl037_version_sensitive_key,
    gl038_truncation_not_masked,
)
_ALL: list[Rule] = [*core.RULES, *extended.RULES, *(m.RULE for m in _ONE_FILE_RULES)]

RULES: dict[str, Rule] = {r.id: r for r in sorted(_ALL, key=lambda r: r.id)}
