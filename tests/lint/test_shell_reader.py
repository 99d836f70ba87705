"""The launch-script reader: bash's grammar (tree-sitter-bash) and our word expansion, on the team's minimal repros of
real-config failures (shared/reference/real-config-repros, copied here as strings) and on the constructs around
them. Each test asserts the values and positions a framework would receive, as bash would pass them."""

from __future__ import annotations

from typing import Any

import pytest

from training.lint import lint_file, lint_text
from training.lint.adapters import get_adapter
from training.lint.adapters._bash import read_script
from training.lint.adapters._shell import find_commands, flag_source, overrides, tokenize
from training.lint.adapters._source import Unknown

VERL = "python3 -m verl.trainer.main_ppo"
GRPO = "algorithm.adv_estimator=grpo"
N = "actor_rollout_ref.rollout.n"

# name -> (format, script). The texts of shared/reference/real-config-repros/*.sh.
REPROS: dict[str, tuple[str, str]] = {
    "altdefault.sh": ("verl", f"N=${{N:=8}}\n{VERL} {GRPO} {N}=$N\n"),
    "arith.sh": ("verl", f"N=4\n{VERL} {GRPO} {N}=$((N*2))\n"),
    "array.sh": ("verl", f'ARGS=({GRPO} {N}=8)\n{VERL} "${{ARGS[@]}}"\n'),
    "bracedNoDefault.sh": ("verl", f"n=8\n{VERL} {GRPO} {N}=${{n}}\n"),
    "commentline.sh": ("verl", f"{VERL} \\\n    {GRPO} \\\n    # {N}=8 \\\n    {N}=2\n"),
    "default.sh": ("verl", f"N=${{N:-8}}\n{VERL} {GRPO} {N}=$N\n"),
    "dquote_est.sh": ("verl", f'{VERL} algorithm.adv_estimator="grpo" {N}="8"\n'),
    "envprefix.sh": ("verl", f"N=8 {VERL} {GRPO} {N}=$N\n"),
    "ifelse.sh": ("verl", f'if [ "$X" = 1 ]; then N=8; else N=16; fi\n{VERL} {GRPO} {N}=$N\n'),
    "nested.sh": ("verl", f'A=${{A:-"${{HOME}}/x"}}\n{VERL} {GRPO} {N}=8 trainer.x="${{A}}"\n'),
    "oat_arith.sh": (
        "oat",
        "A=128\nB=8\npython -m oat.experiment.main --critic_type grpo --num_samples 8 "
        "--rollout_batch_size_per_device $((A / B)) --rollout_batch_size 128\n",
    ),
    "oat_arith2.sh": (
        "oat",
        "python -m oat.experiment.main --critic_type grpo --num_samples 8 "
        "--rollout_batch_size_per_device $((GB / NG)) --rollout_batch_size 128\n",
    ),
    "oat_arith3.sh": (
        "oat",
        "A=96\nB=8\npython -m oat.experiment.main --critic_type grpo --num_samples 8 "
        "--rollout_batch_size_per_device $((A / B)) --rollout_batch_size 96\n",
    ),
    "oat_unk.sh": (
        "oat",
        "python -m oat.experiment.main --critic_type grpo --num_samples $N --rollout_batch_size 128\n",
    ),
    "pythonpath.sh": ("verl", f"python3 verl/trainer/main_ppo.py {GRPO} {N}=8\n"),
    "quoteddefault.sh": ("verl", f'N=${{N:-"8"}}\n{VERL} {GRPO} {N}=$N\n'),
    "split.sh": ("verl", f'ARGS="{GRPO} {N}=8"\n{VERL} $ARGS\n'),
    "squote_list.sh": ("verl", f"{VERL} {GRPO} {N}=8 trainer.logger=['console','wandb']\n"),
    "torchrun.sh": ("verl", f"torchrun --nproc_per_node=8 -m verl.trainer.main_ppo {GRPO} {N}=8\n"),
    "trailingspace.sh": ("verl", f"{VERL} \\\n    {GRPO} \\ \n    {N}=8\n"),
    "twocmds.sh": ("verl", f"{VERL} {GRPO} {N}=1 trainer.total_epochs=0 \n{VERL} {GRPO} {N}=8\n"),
    "unknownvar.sh": ("verl", f"{VERL} {GRPO} {N}=$N_SAMPLES\n"),
    "uvrun.sh": ("verl", f"uv run --isolated -m verl.trainer.main_ppo {GRPO} {N}=8\n"),
}

# what the trainer receives, as bash passes it: key -> value (Unknown: the reader must say it cannot know)
EXPECTED_VERL: dict[str, dict[str, Any]] = {
    "altdefault.sh": {"algorithm.adv_estimator": "grpo", N: 8},
    "arith.sh": {N: 8},
    "array.sh": {"algorithm.adv_estimator": "grpo", N: 8},
    "bracedNoDefault.sh": {N: 8},
    "commentline.sh": {"algorithm.adv_estimator": "grpo"},  # the comment line ends the command, as in bash
    "default.sh": {N: 8},
    "dquote_est.sh": {"algorithm.adv_estimator": "grpo", N: 8},
    "envprefix.sh": {N: Unknown},  # `N=8 cmd $N`: bash expands $N before the prefix applies
    "ifelse.sh": {N: Unknown},
    "nested.sh": {N: 8, "trainer.x": Unknown},  # ${HOME} comes from the environment
    "pythonpath.sh": {N: 8},
    "quoteddefault.sh": {N: 8},
    "split.sh": {"algorithm.adv_estimator": "grpo", N: 8},
    "squote_list.sh": {N: 8, "trainer.logger": "[console,wandb]"},  # bash removes the quotes
    "torchrun.sh": {N: 8},
    "trailingspace.sh": {
        "algorithm.adv_estimator": "grpo"
    },  # `\ ` is not a continuation: n is on its own line
    "twocmds.sh": {N: 1, "trainer.total_epochs": 0},
    "unknownvar.sh": {N: Unknown},
    "uvrun.sh": {N: 8},
}
EXPECTED_OAT: dict[str, dict[str, Any]] = {
    "oat_arith.sh": {"rollout_batch_size_per_device": 16, "rollout_batch_size": 128},
    "oat_arith2.sh": {"rollout_batch_size_per_device": Unknown, "num_samples": 8},
    "oat_arith3.sh": {"rollout_batch_size_per_device": 12, "rollout_batch_size": 96},
    "oat_unk.sh": {"num_samples": Unknown, "rollout_batch_size": 128},
}


def _values(name: str) -> dict[str, Any]:
    fmt, text = REPROS[name]
    if fmt == "verl":
        src = get_adapter("verl").source(text)
    else:
        cmd = find_commands(tokenize(text), ["oat.experiment.main"])[0]
        src = flag_source(cmd, negatable=True)
    return {k: e.value for k, e in src.entries.items()}


def test_every_repro_has_an_expectation() -> None:
    assert set(REPROS) == set(EXPECTED_VERL) | set(EXPECTED_OAT)


@pytest.mark.parametrize("name", sorted(REPROS))
def test_repro_is_read_as_bash_would(name: str) -> None:
    got = _values(name)
    for key, want in {**EXPECTED_VERL, **EXPECTED_OAT}[name].items():
        if want is Unknown:
            assert isinstance(got[key], Unknown) and got[key].reason, (key, got.get(key))
        else:
            assert got[key] == want, (key, got.get(key))


@pytest.mark.parametrize("name", sorted(REPROS))
def test_no_repro_is_unreadable(name: str) -> None:
    fmt, text = REPROS[name]
    res = lint_text(text, fmt, name)
    assert not res.invalid, [f.message for f in res.findings]


def test_commentline_and_trailing_space_end_the_command_where_bash_does() -> None:
    assert _values("commentline.sh").keys() == {"algorithm.adv_estimator"}
    res = lint_text(REPROS["trailingspace.sh"][1], "verl", "t.sh")
    assert any("line 2: a space follows the `\\`" in n for n in res.notes)


# ------------------------------------------------------------------------------------------ positions


def test_words_from_a_variable_point_into_its_assignment() -> None:
    src = get_adapter("verl").source(REPROS["split.sh"][1])
    e = src.entries[N]
    assert (e.line, e.column) == (1, 36)  # inside ARGS="... actor_rollout_ref.rollout.n=8"
    src = get_adapter("verl").source(REPROS["array.sh"][1])
    assert (src.entries["algorithm.adv_estimator"].line, src.entries["algorithm.adv_estimator"].column) == (
        1,
        7,
    )


def test_positions_survive_continuations_quotes_and_nested_defaults() -> None:
    text = (
        'ROOT=${ROOT:-"${HOME}/runs"}\n'
        "python3 -m verl.trainer.main_ppo \\\n"
        '    data.train_batch_size="$((16 * 4))" \\\n'
        '    trainer.default_local_dir="$ROOT" \\\n'
        f"    {N}=${{GROUP:-8}}\n"
    )
    src = get_adapter("verl").source(text)
    assert src.entries["data.train_batch_size"].value == 64
    assert (src.entries["data.train_batch_size"].line, src.entries["data.train_batch_size"].column) == (3, 5)
    assert src.entries[N].value == 8 and (src.entries[N].line, src.entries[N].column) == (5, 5)


def test_two_trainer_commands_are_each_linted_at_their_lines() -> None:
    res = lint_text(REPROS["twocmds.sh"][1], "verl")
    assert {(f.rule, f.severity, f.line) for f in res.findings if f.rule == "GL002"} == {
        ("GL002", "error", 1)
    }
    assert any("2 trainer commands" in n for n in res.notes)
    # swap the lines: the same finding follows the command to line 2
    swapped = "\n".join(reversed(REPROS["twocmds.sh"][1].strip().splitlines())) + "\n"
    res = lint_text(swapped, "verl")
    assert {(f.rule, f.line) for f in res.findings if f.rule == "GL002"} == {("GL002", 2)}


# ------------------------------------------------------------------------------------------ constructs


def _words(text: str, index: int = -1) -> list[str]:
    return [w.text for w in tokenize(text)[index]]


def test_assign_default_forms() -> None:
    text = ': "${A:=3}"\nB=${B-4}\nC=""\nD=${C:-5}\nE=${C-6}\nF=${A:+set}\necho $A $B $D "$E" $F ${#F}\n'
    assert _words(text) == ["echo", "3", "4", "5", "", "set", "3"]


def test_arrays_elements_index_and_count() -> None:
    text = 'A=(one "two words" three)\nA+=(four)\necho "${A[@]}" ${A[1]} ${#A[@]} "${A[*]}"\n'
    assert _words(text) == [
        "echo",
        "one",
        "two words",
        "three",
        "four",
        "two",
        "words",
        "4",
        "one two words three four",
    ]


def test_word_splitting_only_of_unquoted_values() -> None:
    text = 'X="a b  c"\necho $X "$X" pre$X\n'
    assert _words(text) == ["echo", "a", "b", "c", "a b  c", "prea", "b", "c"]
    # inside an array too (verl's recipes: `EXTRA=(model_engine=x $ACTOR_CONFIG $ROLLOUT_CONFIG)`)
    text = 'R="\n  a=1 \\\n  b=2"\nE=(m=1 $R "$R")\necho "${E[@]}"\n'
    words = tokenize(text)[-1]
    assert [w.text for w in words] == ["echo", "m=1", "a=1", "b=2", "\n  a=1   b=2"]
    assert [(w.line, w.column) for w in words[2:4]] == [(2, 3), (3, 3)]


def test_arithmetic() -> None:
    text = "A=7\nB=2\necho $((A / B)) $((A % B)) $(( (A + 1) * B ** 2 )) $((-7 / 2)) $((A > B && B > 0)) $((1 << 4))\n"
    assert _words(text) == ["echo", "3", "1", "32", "-3", "1", "16"]
    w = tokenize("echo $((4 / 0)) $((X + 1))\n")[0]
    assert "divides by zero" in w[1].unknown and "`X`" in w[2].unknown


def test_export_declare_local_and_unset() -> None:
    text = (
        "export A=1 B\ndeclare -a C=(x y)\nf() { local D=4; echo $D; }\nunset A\nf\necho ${A:-gone} ${C[1]}\n"
    )
    statements = tokenize(text)
    assert [w.text for w in statements[-1]] == ["echo", "gone", "y"]
    assert ["echo", "4"] in [[w.text for w in s] for s in statements]


def test_if_branches_known_test_picks_one_unknown_test_is_ambiguous() -> None:
    picked = 'MODE=fast\nif [ "$MODE" = fast ]; then N=4; elif [ "$MODE" = slow ]; then N=16; else N=8; fi\necho $N\n'
    assert _words(picked) == ["echo", "4"]
    w = tokenize('if [[ -n "$Y" ]]; then N=4; else N=16; fi\necho $N\n')[-1][1]
    assert w.unknown and w.candidates == ("4", "16") and "branches of the `if` on line 1" in w.unknown
    # no `else`: the value before the `if` is the other possibility
    w = tokenize('N=2\nif [ "$Y" = 1 ]; then N=4; fi\necho $N\n')[-1][1]
    assert w.candidates == ("4", "2")
    # a branch that leaves it unknown: no list of values to try
    w = tokenize('if [ "$Y" = 1 ]; then N=4; else N=$Z; fi\necho $N\n')[-1][1]
    assert w.unknown and w.candidates == ()


def test_for_loop_variable_takes_each_value() -> None:
    w = tokenize("for n in 4 8; do python3 -m verl.trainer.main_ppo actor_rollout_ref.rollout.n=$n; done\n")[
        0
    ][-1]
    assert w.candidates == ("actor_rollout_ref.rollout.n=4", "actor_rollout_ref.rollout.n=8")


def test_command_substitution_and_script_arguments_are_unknown() -> None:
    w = tokenize('echo "$(nproc)" `date` $1 "${2:-x}"\n')[0]
    assert "command's output" in w[1].unknown and "command's output" in w[2].unknown
    assert "the script is called with" in w[3].unknown and w[4].text == "x"  # `${2:-x}`: its default


def test_launchers_and_bash_c() -> None:
    for text in (
        f"PYTHONPATH=. CUDA_VISIBLE_DEVICES=0,1 python3 -m verl.trainer.main_ppo {N}=4\n",
        f"nohup deepspeed --num_gpus 8 verl/trainer/main_ppo.py {N}=4 > log 2>&1 &\n",
        f"ray job submit --address=$ADDR -- uv run -m verl.trainer.main_ppo {N}=4 | tee out\n",
        f'bash -c "python3 -m verl.trainer.main_ppo {N}=4"\n',
    ):
        src = get_adapter("verl").source(text)
        assert src.entries[N].value == 4, text
    # inside `bash -c "..."` positions point into the string
    src = get_adapter("verl").source(f'X=1\nbash -c "python3 -m verl.trainer.main_ppo {N}=4"\n')
    assert (src.entries[N].line, src.entries[N].column) == (2, 43)


def test_heredoc_body_and_functions() -> None:
    text = "cat <<EOF > cfg.txt\nit's not $closed\nEOF\nrun() {\n  python3 -m verl.trainer.main_ppo $N_ARG\n}\nN_ARG=x.y=1\nrun\n"
    cmds = find_commands(tokenize(text), ["verl.trainer.main_ppo"])
    assert len(cmds) == 1 and [(k, v) for k, v, _, _ in overrides(cmds[0].args)] == [("x.y", 1)]


def test_case_arms_known_word_picks_one_unknown_word_is_ambiguous() -> None:
    text = (
        'STAGE="${1:-full}"\ncase "$STAGE" in\n  big|huge) N=16 ;;\n  full)\n    N=8\n'
        f"    python3 -m verl.trainer.main_ppo {N}=$N\n    ;;\n  *) N=4 ;;\nesac\necho $N\n"
    )
    statements = tokenize(text)
    assert [w.text for w in statements[-1]] == ["echo", "8"]
    assert (statements[0][-1].text, statements[0][-1].line, statements[0][-1].column) == (f"{N}=8", 6, 38)
    w = tokenize("case $X in\n  a) M=1;;\n  b) M=2;;\n  *) M=3;;\nesac\necho $M\n")[-1][1]
    assert w.candidates == ("1", "2", "3") and "the arms of the `case` on line 1" in w.unknown


def test_text_the_grammar_cannot_parse_is_skipped_with_a_note_and_its_assignments_unknown() -> None:
    script = read_script(f"N=4\nN=8 )\n{VERL} {N}=$N\n")
    assert any(n.startswith("line 2: bash syntax the reader could not parse") for n in script.notes), (
        script.notes
    )
    w = script.commands[-1].words[-1]
    assert "could not parse" in w.unknown and (w.line, w.column) == (3, 34)
    # the grammar takes a stray `done` for a command; bash does not
    stray = read_script(f"N=4\ndone\n{VERL} {N}=$N\n")
    assert any(n.startswith("line 2: bash syntax the reader could not parse (`done`") for n in stray.notes)
    # a missing `fi`: bash refuses the whole script; the reader says which statement is open
    unclosed = read_script(f"N=4\nif true; then\n  N=8\n{VERL} {N}=$N\n")
    assert any(n.startswith("lines 2-4") and "`fi` is missing" in n for n in unclosed.notes), unclosed.notes


def test_c_style_for_loop_variable_is_set_by_arithmetic() -> None:
    text = "for (( i=0; i<2; i++ )); do\n  N=$i\ndone\npython3 -m verl.trainer.main_ppo " + N + "=$N\n"
    script = read_script(text)
    w = script.commands[-1].words[-1]
    assert not script.notes and "`i` is set by the arithmetic on line 1" in w.unknown


def test_unterminated_quote_is_gl000_with_its_position() -> None:
    res = lint_text(f"{VERL} {N}='8\n", "verl")
    f = res.findings[0]
    assert res.invalid and "unterminated single quote" in f.message and (f.line, f.column) == (1, 62)


def test_a_launcher_yaml_run_block_is_read_with_positions_in_the_yaml() -> None:
    sky = (
        "resources:\n  accelerators: H100:8\nsetup: |\n  pip install verl\nrun: |\n"
        "  N=${N:-1}\n"
        "  python3 -m verl.trainer.main_ppo \\\n"
        "    algorithm.adv_estimator=grpo \\\n"
        f"    {N}=$N\n"
    )
    res = lint_text(sky, "verl", "task.sky.yaml")
    f = next(f for f in res.findings if f.rule == "GL002")
    assert f.severity == "error" and (f.line, f.column) == (9, 5)


def test_tests_joined_by_and_or_and_arrays_extended_in_a_branch() -> None:
    text = (
        'if [ "${USE_UV:-1}" != 0 ] && [ "${DEVICE:-gpu}" = gpu ]; then L=uv; else L=python3; fi\necho $L\n'
    )
    assert _words(text) == ["echo", "uv"]
    words = tokenize('A=(a=1 b=2)\nif [ "$X" = 1 ]; then A+=(c=3); fi\npython x "${A[@]}"\n')[-1]
    assert [w.text for w in words] == ["python", "x", "a=1", "b=2", "c=3"]
    assert not words[2].unknown and not words[3].unknown  # in every branch
    assert words[4].candidates == ("c=3", "") and not words[4].opaque  # there or not: not an opaque word


def test_arithmetic_commands_and_a_case_after_comments() -> None:
    text = "A=8\nB=2\nif (( A % B != 0 )); then N=1; else N=2; fi\n(( C = A + 1 ))\necho $N $C\n"
    words = tokenize(text)[-1]
    assert words[1].text == "2" and "set by the arithmetic on line 4" in words[2].unknown
    text = "# pick the device\n\ncase ${DEVICE:-gpu} in\n  gpu) G=8 ;;\n  npu) G=16 ;;\nesac\necho $G\n"
    assert _words(text) == ["echo", "8"] and not read_script(text).notes


def test_the_frameworks_own_hydra_config_is_its_defaults_and_a_recipe_config_is_found_by_module(
    tmp_path: Any,
) -> None:
    script = tmp_path / "examples" / "run.sh"
    script.parent.mkdir()
    script.write_text(f"{VERL} --config-path=./config --config-name=ppo_trainer {GRPO}\n")
    res = lint_file(script, "verl")
    f = next(f for f in res.findings if f.rule == "GL002")
    assert f.severity == "error" and f.from_default  # verl's own defaults, not unknown
    # Hydra's --config-path is relative to the entry module: recipe/dapo/config/dapo_trainer.yaml
    conf = tmp_path / "recipe" / "dapo" / "config"
    conf.mkdir(parents=True)
    (conf / "dapo_trainer.yaml").write_text(
        "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 1\n"
    )
    script.write_text(
        f"python3 -m recipe.dapo.main_dapo --config-path=config --config-name=dapo_trainer {GRPO}\n"
    )
    f = next(f for f in lint_file(script, "verl").findings if f.rule == "GL002")
    assert f.severity == "error" and f.file.endswith("recipe/dapo/config/dapo_trainer.yaml") and f.line == 5
    # the same text from the API (no file on disk): the base config is not looked for, its keys are unknown
    f = next(f for f in lint_text(script.read_text(), "verl", str(script)).findings if f.rule == "GL002")
    assert f.severity == "info" and "not linted from a file on disk" in f.message


@pytest.mark.parametrize(
    "text",
    [
        "f() { f; f; }\nf\n",  # recursion
        "a() { b; b; b; b; }\nb() { c; c; c; c; }\nc() { d; d; d; d; }\nd() { echo x; }\n" + "a\n" * 50,
        "echo $((2 ** 99999)) $((1 << 999)) $((7 % 0)) $(( ( ( ( 1 ) ) ) ))\n",
        'X="${A:-${B:-${C:-${D:-"$(( 1 + ${E:-2} ))"}}}}"\necho $X\n',
        "for i in 1 2; do for j in 3 4; do echo $i$j; done; done\n" * 200,
    ],
)
def test_hostile_scripts_end_quickly_without_a_traceback(text: str) -> None:
    res = lint_text(text + f"{VERL} {GRPO} {N}=8\n", "verl")
    assert not res.invalid and not res.blocking


def test_arrays_built_differently_in_the_branches_keep_the_pairs_they_share() -> None:
    # VL-Rethinker's train_vlm_multi.sh: `post_args=(…)` in both arms of an `if` on an unknown node count; the
    # arms differ in some flags and values, and both end `--rollout_batch_size ${R}`: that value must survive (it was
    # dropped, and OpenRLHF's reader then saw `--rollout_batch_size` with no value: a GL000 "got True")
    text = (
        "R=512\n"
        'if [ "$N" -gt 1 ]; then\n'
        "  A=(--actor_num_nodes 16 --micro_rollout_batch_size 8 --rollout_batch_size ${R})\n"
        "else\n"
        "  A=(--actor_num_nodes 4 --adam_offload --micro_rollout_batch_size 4 --rollout_batch_size ${R})\n"
        "fi\n"
        "python -m openrlhf.cli.train_ppo_ray ${A[@]} --advantage_estimator group_norm --n_samples_per_prompt 8\n"
    )
    words = read_script(text).commands[-1].words
    texts = [w.text for w in words]
    k = texts.index("--rollout_batch_size")
    assert texts[k + 1] == "512" and not words[k].unknown and not words[k + 1].unknown
    maybe = {w.text for w in words if w.unknown}
    assert {"16", "4", "8", "--adam_offload"} <= maybe  # what only one arm has may be absent
    assert "--actor_num_nodes" not in maybe and "--micro_rollout_batch_size" not in maybe
    res = lint_text(text, "openrlhf")
    assert not res.invalid, [f.message for f in res.findings]
