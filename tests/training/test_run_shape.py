"""Config fields that say what they do: the evaluation sizes and the batch shape (B × G), refused with the fix."""

from __future__ import annotations

import argparse

import pytest

from training.config import RunConfig
from training.config_io import ConfigError, load_text
from training.pipeline import prompts_per_step


def test_eval_sizes_are_two_explicit_fields():
    run = RunConfig.model_validate({"run": {"eval_episodes": 64}}).run
    assert (run.eval_episodes, run.final_eval_episodes) == (64, 512)
    run = RunConfig.model_validate({"run": {"eval_episodes": 2000, "final_eval_episodes": 4096}}).run
    assert (run.eval_episodes, run.final_eval_episodes) == (2000, 4096)


def test_final_evaluation_below_512_is_refused_with_the_field():
    with pytest.raises(ConfigError) as err:
        load_text("run:\n  final_eval_episodes: 100\n")
    assert "final_eval_episodes" in err.value.render()


def test_an_old_config_with_a_large_eval_gets_the_migration_line():
    with pytest.raises(ConfigError) as err:
        load_text("run:\n  eval_episodes: 1000\n")
    assert "add run.final_eval_episodes: 1000" in err.value.render()


@pytest.mark.parametrize(
    ("batch_size", "group_size", "prompts", "fix"),
    [(128, 8, 16, None), (8, 8, 1, None), (100, 8, None, "96 or 104"), (4, 8, None, "to 8")],
)
def test_prompts_per_step_or_the_two_nearest_valid_batch_sizes(batch_size, group_size, prompts, fix):
    cfg = RunConfig.model_validate(
        {"rollout": {"batch_size": batch_size}, "algorithm": {"group_size": group_size}}
    )
    if prompts is not None:
        assert prompts_per_step(cfg) == prompts
        return
    with pytest.raises(ValueError, match=r"rollout\.batch_size") as err:
        prompts_per_step(cfg)
    assert fix in str(err.value) and "algorithm.group_size" in str(err.value)


def test_nproc_refuses_what_ranks_cannot_run_before_starting_any(tmp_path, capsys):
    from grpolab.commands.train import run

    cfg = tmp_path / "vllm.yaml"
    cfg.write_text("rollout: {backend: vllm}\n")
    out = tmp_path / "out"
    args = argparse.Namespace(
        file=str(cfg), steps=None, out=str(out), seed=None, no_resume=False, quiet=True, plot=None, nproc=2
    )
    assert run(args) == 2
    assert "rollout.backend: hf" in capsys.readouterr().err
    assert run(argparse.Namespace(**{**vars(args), "nproc": 0})) == 2
    assert "--nproc must be ≥ 1" in capsys.readouterr().err
    assert not out.exists()
