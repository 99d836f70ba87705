"""AReaL (experiment YAML): realistic configs under tests/lint/foreign/areal/, each with the exact findings it must produce
(rule, severity, line), plus the areal-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "areal"


def found(name: str, fmt: str = "areal") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "areal")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    "group_size_default.yaml": {
        ("GL007", "error", 7),
        ("GL012", "error", 5),
        ("GL017", "warning", 6),
        ("GL018", "info", 9),
    },
    # reward_scaling 10 / reward_bias -0.5 are divided/subtracted out by the group z-score (GL019 info)
    "gsm8k_grpo_twice.yaml": {("GL001", "error", 27), ("GL019", "info", 17), ("GL019", "info", 18)},
    "lite_ppo.yaml": set(),
    "no_baseline.yaml": {("GL021", "warning", 9), ("GL025", "warning", 8)},
    "reinforce_pp_baseline.yaml": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_areal(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "areal" and res.notes == ["format detected: areal"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_reinforce_pp_baseline_and_lite_ppo_are_silent() -> None:
    for name in ("reinforce_pp_baseline.yaml", "lite_ppo.yaml"):
        assert not {r for r, _, _ in found(name)} & {"GL001", "GL004", "GL009"}, name


def test_interpolated_group_size_follows_n_samples() -> None:
    base = "gconfig:\n  n_samples: 8\nactor:\n  kl_ctl: 0\n  reward_norm:\n    mean_level: group\n    std_level: group\n"
    assert messages(base + "    group_size: ${gconfig.n_samples}\n") == {}
    m = messages(base + "    group_size: 4\n")
    assert "straddle" in m["GL012"] and " 4 " in m["GL012"] and " 8 " in m["GL012"]


def test_nonpositive_eps_is_gl008() -> None:
    text = (
        "gconfig:\n  n_samples: 4\nactor:\n  kl_ctl: 0\n  reward_norm:\n    mean_level: group\n"
        "    std_level: group\n    group_size: 4\n    eps: 0.0\n"
    )
    res = lint_text(text, "areal")
    assert ("GL008", "error", 9) in {(f.rule, f.severity, f.line) for f in res.findings}


def test_kl_without_ref_section_is_reported_with_its_default() -> None:
    res = lint_file(DIR / "group_size_default.yaml", "areal")
    f = next(f for f in res.findings if f.rule == "GL007")
    assert f.from_default and "0.1" in f.message and f.severity == "error"
