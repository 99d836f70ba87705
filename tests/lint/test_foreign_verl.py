"""verl (Hydra YAML and main_ppo overrides): realistic configs under tests/lint/foreign/verl/, each with the exact findings it must produce
(rule, severity, line), plus the verl-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "verl"


def found(name: str, fmt: str = "verl") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "verl")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    "dapo.sh": set(),
    "drgrpo.yaml": set(),
    "grpo_gsm8k.sh": set(),
    "grpo_single_sample.sh": {("GL002", "error", 5), ("GL019", "info", 7), ("GL021", "warning", 5)},
    "reinforce_pp_baseline.sh": set(),
    # async rollout (the default mode) never reads val_kwargs.do_sample: GL019 on it, GL024 from the temperature
    "reinforce_pp_discount.yaml": {("GL019", "info", 13), ("GL024", "info", 12), ("GL025", "warning", 4)},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_verl(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "verl" and res.notes == ["format detected: verl"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_reinforce_pp_baseline_and_dr_grpo_are_silent_on_the_double_norm_family() -> None:
    for name in ("reinforce_pp_baseline.sh", "drgrpo.yaml", "dapo.sh"):
        rules = {r for r, _, _ in found(name)}
        assert not rules & {"GL001", "GL004", "GL009", "GL018", "GL016", "GL007"}, name


def test_missing_rollout_n_is_reported_as_a_default() -> None:
    res = lint_file(DIR / "grpo_single_sample.sh", "verl")
    f = next(f for f in res.findings if f.rule == "GL002")
    assert f.from_default and "`actor_rollout_ref.rollout.n` not set" in f.message
    assert f.line == 5  # points at the estimator override the user wrote


def test_yaml_and_overrides_agree() -> None:
    yaml_text = "algorithm:\n  adv_estimator: rloo\n  norm_adv_by_std_in_grpo: false\nactor_rollout_ref:\n  rollout:\n    n: 8\n"
    script = (
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=rloo \\\n"
        "  algorithm.norm_adv_by_std_in_grpo=false actor_rollout_ref.rollout.n=8\n"
    )
    a, b = lint_text(yaml_text, "verl"), lint_text(script, "verl")
    assert [(f.rule, f.severity) for f in a.findings] == [(f.rule, f.severity) for f in b.findings]
    assert [(f.rule, f.severity, f.line) for f in b.findings] == [("GL009", "info", 2)]


def test_kl_in_reward_and_loss_is_applied_twice() -> None:
    text = (
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=8 \\\n"
        "  algorithm.use_kl_in_reward=true actor_rollout_ref.actor.use_kl_loss=true \\\n"
        "  actor_rollout_ref.actor.kl_loss_type=kl\n"
    )
    m = messages(text)
    assert "applied twice" in m["GL007"] and "k1" in m["GL010"] and "GL018" in m


def test_plus_and_tilde_overrides() -> None:
    text = (
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo +actor_rollout_ref.rollout.n=8 "
        "+algorithm.gamma=0.9 ~algorithm.gamma\n"
    )
    assert messages(text) == {}


def test_unreadable_script_is_gl000() -> None:
    res = lint_text("echo hello\n", "verl")
    assert res.invalid and "verl.trainer.main_ppo" in res.findings[0].message


def test_rule_based_reward_with_small_groups_and_reward_model_noise() -> None:
    small = "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 3\n"
    res = lint_text(small, "verl")
    assert [(f.rule, f.severity, f.line) for f in res.findings] == [("GL014", "warning", 5)]
    assert "25.0%" in res.findings[0].message
    assert [f.severity for f in lint_text(small.replace("n: 3", "n: 4"), "verl").findings] == ["info"]
    rm = "algorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  rollout:\n    n: 8\nreward_model:\n  enable: true\n"
    res = lint_text(rm, "verl")
    f = next(f for f in res.findings if f.rule == "GL013")
    assert (f.severity, f.line) == ("warning", 7) and "1e-06" in f.message and "fixed at 1e-6" in f.message
    # Dr. GRPO (no std) is the fix
    assert "GL013" not in messages(
        rm.replace("adv_estimator: grpo", "adv_estimator: grpo\n  norm_adv_by_std_in_grpo: false")
    )
