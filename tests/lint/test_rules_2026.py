"""The 2026 rules (GL026–GL038) and their extensions, on configs written from each framework's documented
recipes: each fires where the maths says so, at the key the user wrote, and stays silent on the recipe's fix."""

from __future__ import annotations

import pytest

from training.lint import lint_text
from training.lint.explain import example_format, explain
from training.lint.rules import RULES

NEW_RULES = {
    "GL026": "cispo-bounds",
    "GL027": "sequence-ratio-clip-scale",
    "GL028": "sequence-ratio-token-sum",
    "GL029": "truncated-sampling-is-bias",
    "GL030": "clip-inert-on-policy",
    "GL031": "off-policy-without-correction",
    "GL032": "reward-clip-truncates",
    "GL033": "rejection-in-group-baseline",
    "GL034": "completion-budget",
    "GL035": "updates-per-rollout",
    "GL036": "pg-variant-default",
    "GL037": "version-sensitive-key",
    "GL038": "truncation-not-masked",
}


def findings(text: str, fmt: str) -> dict[str, tuple[str, int | None, str, str]]:
    res = lint_text(text, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: (f.severity, f.line, f.message, f.fix) for f in res.findings}


@pytest.mark.parametrize("rid", sorted(NEW_RULES))
def test_each_new_rule_has_its_name_page_example_fix_and_references(rid: str) -> None:
    rule = RULES[rid]
    assert rule.name == NEW_RULES[rid] and rule.fix and rule.references and rule.example
    page = explain(rid)
    assert page.startswith(f"# {rid} {rule.name} ({rule.severity})") and "## Example that fires" in page
    assert rid in findings(rule.example, example_format(rule.example))


# ------------------------------------------------------------------------------------------------ GL026 CISPO


def test_trl_cispo_with_epsilon_high_unset_is_an_error_at_its_line() -> None:
    got = findings("num_generations: 8\nloss_type: cispo\n", "trl")
    sev, line, msg, fix = got["GL026"]
    assert (sev, line) == ("error", 2) and "0.2" in msg and "epsilon_high: 5.0" in fix
    assert "GL026" not in findings("num_generations: 8\nloss_type: cispo\nepsilon_high: 5.0\n", "trl")
    assert findings("loss_type: cispo\nepsilon_high: 0.5\n", "trl")["GL026"][:2] == ("error", 2)


def test_verl_cispo_bounds_are_offsets_and_not_a_clip_range() -> None:
    head = "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 8\n  actor:\n"
    ppo_sized = findings(head + "    policy_loss:\n      loss_mode: cispo\n", "verl")
    assert ppo_sized["GL026"][0] == "warning" and "[0.8, 1.2]" in ppo_sized["GL026"][2]
    # ScaleRL's [0, 5]: clip_ratio_low 10 is intentional here, not a suspicious PPO clip (no GL016)
    wide = findings(
        head + "    clip_ratio_low: 10\n    clip_ratio_high: 4.0\n    policy_loss:\n      loss_mode: cispo\n",
        "verl",
    )
    assert not {"GL026", "GL016"} & set(wide)


def test_skyrl_cispo_defaults_are_the_scalerl_bounds_and_narrow_offsets_warn() -> None:
    base = "trainer:\n  algorithm:\n    policy_loss_type: cispo\n"
    assert "GL026" not in findings(base, "skyrl")
    narrow = base + "    cispo:\n      cispo_eps_clip_low: 0.2\n      cispo_eps_clip_high: 0.2\n"
    got = findings(narrow, "skyrl")
    assert got["GL026"][0] == "warning" and "GL037" in got  # the keys changed meaning in PR #1928


# ------------------------------------------------------------------------------------------------ GSPO


def test_verl_gspo_recipe_is_clean_and_the_default_clip_warns() -> None:
    # verl examples/gspo_trainer/README.md: clip 3e-4 / 4e-4 with seq-mean-token-mean
    recipe = (
        "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 8\n  actor:\n"
        "    clip_ratio_low: 3.0e-4\n    clip_ratio_high: 4.0e-4\n    loss_agg_mode: seq-mean-token-mean\n"
        "    policy_loss:\n      loss_mode: gspo\n"
    )
    got = findings(recipe, "verl")
    assert not {"GL027", "GL028"} & set(got) and not any(s == "error" for s, *_ in got.values())
    default_clip = recipe.replace("    clip_ratio_low: 3.0e-4\n    clip_ratio_high: 4.0e-4\n", "")
    assert findings(default_clip, "verl")["GL027"][0] == "warning"
    token_mean = recipe.replace("seq-mean-token-mean", "token-mean")
    assert findings(token_mean, "verl")["GL028"][1] == 9


def test_trl_luspo_is_length_weighted_by_design() -> None:
    got = findings("importance_sampling_level: sequence\nloss_type: luspo\nepsilon: 3.0e-4\n", "trl")
    assert "GL028" not in got and "GL027" not in got


# ------------------------------------------------------------------------------------------------ sampling / IS


def test_truncated_sampling_bias_needs_both_a_filter_and_a_sampler_based_correction() -> None:
    assert findings("use_vllm: true\ntop_p: 0.8\n", "trl")["GL029"][1] == 2
    assert "GL029" not in findings("use_vllm: false\ntop_p: 0.8\n", "trl")
    assert "GL029" not in findings(
        "use_vllm: true\nvllm_importance_sampling_correction: false\ntop_k: 50\n", "trl"
    )
    kwargs = findings("use_vllm: true\ngeneration_kwargs:\n  min_p: 0.05\n", "trl")
    assert "generation_kwargs.min_p = 0.05" in kwargs["GL029"][2]


def test_trl_generation_kwargs_temperature_is_a_logprob_temperature_mismatch() -> None:
    got = findings("temperature: 1.0\ngeneration_kwargs:\n  temperature: 0.7\n", "trl")
    assert got["GL017"][0] == "warning" and "0.7" in got["GL017"][2]
    assert "GL017" not in findings("temperature: 0.7\ngeneration_kwargs:\n  temperature: 0.7\n", "trl")


# ------------------------------------------------------------------------------------------------ on/off-policy


def test_clip_higher_is_inert_with_one_step_per_generation_batch() -> None:
    got = findings("epsilon: 0.2\nepsilon_high: 0.28\n", "trl")
    assert got["GL030"][0] == "info" and "`epsilon_high`" in got["GL030"][2]
    assert "GL030" not in findings("epsilon_high: 0.28\nnum_iterations: 2\n", "trl")
    assert "GL030" not in findings(
        "epsilon_high: 0.28\ngradient_accumulation_steps: 2\nsteps_per_generation: 4\n", "trl"
    )


def test_async_without_correction_warns_in_each_framework_spelling() -> None:
    sky = "trainer:\n  fully_async:\n    enabled: true\n"
    assert findings(sky, "skyrl")["GL031"][0] == "warning"
    fixed = sky + "  algorithm:\n    off_policy_correction:\n      tis_ratio_type: token\n"
    assert "GL031" not in findings(fixed, "skyrl")
    orl = "python3 -m openrlhf.cli.train_ppo_ray --algo.advantage.estimator group_norm --rollout.n_samples_per_prompt 8 --train.async_enable"
    assert findings(orl + "\n", "openrlhf")["GL031"][0] == "warning"
    assert "GL031" not in findings(orl + " --algo.advantage.is_correction_enable\n", "openrlhf")
    areal = "gconfig:\n  n_samples: 8\nrollout:\n  max_head_offpolicyness: 2\nref: {}\n"
    assert "GL031" in findings(areal, "areal")
    assert "GL031" not in findings(areal + "actor:\n  use_decoupled_loss: true\n", "areal")


def test_updates_per_rollout_counts_in_each_framework_units() -> None:
    # verl: both batch sizes count prompts: 1024 / 64 × 1 = 16
    verl = "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 8\n  actor:\n    ppo_mini_batch_size: 64\n"
    assert findings(verl, "verl")["GL035"][2].startswith("16 optimizer steps")
    # OpenRLHF: --train.batch_size counts samples: 32 prompts × 8 / 256 = 1
    orl = "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --n_samples_per_prompt 8 --rollout_batch_size 32 --train_batch_size 256\n"
    assert "GL035" not in findings(orl, "openrlhf")


def test_rollout_rs_with_a_group_estimator_leaks_into_the_baseline() -> None:
    text = "algorithm:\n  adv_estimator: grpo\n  rollout_correction:\n    rollout_rs: token\nactor_rollout_ref:\n  rollout:\n    n: 8\n"
    assert findings(text, "verl")["GL033"][:2] == ("warning", 4)
    assert "GL033" not in findings(
        text.replace("grpo", "reinforce_plus_plus").replace("n: 8", "n: 1"), "verl"
    )


# ------------------------------------------------------------------------------------------------ rewards, budgets


def test_reward_clip_after_the_z_score_only_binds_for_large_groups() -> None:
    orl = "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --reward_clip_range -2 2 --n_samples_per_prompt {}\n"
    assert "GL032" not in findings(orl.format(4), "openrlhf")  # max z at G=4 is 1.5
    got = findings(orl.format(16), "openrlhf")  # max z at G=16 is 3.75
    assert got["GL032"][0] == "warning" and "3.75" in got["GL032"][2]


def test_completion_budget_reports_the_version_whose_default_applies() -> None:
    assert "GL034" not in findings("num_generations: 8\n", "trl")  # 1.16: 512
    from training.lint.adapters import trl

    old = trl.map_text("num_generations: 8\n", None, version="1.8.0").concepts
    assert old.max_completion_tokens == 256 and "1.8.0" in old.budget_default_changed
    assert findings("max_completion_length: 200\n", "trl")["GL034"][:2] == ("info", 1)


def test_areal_truncation_switch_only_zeroes_the_reward() -> None:
    text = "gconfig:\n  n_samples: 8\nactor:\n  mask_no_eos_with_zero: true\nref: {}\n"
    assert findings(text, "areal")["GL038"][:2] == ("info", 4)


def test_roll_pg_worker_without_variant_and_variant_without_worker() -> None:
    worker = "actor_train:\n  worker_cls: roll.pipeline.rlvr.actor_pg_worker.ActorPGWorker\n"
    base = "adv_estimator: grpo\nnum_return_sequences_in_group: 8\ninit_kl_coef: 0\n"
    assert findings(base + worker, "roll")["GL036"][:2] == ("warning", 5)
    assert "GL036" not in findings(base + worker + "  pg_variant: ppo\n", "roll")
    dead = findings(base + "actor_train:\n  pg_variant: cispo\n", "roll")
    assert dead["GL019"][1] == 5 and "ActorPGWorker" in dead["GL019"][2]


# ------------------------------------------------------------------------------------------------ extensions


def test_normalize_then_sum_ignores_scale_rewards_none() -> None:
    got = findings("scale_rewards: none\nmulti_objective_aggregation: normalize_then_sum\n", "trl")
    assert got["GL009"][0] == "error" and "GL001" not in got  # GDPO's own batch pass is the design
    drgrpo = findings("loss_type: dr_grpo\nmulti_objective_aggregation: normalize_then_sum\n", "trl")
    assert drgrpo["GL004"][0] == "warning"


def test_skyrl_token_mean_legacy_is_a_local_token_mean() -> None:
    got = findings("trainer:\n  algorithm:\n    loss_reduction: token_mean_legacy\n", "skyrl")
    assert got["GL023"][:2] == ("info", 3)


def test_trl_dead_keys_of_2026() -> None:
    got = findings("beta: 0.0\nuse_bias_correction_kl: true\nuse_adaptive_entropy: true\n", "trl")
    assert got["GL019"][0] == "info"
    res = lint_text("loss_type: sapo\nepsilon: 0.3\n", "trl")
    assert any(f.rule == "GL019" and "sigmoid gate" in f.message for f in res.findings)


def test_roll_and_areal_sequence_ratios() -> None:
    roll = (
        "adv_estimator: grpo\nnum_return_sequences_in_group: 8\ninit_kl_coef: 0\nimportance_sampling: seq\n"
    )
    got = findings(roll + "loss_agg_mode: token-mean\n", "roll")
    assert got["GL027"][:2] == ("warning", 4) and got["GL028"][:2] == ("warning", 5)
    assert "GL028" not in findings(roll + "loss_agg_mode: seq-mean-token-mean\n", "roll")
    areal = "gconfig:\n  n_samples: 8\nref: {}\nactor:\n  importance_sampling_level: sequence\n  eps_clip: 4.0e-4\n"
    got = findings(areal, "areal")
    assert "GL027" not in got and got["GL028"][0] == "warning"  # AReaL's loss is always a token mean


def test_gem_norm_return_default_is_version_sensitive_after_the_snapshot() -> None:
    from training.lint.adapters import gem

    text = "python train_oat_grpo.py --critic_type2 grpo --num_samples 8\n"
    assert not gem.map_text(text, None).concepts.version_notes
    later = gem.map_text(text, None, version="2026-09-01").concepts
    assert later.version_notes and "PR #113" in later.version_notes[0][1]
    assert not gem.map_text(
        text.replace("\n", " --no-norm_return\n"), None, "2026-09-01"
    ).concepts.version_notes


def test_completion_budget_in_verl_and_openrlhf_spellings() -> None:
    verl = "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=8 {}\n"
    assert (
        "data.max_response_length"
        in findings(verl.format("data.max_response_length=256"), "verl")["GL034"][2]
    )
    assert "GL034" not in findings(verl.format(""), "verl")  # 512 by default
    orl = (
        "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --n_samples_per_prompt 8 {}\n"
    )
    assert "GL034" in findings(orl.format("--rollout.max_new_tokens 128"), "openrlhf")
    assert "GL034" not in findings(orl.format(""), "openrlhf")  # unset: max_len − prompt length per sample


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("loss_type: cispo\nepsilon_high: .nan\n", "epsilon_high"),
        ("use_vllm: true\ngeneration_kwargs:\n  top_p: abc\n", "generation_kwargs.top_p"),
        ("use_vllm: true\ntop_p: .inf\n", "top_p"),
        ("importance_sampling_level: 5\n", "importance_sampling_level"),
    ],
)
def test_hostile_trl_values_are_gl000_naming_the_field(text: str, field: str) -> None:
    res = lint_text(text, "trl")
    assert res.invalid and res.findings[0].message.startswith(f"{field}: expected")
