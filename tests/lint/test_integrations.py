"""Lint inside the frameworks: the TRL `LintCallback` on a real `GRPOConfig` (TRL 1.16), and
`python -m grpolab.preflight -- <launch command>` on real launch argv lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import RULES

trl = pytest.importorskip(
    "trl", reason="TRL is in the [bench] extra; the callback is tested with the real package"
)
transformers = pytest.importorskip("transformers")

from transformers import TrainerControl, TrainerState  # noqa: E402

from grpolab.integrations.trl import ConfigLintError, LintCallback, LintWarning, config_fields  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HAS_CISPO_RULE = any(r.name == "cispo-bounds" for r in RULES.values())


def grpo_config(tmp_path: Path, **kw: object) -> trl.GRPOConfig:
    return trl.GRPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, **kw)


def begin(callback: LintCallback, args: object, world_zero: bool = True) -> TrainerControl:
    """Call the hook as `Trainer.train` does (CallbackHandler passes args, state, control and the objects)."""
    state = TrainerState(is_world_process_zero=world_zero)
    return callback.on_train_begin(args, state, TrainerControl(), model=None, processing_class=None)


def test_only_fields_that_differ_from_defaults_are_passed(tmp_path: Path) -> None:
    fields = config_fields(grpo_config(tmp_path, loss_type="dr_grpo", num_generations=4))
    assert fields["loss_type"] == "dr_grpo" and fields["num_generations"] == 4
    assert (
        "epsilon" not in fields and "beta" not in fields
    )  # left at TRL's defaults: the adapter's defaults apply


def test_warns_with_the_finding_and_keeps_training(tmp_path: Path) -> None:
    cb = LintCallback()
    with pytest.warns(LintWarning, match="GL004 warning: half of Dr. GRPO"):
        control = begin(cb, grpo_config(tmp_path, loss_type="dr_grpo"))
    assert not control.should_training_stop
    assert cb.result is not None and {f.rule for f in cb.result.findings} == {"GL004"}


def test_the_fixed_config_is_silent(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    cb = LintCallback(fail_on_error=True)
    begin(cb, grpo_config(tmp_path, loss_type="dr_grpo", scale_rewards="none"))
    assert cb.result is not None and not [f for f in cb.result.findings if f.severity != "info"]
    assert not [w for w in recwarn if issubclass(w.category, LintWarning) and "GL004" in str(w.message)]


def test_generation_kwargs_temperature_is_seen_on_the_live_config(tmp_path: Path) -> None:
    cb = LintCallback()
    with pytest.warns(LintWarning, match="generation_kwargs.temperature"):
        begin(cb, grpo_config(tmp_path, generation_kwargs={"temperature": 0.7}))


def test_other_ranks_lint_silently(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    cb = LintCallback()
    begin(cb, grpo_config(tmp_path, loss_type="dr_grpo"), world_zero=False)
    assert cb.result is not None and cb.result.findings  # linted ...
    assert not [w for w in recwarn if issubclass(w.category, LintWarning)]  # ... but only rank 0 speaks


def test_a_non_grpo_config_is_skipped(tmp_path: Path) -> None:
    cb = LintCallback(fail_on_error=True)
    args = trl.SFTConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False)
    begin(cb, args)
    assert cb.result is None


def test_bad_min_severity_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="info, warning, error"):
        LintCallback(min_severity="loud")


@pytest.mark.skipif(
    not HAS_CISPO_RULE, reason="rule cispo-bounds is not in this tree yet (another engineer adds it)"
)
def test_fail_on_error_stops_before_training_and_allow_lets_it_run(tmp_path: Path) -> None:
    args = grpo_config(tmp_path, loss_type="cispo")  # epsilon_high unset: the IS weight is capped at 0.2
    with pytest.warns(LintWarning), pytest.raises(ConfigLintError, match=r"(?i)cispo") as exc:
        begin(LintCallback(fail_on_error=True), args)
    assert [f.name for f in exc.value.result.blocking] == ["cispo-bounds"]
    rule_id = exc.value.result.blocking[0].rule
    with pytest.warns(LintWarning, match="allowed: testing the cap"):
        begin(LintCallback(fail_on_error=True, allow={rule_id: "testing the cap"}), args)
    begin(LintCallback(fail_on_error=True), grpo_config(tmp_path, loss_type="cispo", epsilon_high=5.0))


def _tiny_trainer(tmp_path: Path, callback: LintCallback, **kw: object) -> tuple[object, list[int]]:
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


@pytest.mark.skipif(
    not HAS_CISPO_RULE, reason="rule cispo-bounds is not in this tree yet (another engineer adds it)"
)
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
