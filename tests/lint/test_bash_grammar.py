"""The tree-sitter-bash syntax layer of the launch-script reader: where the grammar reads a script differently
from bash (found on the frameworks' own scripts), the reader must still give bash's words and commands."""

from __future__ import annotations

from training.lint import lint_text
from training.lint.adapters._bash import read_script
from training.lint.adapters._bash_syntax import Command, command_words, parse
from training.lint.detect import _called_scripts

VERL = "python3 -m verl.trainer.main_ppo"
N = "actor_rollout_ref.rollout.n"


def _commands(text: str) -> list[list[str]]:
    return [[w.text for w in c.words] for c in read_script(text).commands]


def test_words_the_grammar_splits_are_one_word_as_in_bash() -> None:
    # verl's veomni scripts: the grammar ends the assignment at the second `$` and makes the rest a command
    text = "R=/data\nd=$R/checkpoint/$project/$exp\necho $d x L$1\n"
    assert _commands(text) == [["echo", "/data/checkpoint/$project/$exp", "x", "L$1"]]
    # verl's fsdp_turbo scripts: quoted pieces joined by line continuations are one value
    assert _commands("F='a:{},'\\\n'b:{}'\necho \"$F\"\n") == [["echo", "a:{},b:{}"]]


def test_a_newline_ends_a_command_the_grammar_runs_on() -> None:
    # OpenRLHF's nvidia_docker_install.sh: after `a |b` the grammar carries the command over the newlines
    text = "dpkg -l |grep ^rc|awk '{print $2}' |sudo xargs dpkg -P\nsudo rm -rf /x\n\nD=$(cat f) \\\n  && echo $D\n"
    got = _commands(text)
    assert ["sudo", "xargs", "dpkg", "-P"] in got and ["sudo", "rm", "-rf", "/x"] in got
    assert got[-1][0] == "echo" and got[-1][1] == "$(cat f)"


def test_a_substitution_bash_rejects_only_when_run_stays_in_its_word() -> None:
    res = lint_text(f"{VERL} algorithm.adv_estimator=grpo {N}=8 algorithm.gamma=${{oc.env:GAMMA}}\n", "verl")
    assert not res.invalid and not read_script(f"{VERL} a=${{oc.env:G}} b=2\n").notes
    words = _commands(f"{VERL} a=${{oc.env:G}} b=2\n")[0]
    assert words[3:] == ["a=${oc.env:G}", "b=2"]


def test_an_error_inside_a_word_does_not_skip_the_statement() -> None:
    # SkyRL's fully-async scripts: the grammar misreads `$(( a * (b + 1) ))` inside `${X:=...}`
    text = ': "${B:=256}"\n: "${W:=$(( B * (4 + 1) ))}"\necho $W\n'
    script = read_script(text)
    assert not script.notes and [w.text for w in script.commands[-1].words] == ["echo", "1280"]


def test_spans_are_characters_not_bytes() -> None:
    text = "# é — ü\nA='é'\necho \"$A\" ok\n"
    parsed = parse(text)
    cmd = parsed.statements[-1]
    assert isinstance(cmd, Command) and [text[a:b] for a, b in cmd.words] == ["echo", '"$A"', "ok"]
    w = read_script(text).commands[-1].words[2]
    assert (w.text, w.line, w.column) == ("ok", 3, 11)


def test_wrapper_scan_finds_the_scripts_a_file_runs() -> None:
    text = 'set -e\nif [ -n "$X" ]; then\n  bash "$DIR"/run_gsm8k.sh \\\n    --x 1\nfi\npython e.py --config b.yaml\n'
    assert command_words("a 'b c'\n") == [["a", "'b c'"]]
    assert _called_scripts(text) == ["run_gsm8k.sh", "e.py", "b.yaml"]  # e.py: followed only if it is TRL's


def test_a_syntax_error_is_noted_also_in_a_branch_not_taken_and_an_unclosed_bracket_is_gl000() -> None:
    text = 'D=gpu\ncase "$D" in\n  gpu) N=8 ;;\n  npu) N=16 ) ;;\nesac\necho $N\n'
    script = read_script(text)
    assert [w.text for w in script.commands[-1].words] == ["echo", "8"]
    assert any(n.startswith("line 4: bash syntax the reader could not parse") for n in script.notes), (
        script.notes
    )
    for text, what, col in (("A=(x y\n", "`(`", 3), ('echo "${A:-x\n', "`${`", 7)):
        res = lint_text(f"{VERL} {N}=8\n{text}", "verl")
        f = res.findings[0]
        assert res.invalid and f"unterminated {what}" in f.message and (f.line, f.column) == (2, col), (
            f.message
        )
