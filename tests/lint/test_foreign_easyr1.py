"""EasyR1 (its own `data`/`algorithm`/`worker`/`trainer` schema, and `python3 -m verl.trainer.main config=FILE.yaml`
launch scripts): realistic configs under tests/lint/foreign/easyr1/, each with the exact findings it must produce
(rule, severity, line), plus the EasyR1-specific behaviours the adapter encodes (its group size at
`worker.rollout.n`, the base config named by `config=`, KL in the reward or in the loss, never both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text
from training.lint.adapters import FORMATS, get_adapter
from training.lint.detect import detect_format

ROOT = Path(__file__).resolve().parents[2]
DIR = Path(__file__).parent / "foreign" / "easyr1"
VERL_DIR = Path(__file__).parent / "foreign" / "verl"

Found = set[tuple[str, str, int | None]]


def found(path: Path, fmt: str = "easyr1") -> Found:
    res = lint_file(path, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def rules(text: str) -> dict[str, str]:
    res = lint_text(text, "easyr1")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.severity for f in res.findings}


EXPECTED: dict[str, Found] = {
    # the base config: GRPO, n 8, KL as a k3 loss, 256 / 64 = 4 optimizer steps per rollout
    "config.yaml": set(),
    "geo_grpo.sh": set(),  # reads config.yaml: its n 8 and KL loss apply
    # the override wins over the base's n 8: EasyR1 refuses to start (a true positive)
    "grpo_single_sample.sh": {("GL002", "error", 5)},
    # greedy validation (val_override_config temperature 0, given as a JSON mapping) with 8 samples per prompt
    "dapo_filter.sh": {("GL024", "info", 13)},
    # use_kl_loss with kl_penalty left at EasyR1's default `kl` (k1); worker.actor.kl_coef is overwritten
    "k1_kl_loss.yaml": {("GL010", "warning", 11), ("GL019", "info", 16)},
    # REINFORCE++ discounts per token by algorithm.gamma
    "reinforce_pp_discount.sh": {("GL025", "warning", 11)},
    # gspo with EasyR1's token-sized default clips (0.2 / 0.3) and its token-mean loss
    "gspo_token_clip.sh": {("GL027", "warning", 6), ("GL028", "warning", 6)},
    # SAPO reads no clip key
    "sapo_clip.sh": {("GL019", "info", 7)},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(DIR / name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_easyr1(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "easyr1" and res.notes[0] == "format detected: easyr1"
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_registered_last_with_a_version_named_in_its_docs() -> None:
    assert list(FORMATS)[-1] == "easyr1"
    mod = get_adapter("easyr1")
    assert mod.NAME == "easyr1" and "b44b311" in mod.VERSION and "2026-07-30" in mod.VERSION
    page = (ROOT / "docs" / "frameworks" / "easyr1.md").read_text()
    assert mod.VERSION in page
    assert "easyr1.md" in (ROOT / "docs" / "frameworks" / "README.md").read_text()


# --- detection: EasyR1 is not verl, and verl is still verl


def test_easyr1_config_is_not_scored_as_verl() -> None:
    text = (DIR / "config.yaml").read_text()
    assert get_adapter("verl").detect(text, "config.yaml") == 0.0
    assert detect_format(text, "config.yaml")[0] == "easyr1"


@pytest.mark.parametrize("path", sorted(VERL_DIR.iterdir()), ids=lambda p: p.name)
def test_verl_files_still_detect_as_verl(path: Path) -> None:
    text = path.read_text()
    assert detect_format(text, str(path))[0] == "verl"
    assert get_adapter("easyr1").detect(text, str(path)) < 0.3


def test_verl_main_ppo_is_not_easyr1_entry_point() -> None:
    detect = get_adapter("easyr1").detect
    assert detect("python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo\n", "run.sh") == 0.0
    assert detect("python3 -m verl.trainer.main config=c.yaml\n", "run.sh") >= 0.9
    assert detect("python3 -m my.entry worker.rollout.n=8 algorithm.adv_estimator=grpo\n", "run.sh") >= 0.3


# --- the group size is worker.rollout.n (the false GL002 of the verl reading)


def test_group_size_comes_from_worker_rollout_n() -> None:
    text = "algorithm:\n  adv_estimator: grpo\n  use_kl_loss: true\n  kl_penalty: low_var_kl\nworker:\n  rollout:\n    n: 5\n"
    assert rules(text) == {}
    res = lint_text(text, "auto")
    assert res.format == "easyr1" and "GL002" not in {f.rule for f in res.findings}
    single = text.replace("n: 5", "n: 1")
    res = lint_text(single, "easyr1")
    f = next(f for f in res.findings if f.rule == "GL002")
    assert (f.severity, f.line) == ("error", 7) and "worker.rollout.n" in f.message
    assert any("refuses to train" in n for n in res.notes)


def test_missing_n_is_the_dataclass_default_of_one() -> None:
    res = lint_text("python3 -m verl.trainer.main algorithm.adv_estimator=rloo\n", "easyr1")
    f = next(f for f in res.findings if f.rule == "GL002")
    assert f.severity == "error" and f.from_default and "`worker.rollout.n` not set" in f.message
    # estimators with no group are not group-relative
    for est in ("reinforce_plus_plus", "remax", "gae"):
        assert "GL002" not in rules(f"python3 -m verl.trainer.main algorithm.adv_estimator={est}\n"), est


def test_unknown_estimator_or_loss_mode_is_gl000() -> None:
    for text in (
        "python3 -m verl.trainer.main algorithm.adv_estimator=grpo_vectorized worker.rollout.n=8\n",
        "python3 -m verl.trainer.main worker.rollout.n=8 worker.actor.loss_avg_mode=seq-mean-token-mean\n",
    ):
        res = lint_text(text, "easyr1")
        assert res.invalid and res.findings[0].rule == "GL000" and res.findings[0].line == 1


# --- config=FILE: read from disk, unknown from text


def _examples_tree(tmp_path: Path, n: int = 5) -> Path:
    (tmp_path / "examples").mkdir(parents=True)
    (tmp_path / "examples" / "config.yaml").write_text(
        "algorithm:\n  adv_estimator: grpo\n  use_kl_loss: true\n  kl_penalty: low_var_kl\n  kl_coef: 1.0e-2\n"
        f"worker:\n  actor:\n    global_batch_size: 128\n  rollout:\n    n: {n}\n"
    )
    script = tmp_path / "examples" / "run_grpo.sh"
    script.write_text(
        "#!/bin/bash\nset -x\n\npython3 -m verl.trainer.main \\\n    config=examples/config.yaml \\\n"
        "    worker.actor.model.model_path=${MODEL_PATH} \\\n    trainer.n_gpus_per_node=8\n"
    )
    return script


def test_base_config_from_disk_gives_its_values(tmp_path: Path) -> None:
    script = _examples_tree(tmp_path)
    res = lint_file(script, "auto")
    assert res.format == "easyr1" and not res.invalid and res.findings == []
    assert any("read the base config" in n and "examples/config.yaml" in n for n in res.notes)
    # a finding from the base points into the base file, at its line
    script_1 = _examples_tree(tmp_path / "one", n=1)
    res = lint_file(script_1, "easyr1")
    f = next(f for f in res.findings if f.rule == "GL002")
    assert f.severity == "error" and f.file.endswith("examples/config.yaml") and f.line == 10


def test_command_line_overrides_win_over_the_base(tmp_path: Path) -> None:
    script = _examples_tree(tmp_path, n=1)
    script.write_text(
        script.read_text().replace("    trainer.n_gpus", "    worker.rollout.n=16 \\\n    trainer.n_gpus")
    )
    assert "GL002" not in {f.rule for f in lint_file(script, "easyr1").findings}


def test_same_script_as_text_has_unknowns_not_defaults(tmp_path: Path) -> None:
    text = _examples_tree(tmp_path).read_text()
    res = lint_text(text, "auto")  # as the API or stdin sends it: the base is never opened
    assert res.format == "easyr1" and not res.invalid and not res.blocking
    assert all(f.severity == "info" for f in res.findings)
    gl002 = next(f for f in res.findings if f.rule == "GL002")
    assert "not checked" in gl002.message and "`examples/config.yaml` (named on line 5)" in gl002.message
    assert "which is not read" in gl002.message
    assert not any("refuses to train" in n for n in res.notes)


def test_missing_base_config_on_disk_is_unknown(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("python3 -m verl.trainer.main config=examples/nowhere.yaml trainer.n_gpus_per_node=8\n")
    res = lint_file(script, "easyr1")
    assert not res.invalid and not res.blocking
    assert any("which was not found next to the script" in f.message for f in res.findings)


def test_base_config_from_a_shell_variable_is_unknown() -> None:
    res = lint_text("python3 -m verl.trainer.main config=$CONFIG worker.rollout.n=8\n", "easyr1")
    assert not res.invalid and not res.blocking


# --- KL: in the reward, in the loss, or disabled


def test_kl_in_reward_by_default_is_z_scored_with_the_score() -> None:
    # AlgorithmConfig: use_kl_loss false, kl_coef 1e-3 → apply_kl_penalty puts KL into the rewards before GRPO
    assert rules("python3 -m verl.trainer.main worker.rollout.n=8\n") == {"GL018": "info"}
    assert (
        rules(
            "python3 -m verl.trainer.main worker.rollout.n=8 algorithm.use_kl_loss=true "
            "algorithm.kl_penalty=low_var_kl\n"
        )
        == {}
    )
    # disable_kl drops the reference model and every KL term
    assert rules("python3 -m verl.trainer.main worker.rollout.n=8 algorithm.disable_kl=true\n") == {}


def test_kl_coef_is_dead_when_kl_is_disabled_in_the_same_file() -> None:
    text = (
        "python3 -m verl.trainer.main worker.rollout.n=8 algorithm.disable_kl=true algorithm.kl_coef=0.05\n"
    )
    assert rules(text) == {"GL019": "info"}


def test_k1_in_the_loss_is_flagged_k3_is_not() -> None:
    base = "python3 -m verl.trainer.main worker.rollout.n=8 algorithm.use_kl_loss=true"
    assert rules(base + "\n") == {"GL010": "warning"}
    assert rules(base + " algorithm.kl_penalty=mse\n") == {}


# --- policy losses and batches


def test_cispo_bounds_are_one_minus_low_and_one_plus_high() -> None:
    base = "python3 -m verl.trainer.main worker.rollout.n=8 algorithm.disable_kl=true worker.actor.loss_type=cispo"
    assert rules(base + " worker.actor.clip_ratio_low=1.0 worker.actor.clip_ratio_high=4.0\n") == {}
    assert rules(base + "\n") == {"GL026": "warning"}  # defaults 0.2 / 0.3: [0.8, 1.3]
    # EasyR1's own cispo example writes clip_ratio_low=0: a floor of 1, not no floor (core_algos.py clamps the log
    # ratio to [log(1 - low), log(1 + high)])
    floor = lint_text(base + " worker.actor.clip_ratio_low=0 worker.actor.clip_ratio_high=4\n", "easyr1")
    [gl026] = [f for f in floor.findings if f.rule == "GL026"]
    assert gl026.severity == "warning" and "[1, 5]" in gl026.message and "floor of 1" in gl026.message


def test_gspo_as_published_is_silent() -> None:
    text = (
        "python3 -m verl.trainer.main worker.rollout.n=8 algorithm.disable_kl=true worker.actor.loss_type=gspo_token "
        "worker.actor.loss_avg_mode=seq worker.actor.clip_ratio_low=3e-4 worker.actor.clip_ratio_high=4e-4\n"
    )
    assert rules(text) == {}


def test_updates_per_rollout_count_prompts_on_both_sides() -> None:
    base = "python3 -m verl.trainer.main worker.rollout.n=16 algorithm.disable_kl=true data.rollout_batch_size=512"
    res = lint_text(base + " worker.actor.global_batch_size=32\n", "easyr1")
    f = next(f for f in res.findings if f.rule == "GL035")
    assert "16 optimizer steps" in f.message and "worker.actor.global_batch_size 32" in f.message
    # one step per rollout: the written asymmetric clip cannot bind
    one = base + " worker.actor.global_batch_size=512 worker.actor.clip_ratio_high=0.28\n"
    assert rules(one) == {"GL030": "info"}


def test_online_filtering_and_reward_function_are_read() -> None:
    text = (
        "algorithm:\n  adv_estimator: grpo\n  disable_kl: true\n  online_filtering: true\n"
        "worker:\n  rollout:\n    n: 3\n  reward:\n    reward_function: ./r.py:compute_score\n"
    )
    # the score comes from a user function: pass/fail or not is unknown, so GL014 stays silent
    assert rules(text) == {}


def test_docs_page_example_fires_and_its_fix_is_clean() -> None:
    page = (ROOT / "docs" / "frameworks" / "easyr1.md").read_text()
    section = page.split("## Example that fires, and its fix", 1)[1]
    blocks = [b.split("\n", 1)[1] for b in section.split("```")[1::2]]
    firing, fixed = blocks[0], blocks[1]
    rule = firing.split("fires ", 1)[1][:5]
    assert rule in {f.rule for f in lint_text(firing, "easyr1").findings}
    res = lint_text(fixed, "easyr1")
    assert not res.invalid and not [f for f in res.findings if f.severity in ("error", "warning")]
    assert lint_text(firing, "auto").format == "easyr1"


def test_one_line_command_with_a_mapping_value_is_a_command_not_yaml() -> None:
    # `'{"n": 4}'` makes the line parse as a YAML mapping; it is still the trainer's command line
    text = (
        "python3 -m verl.trainer.main worker.rollout.n=8 algorithm.disable_kl=true "
        'worker.rollout.val_override_config=\'{"n": 4, "temperature": 0}\'\n'
    )
    res = lint_text(text, "auto")
    assert res.format == "easyr1" and {f.rule: f.severity for f in res.findings} == {"GL024": "info"}


def test_val_override_mapping_merges_into_the_base(tmp_path: Path) -> None:
    # the base sets val temperature 0 and n 1; the command line's mapping sets only n: the temperature stays 0
    script = _examples_tree(tmp_path)
    base = tmp_path / "examples" / "config.yaml"
    base.write_text(base.read_text() + "    val_override_config:\n      temperature: 0\n      n: 1\n")
    script.write_text(
        script.read_text().replace(
            "    trainer.n_gpus", "    worker.rollout.val_override_config='{\"n\":4}' \\\n    trainer.n_gpus"
        )
    )
    res = lint_file(script, "easyr1")
    f = next(f for f in res.findings if f.rule == "GL024")
    assert f.severity == "info" and "samples 4 per prompt" in f.message


def test_the_early_2025_layout_keeps_its_kl_loss_on_the_actor() -> None:
    # Seg-Zero/VisionReasoner vendored EasyR1 as of early 2025: the actor held use_kl_loss (default true),
    # kl_loss_coef and kl_loss_type; there was no algorithm.use_kl_loss or disable_kl to overwrite them
    early = (
        "algorithm:\n  adv_estimator: grpo\n  kl_coef: 0.0\n"
        "worker:\n  actor:\n    use_kl_loss: true\n    kl_loss_coef: 5.0e-3\n    kl_loss_type: {kind}\n"
        "  rollout:\n    n: 8\n"
    )
    res = lint_text(early.format(kind="low_var_kl"), "easyr1")
    assert res.findings == [] and any("early-2025 layout" in n for n in res.notes), res.notes
    k1 = {f.rule: (f.severity, f.line) for f in lint_text(early.format(kind="kl"), "easyr1").findings}
    assert k1["GL010"] == ("warning", 8)  # a k1 KL loss, read from the actor's own kl_loss_type
