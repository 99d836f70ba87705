"""Lint inside the frameworks: the TRL `LintCallback` on a real `GRPOConfig` (TRL 1.16), and
`python -m grpolab.preflight -- <launch command>` on real launch argv lists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

try:  # TRL is in the [bench] extra: the callback is tested with the real package where it is installed
    import trl
    from transformers import TrainerControl, TrainerState

    from grpolab.integrations.trl import ConfigLintError, LintCallback, LintWarning, config_fields
except ImportError:  # pragma: no cover - the light install
    trl = None

needs_trl = pytest.mark.skipif(trl is None, reason="TRL is not installed (pip install grpolab[bench])")

ROOT = Path(__file__).resolve().parents[2]


def grpo_config(tmp_path: Path, **kw: object) -> Any:
    return trl.GRPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, **kw)


def begin(callback: Any, args: object, world_zero: bool = True) -> Any:
    """Call the hook as `Trainer.train` does (CallbackHandler passes args, state, control and the objects)."""
    state = TrainerState(is_world_process_zero=world_zero)
    return callback.on_train_begin(args, state, TrainerControl(), model=None, processing_class=None)


@needs_trl
def test_only_fields_that_differ_from_defaults_are_passed(tmp_path: Path) -> None:
    fields = config_fields(grpo_config(tmp_path, loss_type="dr_grpo", num_generations=4))
    assert fields["loss_type"] == "dr_grpo" and fields["num_generations"] == 4
    assert (
        "epsilon" not in fields and "beta" not in fields
    )  # left at TRL's defaults: the adapter's defaults apply


@needs_trl
def test_warns_with_the_finding_and_keeps_training(tmp_path: Path) -> None:
    cb = LintCallback()
    with pytest.warns(LintWarning, match="GL004 warning: half of Dr. GRPO"):
        control = begin(cb, grpo_config(tmp_path, loss_type="dr_grpo"))
    assert not control.should_training_stop
    assert cb.result is not None and {f.rule for f in cb.result.findings} == {"GL004"}


@needs_trl
def test_the_fixed_config_is_silent(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    cb = LintCallback(fail_on_error=True)
    begin(cb, grpo_config(tmp_path, loss_type="dr_grpo", scale_rewards="none"))
    assert cb.result is not None and not [f for f in cb.result.findings if f.severity != "info"]
    assert not [w for w in recwarn if issubclass(w.category, LintWarning) and "GL004" in str(w.message)]


@needs_trl
def test_generation_kwargs_temperature_is_seen_on_the_live_config(tmp_path: Path) -> None:
    cb = LintCallback()
    with pytest.warns(LintWarning, match="generation_kwargs.temperature"):
        begin(cb, grpo_config(tmp_path, generation_kwargs={"temperature": 0.7}))


@needs_trl
def test_other_ranks_lint_silently(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    cb = LintCallback()
    begin(cb, grpo_config(tmp_path, loss_type="dr_grpo"), world_zero=False)
    assert cb.result is not None and cb.result.findings  # linted ...
    assert not [w for w in recwarn if issubclass(w.category, LintWarning)]  # ... but only rank 0 speaks


@needs_trl
def test_a_non_grpo_config_is_skipped(tmp_path: Path) -> None:
    cb = LintCallback(fail_on_error=True)
    args = trl.SFTConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False)
    begin(cb, args)
    assert cb.result is None


@needs_trl
def test_bad_min_severity_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="info, warning, error"):
        LintCallback(min_severity="loud")


@needs_trl
def test_fail_on_error_stops_before_training_and_allow_lets_it_run(tmp_path: Path) -> None:
    args = grpo_config(tmp_path, loss_type="cispo")  # epsilon_high unset: the IS weight is capped at 0.2
    with pytest.warns(LintWarning), pytest.raises(ConfigLintError, match=r"(?i)cispo") as exc:
        begin(LintCallback(fail_on_error=True), args)
    assert [f.name for f in exc.value.result.blocking] == ["cispo-bounds"]
    rule_id = exc.value.result.blocking[0].rule
    with pytest.warns(LintWarning, match="allowed: testing the cap"):
        begin(LintCallback(fail_on_error=True, allow={rule_id: "testing the cap"}), args)
    begin(LintCallback(fail_on_error=True), grpo_config(tmp_path, loss_type="cispo", epsilon_high=5.0))


def _tiny_trainer(tmp_path: Path, callback: Any, **kw: object) -> tuple[object, list[int]]:
    """A real GRPOTrainer on a ~1k-parameter character model (CPU, one step of 4 completions of 4 tokens)."""
    from datasets import Dataset
    from transformers import TrainerCallback

    from training.config import ModelConfig
    from training.models import build_tiny_char

    policy = build_tiny_char(
        ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, tie_embeddings=True),
        seed=0,
    )
    steps: list[int] = []

    class CountSteps(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            steps.append(state.global_step)

    args = grpo_config(
        tmp_path,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=4,
        max_steps=1,
        save_strategy="no",
        logging_steps=1000,
        **kw,
    )
    trainer = trl.GRPOTrainer(
        model=policy.model,
        reward_funcs=lambda completions, **_: [float(len(c)) for c in completions],
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["abc", "abd", "abe", "abf"]}),
        processing_class=policy.tokenizer,
        callbacks=[callback, CountSteps()],
    )
    return trainer, steps


@needs_trl
def test_a_real_grpo_trainer_stops_before_its_first_step_then_trains_when_fixed(tmp_path: Path) -> None:
    trainer, steps = _tiny_trainer(tmp_path, LintCallback(fail_on_error=True), loss_type="cispo")
    with pytest.warns(LintWarning), pytest.raises(ConfigLintError):
        trainer.train()  # type: ignore[attr-defined]
    assert steps == []  # stopped at on_train_begin: no step ran
    trainer, steps = _tiny_trainer(
        tmp_path, LintCallback(fail_on_error=True), loss_type="cispo", epsilon_high=5.0
    )
    trainer.train()  # type: ignore[attr-defined]
    assert steps == [0]


# ---- python -m grpolab.preflight -- <launch command>

# a stand-in for a trainer we cannot run here (verl needs Ray and GPUs): it records the argv it was exec'd with
TRAINER = "import json, sys\nopen(sys.argv[0] + '.ran', 'w').write(json.dumps(sys.argv[1:]))\n"


def preflight(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "grpolab.preflight", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_detects_the_framework_from_real_launch_argv() -> None:
    from grpolab.preflight import detect_framework

    cases = {
        ("python3", "-m", "verl.trainer.main_ppo", "algorithm.adv_estimator=grpo"): "verl",
        (
            "ray",
            "job",
            "submit",
            "--",
            "python3",
            "-m",
            "openrlhf.cli.train_ppo_ray",
            "--n_samples_per_prompt",
            "8",
        ): ("openrlhf"),
        ("uv", "run", "--isolated", "-m", "skyrl.train.entrypoints.main_base", "trainer.epochs=1"): "skyrl",
        ("python", "examples/start_rlvr_pipeline.py", "--config_name", "rlvr_config"): "roll",
        ("python3", "-m", "areal.launcher.local", "examples/math/gsm8k_rl.py", "--config", "x.yaml"): "areal",
        ("python", "-m", "oat.experiment.main", "--critic_type", "drgrpo"): "oat",
        ("python", "examples/train_oat/train_oat_grpo.py", "--critic_type2", "grpo"): "gem",
        ("trl", "grpo", "--config", "recipe.yaml"): "trl",
    }
    for argv, fmt in cases.items():
        found = detect_framework(list(argv))
        assert found is not None and found[0] == fmt, (argv, found)
    assert detect_framework(["python", "train_sft.py", "--lr", "1e-5"]) is None


def test_an_error_finding_stops_the_launch(tmp_path: Path) -> None:
    trainer = tmp_path / "main_ppo.py"
    trainer.write_text(TRAINER)
    out = preflight(
        "--", sys.executable, str(trainer), "algorithm.adv_estimator=grpo", "actor_rollout_ref.rollout.n=1"
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "GL002 error" in out.stdout and "actor_rollout_ref.rollout.n is 1" in out.stdout
    assert "not run" in out.stderr
    assert not (tmp_path / "main_ppo.py.ran").exists()


def test_a_clean_launch_is_execd_with_its_exact_argv(tmp_path: Path) -> None:
    import json

    trainer = tmp_path / "main_ppo.py"
    trainer.write_text(TRAINER)
    argv = [
        "algorithm.adv_estimator=grpo",
        "actor_rollout_ref.rollout.n=8",
        "data.train_batch_size=64",
        "actor_rollout_ref.actor.ppo_mini_batch_size=16",
        "trainer.experiment_name=a name with spaces",
    ]
    out = preflight("--", sys.executable, str(trainer), *argv)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads((tmp_path / "main_ppo.py.ran").read_text()) == argv
    (tmp_path / "main_ppo.py.ran").unlink()
    lint_only = preflight("--no-exec", "--", sys.executable, str(trainer), *argv)
    assert lint_only.returncode == 0 and not (tmp_path / "main_ppo.py.ran").exists()


def test_trl_command_merges_the_config_file_and_its_flags(tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text("loss_type: dr_grpo\nscale_rewards: none\nnum_generations: 8\n")
    clean = preflight("--no-exec", "--", "trl", "grpo", "--config", "recipe.yaml", cwd=tmp_path)
    assert clean.returncode == 0 and "GL004" not in clean.stdout, clean.stdout + clean.stderr
    # the flag wins over the file, as in TrlParser: the group std division is back, with Dr. GRPO's loss
    half = preflight(
        "--no-exec", "--", "trl", "grpo", "--config", "recipe.yaml", "--scale_rewards", "group", cwd=tmp_path
    )
    assert half.returncode == 0 and "GL004 warning" in half.stdout, half.stdout + half.stderr


def test_trl_script_with_a_literal_config_is_read_from_its_source(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        "from trl import GRPOConfig\nargs = GRPOConfig(output_dir='o', num_generations=8, generation_batch_size=12)\n"
    )
    out = preflight("--no-exec", "--", "accelerate", "launch", "train.py", cwd=tmp_path)
    assert out.returncode == 1 and "train.py:2:" in out.stdout and "GL006 error" in out.stdout, out.stdout


def test_an_unknown_command_is_not_run(tmp_path: Path) -> None:
    out = preflight("--", sys.executable, "-c", "open('ran', 'w')", cwd=tmp_path)
    assert out.returncode == 2 and "could not be linted" in out.stderr
    assert not (tmp_path / "ran").exists()
    usage = preflight("--no-exec")
    assert usage.returncode == 2 and "after `--`" in usage.stderr


def test_a_launch_script_is_linted_in_place() -> None:
    foreign = ROOT / "tests" / "lint" / "foreign" / "verl"
    bad = preflight("--", "bash", str(foreign / "grpo_single_sample.sh"), "trainer.total_epochs=1")
    assert bad.returncode == 1 and f"{foreign / 'grpo_single_sample.sh'}:5:5: GL002 error" in bad.stdout
    assert '"$@"' in bad.stdout  # the extra arguments are named as not read
    clean = preflight("--no-exec", "--", "bash", str(foreign / "grpo_gsm8k.sh"))
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_trl_findings_point_at_the_file_line_or_the_flag_that_set_the_key(tmp_path: Path) -> None:
    (tmp_path / "recipe.yaml").write_text("num_generations: 8\nloss_type: dr_grpo\n")
    from_file = preflight("--no-exec", "--", "trl", "grpo", "--config", "recipe.yaml", cwd=tmp_path)
    assert "recipe.yaml:2:1: GL004 warning" in from_file.stdout, from_file.stdout
    argv = ["trl", "grpo", "--config", "recipe.yaml", "--num_generations", "1"]
    from_flag = preflight("--no-exec", "--", *argv, cwd=tmp_path)
    column = (
        len("trl grpo --config recipe.yaml ") + 1
    )  # where `--num_generations` starts in the printed command
    assert from_flag.returncode == 1 and f"<command>:1:{column}: GL002 error" in from_flag.stdout, (
        from_flag.stdout
    )
