"""A launch script with no trainer command that runs another script (`bash "$SCRIPT_DIR/train.sh"`, SkyRL's
delta_weight_sync wrappers): linted from disk, the script it runs is linted with the environment bash would give
it (the wrapper's prefix assignments and exports, not its plain variables), and the findings point into that
script. Text from the API or stdin never opens files next to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text
from training.lint.adapters._bash import read_script

TRAIN = (
    "#!/bin/bash\n"
    "N=${N:-8}\n"
    "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=$N\n"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "train.sh").write_text(TRAIN)
    return tmp_path


def wrapper(tree: Path, body: str, name: str = "wrap.sh") -> Path:
    path = tree / "examples" / name
    path.write_text("#!/bin/bash\n" + body)
    return path


def rules(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.rule: f.severity for f in result.findings}


def test_the_script_alone_is_clean(tree: Path) -> None:
    result = lint_file(tree / "examples" / "train.sh")
    assert result.findings == [] and result.format == "verl"


@pytest.mark.parametrize(
    "body",
    [
        'export N=1\nbash "$(dirname "$0")/train.sh"\n',  # exported before the call
        'N=1 bash "$SCRIPT_DIR/train.sh" "$@"\n',  # a prefix assignment of the call
        "declare -x N=1\nsh examples/train.sh\n",  # from the repository's root, as its README runs it
        "N=1 ./train.sh\n",  # run directly
    ],
)
def test_what_the_wrapper_passes_reaches_the_script(tree: Path, body: str) -> None:
    result = lint_file(wrapper(tree, body))
    assert result.format == "verl"
    assert rules(result)["GL002"] == "error"  # a group of 1: only true with the wrapper's N
    gl002 = next(f for f in result.findings if f.rule == "GL002")
    assert Path(gl002.file) == (tree / "examples" / "train.sh").resolve()
    assert gl002.line == 3  # in train.sh, not in the wrapper
    assert any("runs" in n and "train.sh" in n and "(N)" in n for n in result.notes), result.notes


def test_a_plain_shell_variable_does_not_reach_the_script(tree: Path) -> None:
    result = lint_file(wrapper(tree, 'N=1\nbash "$(dirname "$0")/train.sh"\n'))  # not exported: bash keeps it
    assert result.findings == []
    assert any("train.sh" in n for n in result.notes)


def test_an_unknown_passed_value_is_not_an_error(tree: Path) -> None:
    result = lint_file(wrapper(tree, "N=$(nproc) bash examples/train.sh\n"))
    assert "error" not in rules(result).values()
    gl002 = next(f for f in result.findings if f.rule == "GL002")
    assert gl002.severity == "info" and "passed by wrap.sh (line 2)" in gl002.message


def test_a_wrapper_of_a_wrapper_passes_its_exports_down(tree: Path) -> None:
    wrapper(tree, 'export N=1\nbash "$(dirname "$0")/wrap.sh"\n', name="outer.sh")
    wrapper(tree, 'bash "$(dirname "$0")/train.sh"\n')
    result = lint_file(tree / "examples" / "outer.sh")
    assert rules(result)["GL002"] == "error"


def test_text_without_a_file_is_not_followed(tree: Path) -> None:
    result = lint_text('export N=1\nbash "$(dirname "$0")/train.sh"\n', "verl", "wrap.sh")
    assert [f.rule for f in result.findings] == ["GL000"]
    assert "It runs the script" in result.findings[0].message  # says which file to lint instead


@pytest.mark.parametrize(
    "body",
    [
        'bash "$(dirname "$0")/wrap.sh"\n',  # itself
        "bash /etc/train.sh\n",  # outside the linted tree
        'bash "$(dirname "$0")/missing.sh"\n',
        'bash "$(dirname "$0")/train.sh"\nbash "$(dirname "$0")/train.sh"\n',  # two calls: which trains is a guess
    ],
)
def test_nothing_is_followed_where_it_would_be_a_guess_or_a_loop(tree: Path, body: str) -> None:
    result = lint_file(wrapper(tree, body), "verl")
    assert [f.rule for f in result.findings] == ["GL000"]
    assert result.findings[0].severity == "error"


def test_two_wrappers_calling_each_other_end(tree: Path) -> None:
    wrapper(tree, 'bash "$(dirname "$0")/b.sh"\n', name="a.sh")
    wrapper(tree, 'bash "$(dirname "$0")/a.sh"\n', name="b.sh")
    result = lint_file(tree / "examples" / "a.sh", "verl")
    assert [f.rule for f in result.findings] == ["GL000"]


def test_the_reader_records_calls_with_their_environment() -> None:
    script = read_script('A=1\nexport B=2\nC=3 D="$A" bash run.sh --x\necho done\n')
    [call] = script.calls
    assert call.script.text == "run.sh" and call.line == 3
    assert {name: text for name, text, _, _ in call.passed} == {"B": "2", "C": "3", "D": "1"}
    inherited = read_script('python3 -m x "$B" "$A"\n', call.passed)
    assert [w.text for w in inherited.commands[0].words][-2:] == ["2", "$A"]  # A was not passed
