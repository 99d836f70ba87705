"""SkyRL (YAML and main_base overrides): realistic configs under tests/lint/foreign/skyrl/, each with the exact findings it must produce
(rule, severity, line), plus the skyrl-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "skyrl"


def found(name: str, fmt: str = "skyrl") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "skyrl")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    "drgrpo_gsm8k.sh": set(),
    "drgrpo_sequence_mean.sh": {("GL004", "warning", 6)},
    "grpo_batch_normalize.yaml": {("GL001", "error", 8), ("GL017", "warning", 11)},
    "grpo_default.yaml": set(),
    "reinforce_pp.yaml": {("GL019", "info", 10), ("GL020", "info", 5), ("GL025", "warning", 6)},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_skyrl(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "skyrl" and res.notes == ["format detected: skyrl"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_dr_grpo_done_fully_is_silent() -> None:
    assert not {r for r, _, _ in found("drgrpo_gsm8k.sh")} & {"GL001", "GL004", "GL009"}


def test_dr_grpo_without_max_seq_len_is_info() -> None:
    text = (
        "trainer:\n  algorithm:\n    grpo_norm_by_std: false\n    loss_reduction: seq_mean_token_sum_norm\n"
        "generator:\n  n_samples_per_prompt: 8\n"
    )
    res = lint_text(text, "skyrl")
    assert [(f.rule, f.severity) for f in res.findings] == [("GL004", "info")]


def test_both_kl_switches_and_greedy_eval_group() -> None:
    text = (
        "trainer:\n  algorithm:\n    use_kl_in_reward: true\n"
        "generator:\n  n_samples_per_prompt: 8\n  eval_n_samples_per_prompt: 4\n"
        "  eval_sampling_params:\n    temperature: 0.0\n"
    )
    m = messages(text)
    assert "applied twice" in m["GL007"] and "pass@4" in m["GL024"] and "GL018" in m


def test_message_points_at_the_batch_normalize_key() -> None:
    res = lint_file(DIR / "grpo_batch_normalize.yaml", "skyrl")
    f = next(f for f in res.findings if f.rule == "GL001")
    assert f.pointer == "/trainer/algorithm/advantage_batch_normalize" and f.column == 5
