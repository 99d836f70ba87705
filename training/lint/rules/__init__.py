"""The rule registry: every rule, by id. Rules are written once, against the concept model.

Each rule is one file, `glNNN_<name>.py`, holding its metadata (title, why, fix, example, references) and its
check, the way ruff keeps a rule in one place. A new rule is a new file listed here.
"""

from __future__ import annotations

import importlib

from training.lint.findings import Rule

_RULE_MODULES = (
    "gl000_config_invalid",
    "gl001_double_normalization",
    "gl002_group_too_small",
    "gl003_greedy_group",
    "gl004_half_drgrpo",
    "gl005_gamma_ignored",
    "gl006_group_split",
    "gl007_kl_without_reference",
    "gl008_std_eps_nonpositive",
    "gl009_no_std_flag_ignored",
    "gl010_k1_kl_as_loss",
    "gl011_token_reward_whitening",
    "gl012_norm_group_size_mismatch",
    "gl013_std_eps_amplification",
    "gl014_small_group_binary",
    "gl015_advantage_clip_truncates",
    "gl016_clip_range_suspicious",
    "gl017_logprob_temperature_mismatch",
    "gl018_kl_in_reward_under_group_std",
    "gl019_ineffective_setting",
    "gl020_redundant_whitening",
    "gl021_no_baseline",
    "gl022_drgrpo_aggregation_unavailable",
    "gl023_local_token_mean",
    "gl024_greedy_eval_group",
    "gl025_token_level_discount",
    "gl026_cispo_bounds",
    "gl027_sequence_ratio_clip_scale",
    "gl028_sequence_ratio_token_sum",
    "gl029_truncated_sampling_is_bias",
    "gl030_clip_inert_on_policy",
    "gl031_off_policy_without_correction",
    "gl032_reward_clip_truncates",
    "gl033_rejection_in_group_baseline",
    "gl034_completion_budget",
    "gl035_updates_per_rollout",
    "gl036_pg_variant_default",
    "gl037_version_sensitive_key",
    "gl038_truncation_not_masked",
)

_MODULES = [importlib.import_module(f"{__name__}.{name}") for name in _RULE_MODULES]

RULES: dict[str, Rule] = {m.RULE.id: m.RULE for m in sorted(_MODULES, key=lambda m: m.RULE.id)}
