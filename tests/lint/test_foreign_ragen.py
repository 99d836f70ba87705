"""RAGEN (multi-turn agent RL on its own copy of verl), read by the verl adapter: a repository laid out like
RAGEN-AI/RAGEN (config/base.yaml with `defaults: [ppo_trainer, envs]`, one config per environment with
`defaults: [base]`, a `train.py` whose `@hydra.main` names the config folder, a sweep script of `python train.py
--config-name ENV key=value ...` lines) written to a temporary folder. What it must show: Hydra defaults composed
from disk, each command of the sweep linted alone, the group at `es_manager.train.group_size`, and the baseline
that only `agent_proxy.reward_normalization` gives (RAGEN hands verl's estimator groups of one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file
from training.lint.adapters import get_adapter
from training.lint.adapters._source import reading

BASE = """\
defaults:
  - ppo_trainer
  - envs

ppo_mini_batch_size: 32
actor_rollout_ref:
  actor:
    ppo_mini_batch_size: ${ppo_mini_batch_size}
    use_kl_loss: False
    kl_loss_coef: 0.000
    kl_loss_type: kl
    clip_ratio_low: 0.2
    clip_ratio_high: 0.28
  rollout:
    response_length: 400
    rollout_filter_ratio: 0.25
    rollout_filter_type: std
    val_kwargs:
      do_sample: True
      temperature: 0.5
data:
  train_batch_size: null
  max_response_length: null
algorithm:
  adv_estimator: gae
  kl_ctrl:
    kl_coef: 0.000
agent_proxy:
  max_turn: 5
  reward_normalization:
    grouping: "state"
    method: "identity"
es_manager:
  train:
    env_groups: 8
    group_size: 16
  val:
    env_groups: 256
    group_size: 1
"""
ENVS = "custom_envs:\n  SimpleSokoban:\n    env_type: sokoban\n"
SOKOBAN = "defaults:\n  - base\n\ntrainer:\n  experiment_name: sokoban\n"
TRAIN_PY = """\
import hydra

@hydra.main(version_base=None, config_path="config", config_name="base")
def main(config):
    pass
"""
SWEEP = """\
set -e
USE_GRPO="algorithm.adv_estimator=grpo agent_proxy.reward_normalization.method=mean_std"
python train.py --config-name _2_sokoban trainer.experiment_name=sokoban-ppo &
python train.py --config-name _2_sokoban trainer.experiment_name=sokoban-grpo $USE_GRPO &
python train.py --config-name _2_sokoban trainer.experiment_name=bare-grpo algorithm.adv_estimator=grpo &
python train.py trainer.experiment_name=batch-grpo algorithm.adv_estimator=grpo \\
    agent_proxy.reward_normalization.grouping=batch agent_proxy.reward_normalization.method=mean_std &
wait
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "base.yaml").write_text(BASE)
    (tmp_path / "config" / "envs.yaml").write_text(ENVS)
    (tmp_path / "config" / "_2_sokoban.yaml").write_text(SOKOBAN)
    (tmp_path / "train.py").write_text(TRAIN_PY)
    (tmp_path / "train_all.sh").write_text(SWEEP)
    return tmp_path


def concepts(path: Path, command: int = 0):  # type: ignore[no-untyped-def]
    with reading(str(path), command=command):
        return get_adapter("verl").map_text(path.read_text(), str(path)).concepts


def test_an_environment_config_is_composed_from_its_hydra_defaults_and_detected(repo: Path) -> None:
    path = repo / "config" / "_2_sokoban.yaml"  # only `defaults: [base]` and a name of its own
    res = lint_file(path, "auto")
    assert res.format == "verl"
    assert any("read the Hydra defaults of _2_sokoban.yaml: " in n and "base.yaml" in n for n in res.notes)
    assert any("RAGEN's fork of verl" in n for n in res.notes), res.notes
    c = concepts(path)
    assert (c.group_size, c.rollout_prompts, c.rollout_samples) == (16, 8, 128)
    assert c.eval_group_size == 1 and c.multi_turn and c.max_completion_tokens == 400
    # 0.25 × 8 groups kept × 16 episodes / 32 per mini-batch: one step, where the asymmetric clip never binds
    assert c.updates_per_rollout == 1.0 and "rollout_filter_ratio 0.25" in c.updates_formula
    [step] = res.findings
    assert (step.rule, step.severity) == ("GL030", "info")
    assert (
        step.file.endswith("config/base.yaml") and step.line == 8
    )  # the mini-batch key, in the default that sets it


def test_own_keys_win_over_defaults_unless_self_comes_first(repo: Path) -> None:
    over = repo / "config" / "big.yaml"
    over.write_text("defaults:\n  - base\n\nes_manager:\n  train:\n    group_size: 4\n")
    assert concepts(over).group_size == 4
    first = repo / "config" / "self_first.yaml"
    first.write_text("defaults:\n  - _self_\n  - base\n\nes_manager:\n  train:\n    group_size: 4\n")
    assert concepts(first).group_size == 16  # Hydra: what comes after _self_ overrides it


def test_a_default_that_is_not_there_leaves_its_keys_unknown(repo: Path) -> None:
    lost = repo / "config" / "lost.yaml"
    lost.write_text("defaults:\n  - nowhere\n\nalgorithm:\n  adv_estimator: grpo\n")
    res = lint_file(lost, "verl")
    # verl's default rollout.n of 1 would be a GL002 error; the missing default may set n, so it is not checked
    [group] = [f for f in res.findings if f.rule == "GL002"]
    assert group.severity == "info" and group.message.startswith("not checked")
    assert "`nowhere.yaml`, a Hydra default of lost.yaml, which was not found next to it" in group.message


def test_grpo_without_reward_normalization_has_no_baseline_in_ragen(repo: Path) -> None:
    bare = repo / "config" / "bare_grpo.yaml"
    bare.write_text("defaults:\n  - base\n\nalgorithm:\n  adv_estimator: grpo\n")
    c = concepts(bare)
    assert c.estimator == "grpo" and not c.group_mean and not c.group_norm_std
    res = lint_file(bare, "verl")
    [hit] = [f for f in res.findings if f.rule == "GL021"]
    assert hit.severity == "warning" and "grpo has no baseline" in hit.message
    assert any("none (method identity)" in n for n in res.notes)


def test_mean_std_by_state_is_the_group_z_score_and_by_batch_a_batch_baseline(repo: Path) -> None:
    z = repo / "config" / "z.yaml"
    z.write_text(
        "defaults:\n  - base\n\nalgorithm:\n  adv_estimator: grpo\n"
        "agent_proxy:\n  reward_normalization:\n    method: mean_std\n"
    )
    c = concepts(z)
    assert (c.group_mean, c.group_norm_std) == (True, True)
    assert (c.reward_norm.mean, c.reward_norm.std) == ("group", "group")
    assert "GL021" not in {f.rule for f in lint_file(z, "verl").findings}
    batch = repo / "config" / "batch.yaml"
    batch.write_text(
        "defaults:\n  - base\n\nalgorithm:\n  adv_estimator: grpo\n"
        "agent_proxy:\n  reward_normalization:\n    grouping: batch\n    method: mean_std\n"
    )
    c = concepts(batch)
    assert (c.group_mean, c.reward_norm.mean, c.reward_norm.std) == (False, "batch", "batch")
    assert "GL021" not in {f.rule for f in lint_file(batch, "verl").findings}  # a batch mean is a baseline
    single = repo / "config" / "single.yaml"  # state groups of one normalize nothing (ctx_manager skips them)
    single.write_text(
        "defaults:\n  - base\n\nalgorithm:\n  adv_estimator: grpo\n"
        "agent_proxy:\n  reward_normalization:\n    method: mean_std\nes_manager:\n  train:\n    group_size: 1\n"
    )
    c = concepts(single)
    assert (c.group_mean, c.reward_norm.mean, c.group_size) == (False, "none", 1)


def test_the_sweep_script_lints_each_command_with_the_config_its_train_py_names(repo: Path) -> None:
    script = repo / "train_all.sh"
    res = lint_file(script, "auto")
    assert res.format == "verl"
    assert any("4 trainer commands (line 3, line 4, line 5, line 6)" in n for n in res.notes), res.notes
    assert any(n.endswith("config/_2_sokoban.yaml named on line 3") for n in res.notes), res.notes
    # the fourth names no --config-name: train.py's @hydra.main(config_path="config", config_name="base") does
    assert any(n.endswith("config/base.yaml named by the @hydra.main of train.py") for n in res.notes), (
        res.notes
    )
    no_baseline = [f for f in res.findings if f.rule == "GL021"]
    assert [(f.line, f.severity) for f in no_baseline] == [(5, "warning")], no_baseline  # bare grpo only
    assert concepts(script, 1).group_norm_std is True  # $USE_GRPO: the state z-score
    assert concepts(script, 3).reward_norm.mean == "batch"


def test_validation_do_sample_is_read_in_ragen(repo: Path) -> None:
    """RAGEN's trainer passes val_kwargs.do_sample to its own validation rollout: not a dead key there."""
    c = concepts(repo / "config" / "_2_sokoban.yaml")
    assert not any(k.endswith("val_kwargs.do_sample") for k, _ in c.dead_keys)
    assert c.eval_greedy is False


def test_an_unknown_normalization_method_names_the_field(repo: Path) -> None:
    bad = repo / "config" / "bad.yaml"
    bad.write_text("defaults:\n  - base\n\nagent_proxy:\n  reward_normalization:\n    method: zscore\n")
    res = lint_file(bad, "verl")
    assert res.invalid
    [f] = [f for f in res.findings if f.rule == "GL000"]
    assert "agent_proxy.reward_normalization.method" in f.message and "mean_std" in f.message
