"""TRL (GRPOConfig YAML/JSON): realistic configs under tests/lint/foreign/trl/, each with the exact findings it must produce
(rule, severity, line), plus the trl-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "trl"


def found(name: str, fmt: str = "trl") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "trl")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    "dapo_clean.yaml": {("GL037", "info", 16)},  # mask_truncated_completions: denominator fixed in 2026-07
    "drgrpo_full.yaml": set(),
    "drgrpo_paper_recipe.yaml": {("GL004", "warning", 12)},
    "lite_ppo.json": set(),
    "split_groups.yaml": {("GL006", "error", 8), ("GL019", "info", 11), ("GL023", "info", 9)},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_trl(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "trl" and res.notes == ["format detected: trl"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_dr_grpo_done_fully_is_silent_on_gl001_gl004_gl009() -> None:
    rules = {r for r, _, _ in found("drgrpo_full.yaml")}
    assert not rules & {"GL001", "GL004", "GL009"}


def test_paper_recipe_warns_and_names_the_std_key_then_the_fix_silences_it() -> None:
    text = "loss_type: dr_grpo\nnum_generations: 8\n"
    msg = messages(text)["GL004"]
    assert "loss_type" in msg and "divided by the group std" in msg and "scale_rewards" in msg
    assert "GL004" not in messages(text + "scale_rewards: none\n")
    # YAML booleans are TRL's legacy spelling of the same switch
    assert "GL004" not in messages(text + "scale_rewards: false\n")
    assert "GL004" in messages(text + "scale_rewards: true\n")


def test_published_lite_ppo_and_gdpo_do_not_double_normalize() -> None:
    assert "GL001" not in messages("scale_rewards: batch\nnum_generations: 8\n")
    assert "GL001" not in messages("multi_objective_aggregation: normalize_then_sum\nnum_generations: 8\n")


def test_generation_batch_message_has_this_configs_numbers() -> None:
    msg = messages("num_generations: 6\ngeneration_batch_size: 64\n")["GL006"]
    assert "64" in msg and "group size 6" in msg and "4 episodes" in msg


def test_clip_higher_is_fine_and_an_inverted_clip_is_not() -> None:
    assert "GL016" not in messages("epsilon: 0.2\nepsilon_high: 0.28\n")
    res = lint_text("epsilon: 0.3\nepsilon_high: 0.1\n", "trl")
    f = next(f for f in res.findings if f.rule == "GL016")
    assert (f.severity, f.line) == ("warning", 2)


def test_beta_puts_k3_kl_in_the_loss_and_gl010_stays_silent() -> None:
    assert messages("beta: 0.04\nnum_generations: 8\n") == {}


def test_a_bad_value_is_gl000_with_its_line() -> None:
    res = lint_text("num_generations: 8\nloss_type: magic\n", "trl")
    assert res.invalid
    f = res.findings[0]
    assert f.rule == "GL000" and f.line == 2 and "loss_type" in f.message and "dr_grpo" in f.message


# --- launch scripts that run a TRL training script with GRPOConfig's fields as flags (VLM-R1, R1-V, open-r1)

LAUNCH = """#!/bin/bash
export DEBUG_MODE="true"
torchrun --nproc_per_node="8" --nnodes="1" \\
    src/open_r1/grpo_rec.py \\
    --output_dir output/run \\
    --num_generations 1 \\
    --per_device_train_batch_size 1 \\
    --bf16
"""


def test_a_launch_script_passes_grpo_config_fields_as_flags() -> None:
    res = lint_text(LAUNCH, "auto", "run_grpo.sh")
    assert res.format == "trl"
    gl002 = next(f for f in res.findings if f.rule == "GL002")
    assert gl002.severity == "error" and gl002.line == 6 and "--num_generations" in gl002.message
    cli = "trl grpo --model_name_or_path Qwen/Qwen2.5-0.5B --num_generations 1 --output_dir out\n"
    assert {f.rule: f.severity for f in lint_text(cli, "auto", "run.sh").findings}["GL002"] == "error"
    fixed = LAUNCH.replace("--num_generations 1", "--num_generations 8")
    assert "GL002" not in {f.rule for f in lint_text(fixed, "trl").findings}


def test_the_config_file_a_launch_script_names_is_read_from_disk_and_its_flags_win(tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "grpo.yaml").write_text("num_generations: 1\nloss_type: grpo\nbeta: 0.0\n")
    script = tmp_path / "train.sh"
    script.write_text("accelerate launch --config_file zero3.yaml src/grpo.py --config recipes/grpo.yaml\n")
    res = lint_file(script)
    assert res.format == "trl"
    gl002 = next(f for f in res.findings if f.rule == "GL002")
    assert gl002.severity == "error" and gl002.file.endswith("grpo.yaml") and gl002.line == 1
    script.write_text(
        "accelerate launch --config_file zero3.yaml src/grpo.py --config recipes/grpo.yaml --num_generations 8\n"
    )
    assert "GL002" not in {f.rule for f in lint_file(script).findings}  # the flag wins over the file
    # the same text, not from disk: the recipe is not read, so nothing rests on its values
    text_only = lint_text(
        "accelerate launch src/grpo.py --config recipes/grpo.yaml --loss_type grpo\n", "trl", "train.sh"
    )
    assert not text_only.invalid and "error" not in {f.severity for f in text_only.findings}


def test_a_python_command_without_grpo_flags_is_not_taken_for_trl() -> None:
    res = lint_text("python eval.py --temperature 0 --output_dir out\n", "auto", "eval.sh")
    assert res.format == "unknown" and res.invalid


def test_a_launch_with_only_training_arguments_is_told_by_the_script_it_runs(tmp_path: Path) -> None:
    # R1-V / VLM-R1: `torchrun … src/open_r1/grpo.py --per_device_train_batch_size 1 …` names no GRPOConfig-only
    # flag; the Python file it runs builds a GRPOConfig, so the launch is TRL's (the file is found from the repo root)
    (tmp_path / "src" / "open_r1").mkdir(parents=True)
    (tmp_path / "src" / "open_r1" / "grpo.py").write_text(
        "from trl import GRPOConfig, GRPOTrainer, TrlParser\n"
        "parser = TrlParser((GRPOConfig,))\n(training_args,) = parser.parse_args_and_config()\n"
    )
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "run.sh"
    script.write_text(
        "torchrun --nproc_per_node=8 src/open_r1/grpo.py --per_device_train_batch_size 1 --bf16\n"
    )
    res = lint_file(script)
    assert res.format == "trl" and not res.invalid
    assert any("src/open_r1/grpo.py" in n for n in res.notes), res.notes
    (tmp_path / "src" / "open_r1" / "grpo.py").write_text("print('evaluation')\n")  # not a GRPO script
    assert lint_file(script).format == "unknown"
