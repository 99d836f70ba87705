"""Unknown is not the default: a value the file sets but the reader cannot know (an environment variable, a
branch, a command's output, a base config it cannot open) never lets an error or a warning fire on the
framework's default in its place; findings that do not depend on it keep their severity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

ROOT = Path(__file__).resolve().parents[2]
VERL = "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo"
N = "actor_rollout_ref.rollout.n"


def by_rule(res: object) -> dict[str, tuple[str, str]]:
    return {f.rule: (f.severity, f.message) for f in res.findings}  # type: ignore[attr-defined]


def test_unknownvar_repro_gives_no_error_and_says_what_it_could_not_see() -> None:
    res = lint_text(f"{VERL} {N}=$N_SAMPLES\n", "verl", "unknownvar.sh")
    assert not res.invalid and not res.blocking
    sev, msg = by_rule(res)["GL002"]
    assert sev == "info" and "`$N_SAMPLES` is not set in this file" in msg
    assert "`actor_rollout_ref.rollout.n` = 1" in msg and "would be GL002 error" in msg
    # GL021 depends on n only through the adapter's arithmetic (no group mean at n = 1): found by re-running
    assert by_rule(res)["GL021"][0] == "info"
    f = next(f for f in res.findings if f.rule == "GL002")
    assert f.to_dict()["unknown"] and not f.from_default


def test_the_same_script_with_the_value_written_still_errors() -> None:
    res = lint_text(f"{VERL} {N}=1\n", "verl")
    assert by_rule(res)["GL002"][0] == "error" and by_rule(res)["GL021"][0] == "warning"


def test_an_unknown_the_verdict_does_not_depend_on_leaves_the_error() -> None:
    res = lint_text(f"{VERL} {N}=1 actor_rollout_ref.rollout.temperature=$TEMP\n", "verl")
    assert by_rule(res)["GL002"][0] == "error"  # n = 1 is written; the temperature changes nothing here


def test_oat_unknown_group_size_is_not_an_error() -> None:
    res = lint_text(
        "python -m oat.experiment.main --critic_type grpo --num_samples $N --rollout_batch_size 128\n", "oat"
    )
    assert not res.invalid and not res.blocking


def test_branch_values_that_all_fire_keep_the_error() -> None:
    both = f'if [ "$BIG" = 1 ]; then EST=grpo; else EST=grpo_vectorized; fi\n{VERL} algorithm.adv_estimator=$EST {N}=1\n'
    assert by_rule(lint_text(both, "verl"))["GL002"][0] == "error"
    # one branch that would not fire: ambiguous, so an info naming both values
    split = f'if [ "$BIG" = 1 ]; then G=1; else G=8; fi\n{VERL} {N}=$G\n'
    sev, msg = by_rule(lint_text(split, "verl"))["GL002"]
    assert sev == "info" and "1 or 8 depending on the branches of the `if` on line 1" in msg


def test_command_output_and_hydra_resolvers_are_unknown() -> None:
    res = lint_text(f"{VERL} {N}=$(nproc)\n", "verl")
    assert "command's output" in by_rule(res)["GL002"][1] and by_rule(res)["GL002"][0] == "info"
    yaml = "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: ${oc.env:GROUP,1}\n"
    res = lint_text(yaml, "verl")
    sev, msg = by_rule(res)["GL002"]
    assert sev == "info" and "resolved by Hydra/OmegaConf" in msg and "`actor_rollout_ref.rollout.n`" in msg


def test_opaque_extra_arguments_make_unwritten_keys_unknown() -> None:
    res = lint_text(f"{VERL} $EXTRA_ARGS\n", "verl")
    sev, msg = by_rule(res)["GL002"]
    assert sev == "info" and "it may be set by `$EXTRA_ARGS` on line 1" in msg
    # "$@" (whatever the script is called with) is not counted: the file is linted as written
    assert by_rule(lint_text(f'{VERL} "$@"\n', "verl"))["GL002"][0] == "error"


BASE = """gconfig:
  n_samples: 8
actor:
  kl_ctl: 0.0
  reward_norm:
    mean_level: group
    std_level: group
    group_size: 8
  adv_norm:
    mean_level: batch
    std_level: batch
"""


def test_base_config_in_the_same_tree_is_read_with_its_positions(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.yaml").write_text(BASE)
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "run.sh"
    # run from the repository root: the path is relative to a folder above the script
    script.write_text(
        "python3 -m areal.launcher.local train.py --config configs/base.yaml gconfig.n_samples=8\n"
    )
    res = lint_file(script, "areal")
    assert not res.invalid
    f = next(f for f in res.findings if f.rule == "GL001")
    assert f.severity == "error" and f.file.endswith("configs/base.yaml") and f.line == 9  # actor.adv_norm
    assert any("read the base config" in n for n in res.notes)
    # the command line overrides the base config
    script.write_text(
        "python3 -m areal.launcher.local train.py --config configs/base.yaml actor.adv_norm=null\n"
    )
    assert "GL001" not in by_rule(lint_file(script, "areal"))


def test_base_config_that_cannot_be_found_makes_its_keys_unknown(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("python3 -m areal.launcher.local train.py --config missing.yaml gconfig.n_samples=8\n")
    res = lint_file(script, "areal")
    assert not res.invalid and not res.blocking
    sev, msg = by_rule(res)[
        "GL007"
    ]  # KL without a reference, from AReaL's defaults: but the base may set both
    assert sev == "info" and "`missing.yaml` (named on line 1), which was not found next to the script" in msg


def test_hydra_config_name_is_opened_from_its_config_path(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "my_grpo.yaml").write_text(
        "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 1\n"
    )
    script = tmp_path / "run.sh"
    script.write_text(
        "python3 -m verl.trainer.main_ppo --config-path=config --config-name=my_grpo trainer.x=1\n"
    )
    f = next(f for f in lint_file(script, "verl").findings if f.rule == "GL002")
    assert f.severity == "error" and f.file.endswith("config/my_grpo.yaml") and f.line == 5


README = "# My project\n\nRun `python3 -m verl.trainer.main_ppo` to train.\n\n## Setup: install it\n"


@pytest.mark.parametrize(
    "fmt", ["grpolab", "trl", "verl", "openrlhf", "oat", "gem", "skyrl", "roll", "areal"]
)
def test_a_readme_is_refused_by_every_adapter(fmt: str) -> None:
    res = lint_text(README, fmt, "README.md")
    assert res.invalid and len(res.findings) == 1
    assert "no trainer command and no config keys were found" in res.findings[0].message


def test_cli_exit_codes_for_unknown_and_refused(tmp_path: Path) -> None:
    script = tmp_path / "unknownvar.sh"
    script.write_text(f"{VERL} {N}=$N_SAMPLES\n")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    run = [sys.executable, "-m", "grpolab", "lint", "--input-format", "verl", "--format", "json"]
    p = subprocess.run([*run, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    findings = json.loads(p.stdout)["files"][0]["findings"]
    assert {f["severity"] for f in findings} == {"info"} and all(f["unknown"] for f in findings)
    p = subprocess.run([*run, str(readme)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "no trainer command and no config keys" in p.stdout
