"""gem (train_oat_grpo.py command lines): realistic configs under tests/lint/foreign/gem/, each with the exact findings it must produce
(rule, severity, line), plus the gem-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "gem"


def found(name: str, fmt: str = "gem") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "gem")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    "drgrpo_half.sh": {("GL004", "warning", 5)},
    "ep_level.sh": {("GL021", "warning", 2)},
    "grpo_default_norm_return.sh": {("GL001", "error", 5), ("GL004", "warning", 5), ("GL006", "error", 8)},
    "grpo_fixed.sh": set(),
    "rebn.sh": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_gem(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "gem" and res.notes == ["format detected: gem"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_gem_default_norm_return_triggers_gl001_and_says_so() -> None:
    res = lint_file(DIR / "grpo_default_norm_return.sh", "gem")
    f = next(f for f in res.findings if f.rule == "GL001")
    assert f.severity == "error" and f.from_default
    assert "triggered by a default: `--norm_return` not set" in f.message
    assert (f.line, f.column) == (5, 5)  # the --critic_type2 the user wrote


def test_explicit_norm_return_is_not_a_default() -> None:
    res = lint_text("python train_oat_grpo.py --critic_type2 grpo --norm_return --num_samples 8\n", "gem")
    f = next(f for f in res.findings if f.rule == "GL001")
    assert not f.from_default and "triggered by a default" not in f.message and f.column == 46


def test_rebn_is_silent_on_gl001_gl005_gl025() -> None:
    rules = {r for r, _, _ in found("rebn.sh")}
    assert not rules & {"GL001", "GL005", "GL025", "GL006"}


def test_drgrpo_with_norm_return_points_to_reinforce_pp_baseline() -> None:
    m = messages("python train_oat_grpo.py --critic_type2 drgrpo --num_samples 8\n")
    assert "REINFORCE++-baseline" in m["GL001"]


def test_single_turn_env_has_no_subsample_split() -> None:
    m = messages("python train_oat_grpo.py --env_id math:Math12K --critic_type2 rloo --num_samples 8\n")
    assert "GL001" in m and "GL006" not in m


def test_gamma_ignored_by_episode_level_estimators() -> None:
    m = messages(
        "python train_oat_grpo.py --critic_type2 rloo --no-norm_return --num_samples 8 --gamma 0.9\n"
    )
    assert "0.9" in m["GL005"]


def test_unknown_estimator_is_gl000_naming_the_flag() -> None:
    res = lint_text("python train_oat_grpo.py \\\n  --critic_type2 ppo\n", "gem")
    f = res.findings[0]
    assert res.invalid and f.rule == "GL000" and f.line == 2 and "--critic_type2" in f.message


def test_multi_turn_subsample_without_a_later_statistic_is_info() -> None:
    text = "python train_oat_grpo.py --env_id game:Minesweeper-v0 --critic_type2 grpo --critic_type grpo \\\n  --no-norm_return --num_samples 8 --rollout_batch_size_per_device 24\n"
    res = lint_text(text, "gem")
    assert [(f.rule, f.severity) for f in res.findings] == [("GL006", "info")]
    assert "24 random transitions" in res.findings[0].message
