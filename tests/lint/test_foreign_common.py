"""What every foreign adapter shares: versions, format detection, the shell tokenizer, the published designs that
must stay silent, and `grpolab lint --input-format` as a process (exit codes, JSON, SARIF)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.lint import lint_text
from training.lint.adapters import FORMATS, get_adapter
from training.lint.adapters._shell import find_command, flag_source, overrides, tokenize
from training.lint.engine import FormatUnknown, detect_format

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "tests" / "lint" / "foreign"
FRAMEWORKS = ["trl", "verl", "openrlhf", "oat", "gem", "skyrl", "roll", "areal"]


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_adapter_records_name_and_version(name: str) -> None:
    mod = get_adapter(name)
    assert name == mod.NAME and name in FORMATS
    assert isinstance(mod.VERSION, str) and any(ch.isdigit() for ch in mod.VERSION)
    # the version shows up in a default-triggered message
    assert (ROOT / "docs" / "frameworks" / f"{name}.md").read_text().count(mod.VERSION) >= 1


@pytest.mark.parametrize("path", sorted(p for p in FOREIGN.rglob("*") if p.is_file()), ids=lambda p: p.name)
def test_detection_picks_the_folder_framework(path: Path) -> None:
    fmt, notes = detect_format(path.read_text(), str(path))
    assert fmt == path.parent.name and notes == [f"format detected: {fmt}"]


def test_unknown_yaml_asks_for_input_format() -> None:
    res = lint_text("foo: 1\nbar: 2\n", "auto")
    assert res.invalid and "--input-format" in res.findings[0].message


def test_ambiguous_script_names_both_candidates() -> None:
    text = (
        "python train_oat_grpo.py --critic_type2 grpo\n"
        "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm\n"
    )
    with pytest.raises(FormatUnknown, match=r"openrlhf or gem|gem or openrlhf"):
        detect_format(text, None)
    res = lint_text(text, "auto")
    assert res.invalid and "--input-format" in res.findings[0].message
    # naming the format resolves it
    assert {f.rule for f in lint_text(text, "gem").findings} >= {"GL001"}


def test_our_format_still_wins_for_our_configs() -> None:
    assert detect_format("algorithm:\n  estimator: grpo\n  norm_return: true\n", None)[0] == "grpolab"


# ------------------------------------------------------------------------------------------------ shell reading


SCRIPT = """#!/bin/bash
set -x   # trace
export N=8
MODEL="Qwen/Qwen2.5 7B"
ray job submit --address="http://127.0.0.1:8265" \\
   --runtime-env-json='{"working_dir": "/w"}' \\
   -- python3 -m openrlhf.cli.train_ppo_ray \\
   --pretrain "$MODEL" \\
   --n_samples_per_prompt ${N} \\
   --eps_clip_low_high 0.2 0.28 \\
   --advantage_estimator=group_norm --use_kl_loss 2>&1 | tee log.txt
echo done
"""


def test_tokenizer_keeps_positions_through_continuations_quotes_and_variables() -> None:
    cmd = find_command(tokenize(SCRIPT), ["openrlhf.cli.train_ppo_ray"])
    assert cmd is not None and (cmd.program.line, cmd.program.column) == (7, 18)
    src = flag_source(cmd)
    e = src.entries
    assert e["pretrain"].value == "Qwen/Qwen2.5 7B" and (e["pretrain"].line, e["pretrain"].column) == (8, 4)
    assert e["n_samples_per_prompt"].value == 8
    assert e["eps_clip_low_high"].value == [0.2, 0.28]
    assert e["advantage_estimator"].value == "group_norm" and e["advantage_estimator"].column == 4
    assert e["use_kl_loss"].value is True  # the redirection ends the arguments
    assert "tee" not in e and "log.txt" not in [x.value for x in e.values()]


def test_comment_line_inside_a_continuation_ends_the_command_as_in_bash() -> None:
    text = "python3 -m openrlhf.cli.train_ppo_ray \\\n  --n_samples_per_prompt 8\n# --gamma 0.9 \\\n  --temperature 0\n"
    cmd = find_command(tokenize(text), ["openrlhf.cli.train_ppo_ray"])
    assert cmd is not None and set(flag_source(cmd).entries) == {"n_samples_per_prompt"}


def test_hydra_overrides() -> None:
    words = tokenize("python3 -m x a.b=1 +c.d='x y' ++e=null ~f.g --config-name=ppo h=[1,2]\n")[0]
    got = [(k, v) for k, v, _, _ in overrides(words)]
    assert got == [("a.b", 1), ("+c.d", "x y"), ("++e", None), ("~f.g", None), ("h", "[1,2]")]


def test_unterminated_quote_is_gl000_with_position() -> None:
    res = lint_text("python3 -m openrlhf.cli.train_ppo_ray --pretrain 'oops\n", "openrlhf")
    f = res.findings[0]
    assert res.invalid and "quote" in f.message and (f.line, f.column) == (1, 50)


# ---------------------------------------------------------------------------------- published designs stay silent

DESIGNS = [
    # (name, format, config, rules that must not fire)
    (
        "REINFORCE++-baseline verl",
        "verl",
        "algorithm:\n  adv_estimator: reinforce_plus_plus_baseline\n  use_kl_in_reward: true\n"
        "actor_rollout_ref:\n  rollout:\n    n: 8\n",
        {"GL001", "GL004", "GL009", "GL018"},
    ),
    (
        "REINFORCE++-baseline OpenRLHF",
        "openrlhf",
        "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator reinforce_baseline --n_samples_per_prompt 8\n",
        {"GL001", "GL004", "GL009", "GL018"},
    ),
    (
        "REINFORCE++-baseline AReaL",
        "areal",
        "gconfig:\n  n_samples: 8\nactor:\n  kl_ctl: 0.01\n  reward_norm:\n    mean_level: group\n"
        "    std_level: null\n    group_size: 8\n  adv_norm:\n    mean_level: batch\n    std_level: batch\nref:\n"
        "  path: x\n",
        {"GL001", "GL004", "GL009", "GL018"},
    ),
    (
        "REINFORCE++-baseline ROLL",
        "roll",
        "adv_estimator: reinforce\nnorm_mean_type: group\nwhiten_advantages: true\n"
        "num_return_sequences_in_group: 8\nadd_token_level_kl: true\n",
        {"GL001", "GL004", "GL009", "GL018"},
    ),
    (
        "DAPO verl",
        "verl",
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=16 "
        "actor_rollout_ref.actor.clip_ratio_low=0.2 actor_rollout_ref.actor.clip_ratio_high=0.28\n",
        {"GL001", "GL004", "GL016", "GL007"},
    ),
    (
        "DAPO TRL",
        "trl",
        "num_generations: 16\nepsilon_high: 0.28\nbeta: 0.0\nmask_truncated_completions: true\n",
        {"GL001", "GL004", "GL016", "GL007"},
    ),
    (
        "Dr. GRPO TRL",
        "trl",
        "loss_type: dr_grpo\nscale_rewards: none\nbeta: 0.0\n",
        {"GL001", "GL004", "GL009", "GL022"},
    ),
    (
        "Dr. GRPO verl",
        "verl",
        "algorithm:\n  adv_estimator: grpo\n  norm_adv_by_std_in_grpo: false\nactor_rollout_ref:\n  actor:\n"
        "    loss_agg_mode: seq-mean-token-sum-norm\n    loss_scale_factor: 4096\n  rollout:\n    n: 8\n",
        {"GL001", "GL004", "GL009", "GL022"},
    ),
    (
        "Dr. GRPO SkyRL",
        "skyrl",
        "trainer:\n  algorithm:\n    grpo_norm_by_std: false\n    loss_reduction: seq_mean_token_sum_norm\n"
        "    max_seq_len: 4096\n    use_kl_loss: false\n",
        {"GL001", "GL004", "GL009", "GL022"},
    ),
    (
        "Dr. GRPO gem",
        "gem",
        "python train_oat_grpo.py --critic_type2 drgrpo --critic_type drgrpo --no-norm_return --num_samples 8\n",
        {"GL001", "GL004", "GL009", "GL022"},
    ),
    (
        "GEM ReBN",
        "gem",
        "python train_oat_grpo.py --env_id game:Sudoku-v0 --critic_type2 none --gamma 0.9 --num_samples 1\n",
        {"GL001", "GL005", "GL025", "GL006"},
    ),
    ("LitePPO TRL", "trl", "scale_rewards: batch\nnum_generations: 8\n", {"GL001"}),
    (
        "LitePPO AReaL",
        "areal",
        "gconfig:\n  n_samples: 8\nactor:\n  reward_norm:\n    mean_level: group\n    std_level: batch\n"
        "    group_size: 8\n",
        {"GL001"},
    ),
]


@pytest.mark.parametrize("name,fmt,text,silent", DESIGNS, ids=[d[0] for d in DESIGNS])
def test_published_designs_stay_silent(name: str, fmt: str, text: str, silent: set[str]) -> None:
    res = lint_text(text, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    assert not {f.rule for f in res.findings} & silent


# ------------------------------------------------------------------------------------------------- as a process


def grpolab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grpolab", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_gem_default_exits_1_with_line_and_default_note() -> None:
    p = grpolab("lint", "--input-format", "gem", "tests/lint/foreign/gem/grpo_default_norm_return.sh")
    assert p.returncode == 1, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if "GL001" in ln)
    assert line.startswith("tests/lint/foreign/gem/grpo_default_norm_return.sh:5:5: GL001 error:")
    assert "triggered by a default: `--norm_return` not set" in line


def test_cli_auto_clean_foreign_file_exits_0_and_names_the_format() -> None:
    p = grpolab("lint", "tests/lint/foreign/verl/drgrpo.yaml")
    assert p.returncode == 0 and "format detected: verl" in p.stdout


def test_cli_json_and_sarif_for_foreign_files() -> None:
    p = grpolab("lint", "--format", "json", "tests/lint/foreign/roll/rlvr_grpo_whiten.yaml")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    f = doc["files"][0]
    assert f["format"] == "roll" and {x["rule"] for x in f["findings"]} == {"GL001", "GL015", "GL019"}
    p = grpolab("lint", "--format", "sarif", "tests/lint/foreign/areal/gsm8k_grpo_twice.yaml")
    sarif = json.loads(p.stdout)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"GL001", "GL009", "GL025"} <= rules
    res = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "GL001")
    assert res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 27


def test_cli_unknown_input_format_exits_2() -> None:
    p = grpolab("lint", "--input-format", "megatron", "tests/lint/foreign/trl/dapo_clean.yaml")
    # one usage error on stderr naming the choices, not a GL000 finding per file
    assert p.returncode == 2 and p.stdout == ""
    assert "unknown --input-format 'megatron'" in p.stderr and "trl, verl, openrlhf" in p.stderr


def test_list_rules_has_the_catalogue() -> None:
    out = grpolab("lint", "--list-rules").stdout
    assert all(f"GL0{n:02d}" in out for n in range(1, 26))


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_docs_page_example_fires_and_its_fix_is_clean(name: str) -> None:
    page = (ROOT / "docs" / "frameworks" / f"{name}.md").read_text()
    section = page.split("## Example that fires, and its fix", 1)[1]
    blocks = [b.split("\n", 1)[1] for b in section.split("```")[1::2]]
    firing, fixed = blocks[0], blocks[1]
    rule = firing.split("fires ", 1)[1][:5]
    assert rule in {f.rule for f in lint_text(firing, name).findings}
    res = lint_text(fixed, name)
    assert not res.invalid and not [f for f in res.findings if f.severity in ("error", "warning")], [
        f.message for f in res.findings
    ]
    assert lint_text(firing, "auto").format == name


def test_values_only_the_shell_knows_are_unknown_not_the_default() -> None:
    text = (
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=$NUM \\\n"
        "  data.train_batch_size=$((64*8)) algorithm.gamma=${oc.env:GAMMA}\n"
    )
    res = lint_text(text, "verl")
    assert not res.invalid and not res.blocking
    f = next(
        f for f in res.findings if f.rule == "GL002"
    )  # n unknown: only what verl's default (1) would give
    assert f.severity == "info" and not f.from_default and "`$NUM` is not set in this file" in f.message
    assert "would be GL002 error" in f.message


def test_bytes_input_as_the_api_sends_it() -> None:
    data = (FOREIGN / "gem" / "grpo_default_norm_return.sh").read_bytes()
    res = lint_text(data, "auto", "run.sh")
    assert res.format == "gem" and res.path == "run.sh"
    assert [f.rule for f in res.blocking] == ["GL001", "GL006"]
