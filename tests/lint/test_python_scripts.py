"""TRL training scripts in Python: `GRPOConfig(...)` and `TrlParser` scripts read from the AST (never run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from training.lint import lint_file, lint_text
from training.lint.adapters._python import python_source
from training.lint.adapters._source import Unknown

MIRROR = Path("/work/.mirror/huggingface+trl/repo")

SCRIPT = """\
from trl import GRPOConfig, GRPOTrainer

LR = 1e-6
GROUP = 8


def main():
    args = GRPOConfig(
        output_dir="out",
        learning_rate=LR,
        num_generations=GROUP,
        generation_batch_size=30,
        beta=compute_beta(),
        run_name=f"run-{LR}",
    )
    trainer = GRPOTrainer(model="Qwen/Qwen2.5-0.5B", args=args)
    trainer.train()


if __name__ == "__main__":
    main()
"""


def rules_at(result) -> set[tuple[str, str, int | None, int | None]]:  # type: ignore[no-untyped-def]
    assert not result.invalid, [f.message for f in result.findings]
    return {(f.rule, f.severity, f.line, f.column) for f in result.findings}


def test_literal_keywords_are_read_with_their_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    found = rules_at(lint_file(path, "trl"))
    # generation_batch_size=30 with num_generations=GROUP (a module constant, 8): split groups, at the keyword
    assert ("GL006", "error", 12, 9) in found
    src = python_source(SCRIPT)
    assert src.entries["num_generations"].value == 8
    assert src.entries["learning_rate"].value == pytest.approx(1e-6)
    assert (src.entries["generation_batch_size"].line, src.entries["generation_batch_size"].column) == (12, 9)
    assert src.anchor == (8, 12)  # defaults point at the GRPOConfig call


def test_unresolvable_arguments_are_unknown_not_default() -> None:
    src = python_source(SCRIPT)
    beta, name = src.entries["beta"], src.entries["run_name"]
    assert isinstance(beta.value, Unknown) and beta.value.written == "compute_beta()" and beta.line == 13
    assert isinstance(name.value, Unknown) and name.line == 14
    assert src.origin("beta").unknown  # a rule reading beta is told it could not see it


def test_a_finding_that_rests_on_an_unknown_value_is_not_an_error() -> None:
    # the group size is computed: whether 30 splits groups cannot be known, so no GL006 error
    text = SCRIPT.replace("num_generations=GROUP", "num_generations=pick_group()")
    res = lint_text(text, "trl", "train.py")
    assert not [f for f in res.findings if f.rule == "GL006" and f.severity == "error"]


def test_a_name_bound_twice_or_in_a_loop_is_unknown() -> None:
    text = "from trl import GRPOConfig\nG = 8\nG = 16\nfor lr in (1e-6, 2e-6):\n    c = GRPOConfig(num_generations=G, learning_rate=lr)\n"
    src = python_source(text)
    assert set(src.entries) == {"num_generations", "learning_rate"}
    assert all(isinstance(e.value, Unknown) for e in src.entries.values())


def test_grouping_finding_moves_with_the_value() -> None:
    fixed = SCRIPT.replace("generation_batch_size=30", "generation_batch_size=32")
    assert not {r for r, *_ in rules_at(lint_text(fixed, "trl", "train.py"))} & {"GL006"}


def test_trlparser_script_reads_assignments_after_parsing() -> None:
    text = """\
from trl import GRPOConfig, ModelConfig, ScriptArguments, TrlParser

if __name__ == "__main__":
    types = (ScriptArguments, GRPOConfig, ModelConfig)
    parser = TrlParser(types)
    script_args, training_args, model_args = parser.parse_args_and_config()
    training_args.loss_type = "dr_grpo"
    if script_args.dataset_name:
        training_args.beta = 0.04
"""
    src = python_source(text)
    assert src.entries["loss_type"].value == "dr_grpo" and src.entries["loss_type"].line == 7
    assert src.entries["loss_type"].key == "training_args.loss_type"
    beta = src.entries["beta"].value  # set under a condition: unknown, with the value the branch would give
    assert isinstance(beta, Unknown) and beta.candidates == (0.04,)
    assert "command line" in src.unseen  # every field not assigned here comes from the launch
    assert any("command line" in n for n in src.notes)
    # dr_grpo's loss; whether the group std is divided comes from the launch (scale_rewards unseen): the
    # half-Dr.-GRPO finding may only be an info, at the assignment
    res = lint_text(text, "auto", "grpo.py")
    assert res.format == "trl" and any("command line" in n for n in res.notes)
    gl004 = [f for f in res.findings if f.rule == "GL004"]
    assert gl004 and all(f.severity == "info" for f in gl004) and gl004[0].line == 7


def test_auto_detects_python_scripts_with_and_without_a_file_name() -> None:
    assert lint_text(SCRIPT, "auto", "train.py").format == "trl"
    assert lint_text(SCRIPT, "auto", None).format == "trl"  # no name: recognised by its GRPOConfig call
    assert lint_text(SCRIPT, "auto", "<stdin>").format == "trl"  # `grpolab lint - < train.py`


def test_bad_python_is_a_positioned_gl000_never_a_traceback() -> None:
    res = lint_text("from trl import GRPOConfig\nargs = GRPOConfig(loss_type='dapo'\n", "trl", "x.py")
    assert res.invalid and res.findings[0].line is not None
    assert "not valid Python" in res.findings[0].message
    res = lint_text("import torch\nprint(torch.ones(2))\n", "trl", "x.py")
    assert res.invalid and "no `GRPOConfig(...)` call" in res.findings[0].message


def test_keyword_spread_of_a_variable_is_noted() -> None:
    src = python_source("from trl import GRPOConfig\nc = GRPOConfig(num_generations=4, **extra)\n")
    assert src.entries["num_generations"].value == 4
    assert "**extra" in src.unseen


def test_cispo_without_bounds_is_flagged_at_its_line() -> None:
    text = (
        "from trl import GRPOConfig\n\nargs = GRPOConfig(\n    output_dir='o',\n    loss_type='cispo',\n)\n"
    )
    res = lint_text(text, "auto", "train.py")
    hits = [f for f in res.findings if f.name == "cispo-bounds"]
    assert hits and hits[0].line == 5 and hits[0].severity == "error"


@pytest.mark.skipif(not MIRROR.exists(), reason="the huggingface/trl mirror is not fetched on this machine")
def test_trl_own_example_script_is_read() -> None:
    text = subprocess.run(
        ["git", "-C", str(MIRROR), "show", "HEAD:examples/scripts/grpo_2048.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    src = python_source(text)
    # the script's GRPOConfig(...) sets these literally; the reader must give the same values
    assert src.entries["max_completion_length"].value == 2048
    assert src.entries["gradient_accumulation_steps"].value == 2
    assert src.entries["chat_template_kwargs"].value == {"enable_thinking": False}
    assert lint_text(text, "auto", "examples/scripts/grpo_2048.py").format == "trl"


def test_each_grpoconfig_call_is_linted_on_its_own() -> None:
    text = (
        "from trl import GRPOConfig\n"
        "fast = GRPOConfig(num_generations=8, generation_batch_size=12)\n"
        "slow = GRPOConfig(num_generations=8, generation_batch_size=16, loss_type='dr_grpo')\n"
    )
    found = {(r, line) for r, _, line, _ in rules_at(lint_text(text, "trl", "two.py"))}
    assert ("GL006", 2) in found and ("GL004", 3) in found
    assert ("GL006", 3) not in found and ("GL004", 2) not in found


def test_a_config_call_of_defaults_is_linted_not_refused() -> None:
    res = lint_text("from trl import GRPOConfig\nargs = GRPOConfig(logging_steps=2)\n", "trl", "echo.py")
    assert not res.invalid  # TRL's defaults are a config (nothing to flag), not "nothing found"
