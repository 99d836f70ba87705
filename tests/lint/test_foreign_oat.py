"""OAT (tyro command lines): realistic configs under tests/lint/foreign/oat/, each with the exact findings it must produce
(rule, severity, line), plus the oat-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "oat"


def found(name: str, fmt: str = "oat") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "oat")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    # batch sizes count prompts (each sampled num_samples times), so 16 per device never cuts a group of 6
    "drgrpo_dead_flags.sh": {("GL019", "info", 8), ("GL019", "info", 9)},
    "greedy.sh": {("GL003", "error", 1)},
    "grpo.sh": set(),
    "ppo_gae.sh": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_oat(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "oat" and res.notes == ["format detected: oat"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


def test_default_critic_is_drgrpo_with_its_constant_and_is_clean() -> None:
    assert (
        messages("python -m oat.experiment.run_math_rl --num_samples 8 --rollout_batch_size_per_device 16\n")
        == {}
    )


def test_dash_spelling_and_negation() -> None:
    m = messages("python -m oat.experiment.run_math_rl --critic-type ppo --whiten-adv --num-samples 4\n")
    assert "GL019" not in m  # whiten_adv is read on the PPO path
    m = messages("python -m oat.experiment.run_math_rl --critic_type grpo --no-whiten_adv --num_samples 4\n")
    assert "GL019" not in m


def test_single_sample_grpo_is_gl002() -> None:
    res = lint_text("python -m oat.experiment.run_math_rl --critic_type grpo --num_samples 1\n", "oat")
    assert [(f.rule, f.severity) for f in res.findings if f.rule == "GL002"] == [("GL002", "error")]


def test_kl_both_in_reward_and_loss() -> None:
    m = messages("python -m oat.experiment.run_math_rl --num_samples 8 --beta 0.05 --kl_penalty_coef 0.01\n")
    assert "applied twice" in m["GL007"]


def test_a_script_of_its_own_on_oats_ppo_learner_is_read_as_ppo() -> None:
    # understand-r1-zero (the Dr. GRPO paper's code) runs `python train_zero_math.py`, which subclasses PPOArgs and
    # sets algo = PPO: its --critic_type is read, not dismissed as dead under OAT main's default `--algo DPO`
    own = "python train_zero_math.py --critic_type grpo --num_samples 1 --beta 0\n"
    assert {f.rule: f.severity for f in lint_text(own, "oat").findings}["GL002"] == "error"
    clean = "python train_zero_math.py --critic_type drgrpo --num_samples 8 --beta 0\n"
    assert lint_text(clean, "oat").findings == []
    # OAT's own main keeps its DPO default, and an explicit --algo is honoured
    main = "python -m oat.experiment.main --critic_type grpo --num_samples 1\n"
    assert "GL002" not in {f.rule for f in lint_text(main, "oat").findings}
    dpo = "python my_dpo.py --algo DPO --critic_type grpo --num_samples 1\n"
    assert "GL002" not in {f.rule for f in lint_text(dpo, "oat").findings}


def test_a_scripts_own_critic_type_is_not_an_error() -> None:
    # VeriFree's verifree.py extends OAT's PPOArgs with `--critic_type rloo|naive`: its estimator lives in the script
    own = "python verifree.py --critic_type rloo --num_samples 8 --rollout_batch_size_per_device 2 --beta 0\n"
    res = lint_text(own, "oat")
    assert not res.invalid and res.findings == []  # per-device batches count prompts: whole groups, no GL006
    assert any("--critic_type rloo is this script's own" in n for n in res.notes), res.notes
    # OAT's own entry points know only ppo, grpo and drgrpo: there it stays an invalid value
    assert lint_text("python -m oat.experiment.run_ppo --critic_type rloo\n", "oat").invalid
