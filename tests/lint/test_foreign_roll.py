"""ROLL (RLVR and agentic pipeline YAML): realistic configs under tests/lint/foreign/roll/, each with the exact findings it must produce
(rule, severity, line), plus the roll-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "roll"


def found(name: str, fmt: str = "roll") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "roll")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    "agentic_grpo.yaml": set(),
    "rlvr_grpo_no_std.yaml": {("GL004", "info", 8), ("GL004", "warning", 8), ("GL009", "error", 7)},
    "rlvr_grpo_whiten.yaml": {
        ("GL001", "error", 11),
        ("GL015", "warning", 12),
        ("GL019", "info", 14),
        ("GL019", "info", 15),
        ("GL019", "info", 16),
    },
    "rlvr_reinforce_baseline.yaml": set(),
    "rlvr_token_whiten.yaml": {
        ("GL011", "error", 7),
        ("GL019", "info", 9),
        ("GL019", "info", None),
        ("GL025", "warning", 8),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_roll(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "roll" and res.notes == ["format detected: roll"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_reinforce_pp_baseline_is_silent_on_double_norm_family() -> None:
    assert not {r for r, _, _ in found("rlvr_reinforce_baseline.yaml")} & {"GL001", "GL004", "GL009", "GL018"}


def test_advantage_clip_bound_uses_this_group_size() -> None:
    m = messages("adv_estimator: grpo\nnum_return_sequences_in_group: 16\nadvantage_clip: 3.0\n")
    assert "3.75" in m["GL015"]  # (16 - 1) / sqrt(16)
    assert "GL015" not in messages(
        "adv_estimator: grpo\nnum_return_sequences_in_group: 4\nadvantage_clip: 3.0\n"
    )


def test_agentic_mean_only_under_grpo_is_not_overwritten() -> None:
    # the grpo forcing lives in the RLVR pipeline's reward_postprocess; the agentic pipeline honours `method`
    text = "adv_estimator: grpo\nreward_normalization:\n  grouping: traj_group_id\n  method: mean\ntrain_env_manager:\n  group_size: 8\n"
    res = lint_text(text, "roll")
    assert not {"GL001", "GL002", "GL009"} & {f.rule for f in res.findings}


def test_reference_loaded_for_nothing_is_info_from_a_default() -> None:
    res = lint_text("adv_estimator: grpo\nnum_return_sequences_in_group: 8\n", "roll")
    f = next(f for f in res.findings if f.rule == "GL019")
    assert f.severity == "info" and f.from_default and "0.2" in f.message


def test_pg_clip_range() -> None:
    m = messages(
        "adv_estimator: grpo\nnum_return_sequences_in_group: 8\ninit_kl_coef: 0\nuse_pg_clip_range: true\npg_clip_low: 0.2\npg_clip_high: 0.28\n"
    )
    assert m == {}
