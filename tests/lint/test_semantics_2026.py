"""Semantics by maths, not labels (issue 13 item 3) and version-aware adapters (item 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from training.lint import lint_text
from training.lint.adapters import skyrl, trl, verl

ROOT = Path(__file__).resolve().parents[2]


def rules(text: str, fmt: str) -> dict[str, str]:
    res = lint_text(text, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.severity for f in res.findings}


def messages(text: str, fmt: str) -> dict[str, tuple[str, str]]:
    return {f.rule: (f.message, f.fix) for f in lint_text(text, fmt).findings}


# ------------------------------------------------------------------------------------------------ ROLL


AGENTIC = "adv_estimator: grpo\ntrain_env_manager:\n  group_size: {g}\nreward_normalization:\n{norm}"


def test_roll_agentic_has_no_grpo_forcing() -> None:
    # ROLL issue #397: method mean + group_size 1 → every advantage 0 (GL002), no GL009 contradiction
    single = AGENTIC.format(g=1, norm="  grouping: traj_group_id\n  method: mean\n")
    assert rules(single, "roll").get("GL002") == "error" and "GL009" not in rules(single, "roll")
    # identity (the default method): no normalization at all, a REINFORCE return without a baseline
    identity = AGENTIC.format(g=8, norm="  grouping: traj_group_id\n  method: identity\n")
    got = rules(identity, "roll")
    assert got.get("GL021") == "warning" and not {"GL001", "GL002", "GL009"} & set(got)
    # explicit norm types win over the deprecated method
    explicit = AGENTIC.format(
        g=8, norm="  grouping: state\n  method: identity\n  norm_mean_type: group\n  norm_std_type: group\n"
    )
    assert "GL021" not in rules(explicit, "roll")
    # a group z-score at the reward stage, then whiten_advantages: normalized twice, as the maths says
    twice = explicit + "whiten_advantages: true\n"
    assert rules(twice, "roll").get("GL001") == "error"


def test_roll_rlvr_still_forces_grpo_norm() -> None:
    text = "adv_estimator: grpo\nnum_return_sequences_in_group: 8\nnorm_std_type: null\ninit_kl_coef: 0\n"
    assert rules(text, "roll").get("GL009") == "error"


# ------------------------------------------------------------------------------------------------ OAT


def test_oat_batches_count_prompts_so_groups_are_never_split() -> None:
    text = "python -m oat.experiment.run_math_rl --critic_type grpo --num_samples 6 --rollout_batch_size 96 --rollout_batch_size_per_device 16 --beta 0\n"
    assert "GL006" not in rules(text, "oat")


def test_oat_preference_algorithms_get_no_group_rules() -> None:
    dpo = "python -m oat.experiment.main --algo DPO --num_samples 1 --temperature 0 --beta 0.1\n"
    got = rules(dpo, "oat")
    assert not {"GL002", "GL003", "GL006", "GL021"} & set(got) and got.get("GL019") == "info"
    # the same flags under the PPO entry point are a GRPO config again
    ppo = dpo.replace("oat.experiment.main --algo DPO", "oat.experiment.run_ppo --critic_type grpo")
    assert rules(ppo, "oat").get("GL002") == "error"


# ------------------------------------------------------------------------------------------------ verl


def test_verl_rloo_with_one_sample_has_no_baseline_like_grpo() -> None:
    base = "algorithm:\n  adv_estimator: {}\nactor_rollout_ref:\n  rollout:\n    n: 1\n"
    for est in ("grpo", "rloo"):
        assert rules(base.format(est), "verl").get("GL021") == "warning", est
    assert "GL021" not in rules(base.format("rloo").replace("n: 1", "n: 4"), "verl")


def test_verl_eval_greedy_follows_the_rollout_mode() -> None:
    val = (
        "actor_rollout_ref:\n  rollout:\n{mode}    n: 8\n    val_kwargs:\n      n: 4\n      do_sample: true\n"
    )
    head = "algorithm:\n  adv_estimator: grpo\n"
    # async (the default): do_sample is never read; temperature 0 (the default) is greedy
    got = messages(head + val.format(mode=""), "verl")
    assert "GL024" in got and "val_kwargs.do_sample" in got["GL019"][0]
    sync = rules(head + val.format(mode="    mode: sync\n"), "verl")
    assert "GL024" not in sync and "GL019" not in sync


def test_fix_texts_use_the_linted_frameworks_keys() -> None:
    got = messages("algorithm:\n  adv_estimator: grpo\n", "verl")  # rollout.n defaults to 1
    assert "actor_rollout_ref.rollout.n" in got["GL002"][1] and "algorithm.group_size" not in got["GL002"][1]
    oat = messages("python -m oat.experiment.run_ppo --critic_type grpo --num_samples 8 --gamma 0.9\n", "oat")
    assert "--gamma" in oat["GL005"][1] and "algorithm.gamma" not in oat["GL005"][1]
    ours = messages("algorithm:\n  group_size: 1\n", "grpolab")
    assert "algorithm.group_size" in ours["GL002"][1]


# ------------------------------------------------------------------------------------------------ AReaL


AREAL = "gconfig:\n  n_samples: 8\nref: {{}}\nactor:\n  reward_norm:\n{rn}    group_size: 8\n  adv_norm:\n    mean_level: batch\n    std_level: batch\n"


@pytest.mark.parametrize(
    "rn",
    [
        "    mean_level: group\n    std_level: null\n",  # Dr. GRPO centring + adv_norm
        "    mean_level: group\n    std_level: null\n    mean_leave1out: true\n",  # RLOO: G/(G-1)·(x - mean)
        "    mean_level: group\n    std_level: batch\n",  # LitePPO (group mean, batch std) + adv_norm
    ],
    ids=["drgrpo", "rloo", "liteppo"],
)
def test_areal_mean_centring_then_whitening_is_reinforce_pp_baseline(rn: str) -> None:
    assert "GL001" not in rules(AREAL.format(rn=rn), "areal")


def test_areal_group_z_score_then_whitening_is_still_double() -> None:
    rn = "    mean_level: group\n    std_level: group\n"
    assert rules(AREAL.format(rn=rn), "areal").get("GL001") == "error"


def test_rloo_centring_is_a_constant_multiple_of_mean_centring() -> None:
    # the identity behind the classification: x − (S − x)/(G − 1) = G/(G − 1)·(x − mean), so a scale-invariant
    # whitening afterwards makes RLOO and mean-centring identical
    rewards = [0.0, 1.0, 1.0, 0.0, 0.0, 3.5, 0.25, 1.0]
    g, s = len(rewards), sum(rewards)
    mean = s / g
    loo = [x - (s - x) / (g - 1) for x in rewards]
    assert all(abs(a - g / (g - 1) * (x - mean)) < 1e-12 for a, x in zip(loo, rewards, strict=True))


def test_gl018_wording_follows_where_the_kl_is_added() -> None:
    orl = messages(
        "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --n_samples_per_prompt 8\n",
        "openrlhf",
    )
    assert "after openrlhf z-scores" in orl["GL018"][0] and "divided by the group std" not in orl["GL018"][0]
    v = messages(
        "algorithm:\n  adv_estimator: grpo\n  use_kl_in_reward: true\nactor_rollout_ref:\n  rollout:\n    n: 8\n",
        "verl",
    )
    assert "divided by the group std" in v["GL018"][0]


# ------------------------------------------------------------------------------------------------ versions


def test_trl_defaults_the_adapter_assumes_are_trls_own() -> None:
    grpo_config = pytest.importorskip("trl").GRPOConfig  # TRL 1.16 is in the bench extra
    cfg = grpo_config(output_dir="/tmp/grpolab-lint-trl-defaults", report_to=[], use_cpu=True, bf16=False)
    c = trl.map_text("{}\n", None).concepts
    assert c.max_completion_tokens == cfg.max_completion_length == 512
    assert cfg.loss_type == "dapo" and cfg.epsilon == 0.2 and cfg.epsilon_high is None
    # cispo with epsilon_high unset: TRL's trainer falls back to epsilon, the cap the adapter models
    cispo = trl.map_text("loss_type: cispo\n", None).concepts
    assert cispo.is_weight_bounds == (0.0, cfg.epsilon)
    assert cfg.vllm_importance_sampling_correction is True and cfg.top_k == 0 and cfg.num_iterations == 1


def test_versions_change_defaults_and_the_file_can_tell_the_version() -> None:
    text = "trainer:\n  algorithm:\n    loss_reduction: token_mean\n"
    assert skyrl.map_text(text, None, version="2026-03-01").concepts.loss_agg == "token_mean_local"
    assert skyrl.map_text(text, None, version="2026-04-15").concepts.loss_agg == "token_mean"
    legacy = skyrl.map_text(
        "trainer:\n  algorithm:\n    loss_reduction: token_mean_legacy\n", None, "2026-01-01"
    )
    assert "inferred from `token_mean_legacy`" in legacy.concepts.framework_version
    rc = "algorithm:\n  adv_estimator: grpo\n  rollout_correction:\n    rollout_is: token\n"
    old = verl.map_text(rc, None, version="2026-01-29").concepts
    new = verl.map_text(rc, None).concepts
    assert "volcengine" in old.framework_version and "verl-project" in new.framework_version
    assert old.version_notes and "false: the correction has none" in old.version_notes[0][1]
    told = verl.map_text(
        rc + "reward:\n  reward_model:\n    enable: true\n", None, version="2026-01-29"
    ).concepts
    assert (
        "inferred from `reward.reward_model`" in told.framework_version and told.reward_kind == "continuous"
    )


def test_cli_framework_version_reaches_the_adapter(tmp_path: Path) -> None:
    f = tmp_path / "sky.yaml"
    f.write_text("trainer:\n  algorithm:\n    loss_reduction: token_mean\n")
    cmd = [sys.executable, "-m", "grpolab.cli", "lint", "--input-format", "skyrl", "--format", "json"]
    old = subprocess.run(
        [*cmd, "--framework-version", "2026-03-01", str(f)], cwd=ROOT, capture_output=True, text=True
    )
    new = subprocess.run([*cmd, str(f)], cwd=ROOT, capture_output=True, text=True)
    assert '"GL023"' in old.stdout and '"GL023"' not in new.stdout
    assert "Linted as 2026-03-01" in old.stdout


def test_trl_cispo_cap_is_epsilon_when_epsilon_high_is_unset_numerically(tmp_path: Path) -> None:
    """GL026's error rests on TRL's own loss code: run `GRPOTrainer._compute_loss` (TRL 1.16, a tiny real model)
    on tokens whose importance ratio is exactly 3 and read back the weight each token got."""
    pytest.importorskip("trl", reason="TRL is in the bench extra; the numeric check needs its trainer")
    import math

    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from training.tiny_models import build_bpe_tokenizer, build_tiny_chat_model

    tok = build_bpe_tokenizer(["the cat sat on the mat 12"] * 8, vocab_size=280)
    model = build_tiny_chat_model(tok)
    prompts = tok(["the cat", "a mat"], return_tensors="pt", padding=True)
    completion = torch.tensor([[5, 6, 7], [8, 9, 10]])
    mask = torch.ones_like(completion)
    advantages = torch.tensor([1.0, -1.0])

    def weight(**kw: float) -> float:
        args = GRPOConfig(
            output_dir=str(tmp_path),
            loss_type="cispo",
            use_cpu=True,
            bf16=False,
            report_to=[],
            per_device_train_batch_size=2,
            num_generations=2,
            max_completion_length=3,
            **kw,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[lambda completions, **_: [0.0] * len(completions)],
            args=args,
            train_dataset=Dataset.from_dict({"prompt": ["the cat", "a mat"]}),
            processing_class=tok,
        )
        trainer.model.eval()  # eval mode: the loss is normalized by the token count alone
        ids = torch.cat([prompts.input_ids, completion], 1)
        attn = torch.cat([prompts.attention_mask, mask], 1)
        with torch.no_grad():
            logps, _, _ = trainer._get_per_token_logps_and_entropies(model, ids, attn, completion.size(1))
        inputs = {
            "prompt_ids": prompts.input_ids,
            "prompt_mask": prompts.attention_mask,
            "completion_ids": completion,
            "completion_mask": mask,
            "advantages": advantages,
            "old_per_token_logps": logps - math.log(3.0),  # ratio π/π_old = 3 on every token
            "num_items_in_batch": mask.sum(),
        }
        loss = trainer._compute_loss(model, inputs).item()
        unweighted = (-(advantages[:, None] * logps).sum() / mask.sum()).item()  # the loss at weight 1
        return loss / unweighted

    # epsilon_high unset: every weight is clamped to epsilon (0.2), the case GL026 reports as an error
    assert weight() == pytest.approx(0.2, rel=1e-4)
    # the paper index's epsilon_high 5.0 leaves the weight of 3 alone
    assert weight(epsilon_high=5.0) == pytest.approx(3.0, rel=1e-4)
    assert trl.map_text("loss_type: cispo\n", None).concepts.is_weight_bounds == (0.0, 0.2)


def test_verl_distillation_without_task_rewards_has_no_group_rules() -> None:
    # verl examples/on_policy_distillation_trainer: rollout.n=1 with adv_estimator=grpo, but the policy loss is
    # zeroed when use_task_rewards is false, so no group statistic is ever used
    text = (
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=1 "
        "distillation.enabled=True distillation.distillation_loss.use_task_rewards=False\n"
    )
    assert not {"GL002", "GL021"} & set(rules(text, "verl"))
    assert (
        rules(text.replace("use_task_rewards=False", "use_task_rewards=True"), "verl").get("GL002") == "error"
    )


def test_roll_kl_reward_is_added_after_the_normalization() -> None:
    text = "adv_estimator: grpo\nnum_return_sequences_in_group: 8\nadd_token_level_kl: true\ninit_kl_coef: 0.05\n"
    assert "after roll z-scores" in messages(text, "roll")["GL018"][0]


OUR_KEYS = (
    "algorithm.group_size",
    "algorithm.std_eps",
    "algorithm.reference",
    "algorithm.norm_return",
    "rollout.subsample",
)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (ROOT / "tests" / "lint" / "foreign").rglob("*") if p.is_file()),
    ids=lambda p: p.name,
)
def test_no_fix_on_a_foreign_file_names_grpolab_keys(path: Path) -> None:
    from training.lint import lint_file

    for f in lint_file(path, path.parent.name).findings:
        assert not any(k in f.fix for k in OUR_KEYS), (f.rule, f.fix)
