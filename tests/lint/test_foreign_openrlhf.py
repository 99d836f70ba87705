"""OpenRLHF (train_ppo_ray command lines, flat and dotted flags): realistic configs under tests/lint/foreign/openrlhf/, each with the exact findings it must produce
(rule, severity, line), plus the openrlhf-specific behaviours the adapter encodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.lint import lint_file, lint_text

DIR = Path(__file__).parent / "foreign" / "openrlhf"


def found(name: str, fmt: str = "openrlhf") -> set[tuple[str, str, int | None]]:
    res = lint_file(DIR / name, fmt)
    assert not res.invalid, [f.message for f in res.findings]
    return {(f.rule, f.severity, f.line) for f in res.findings}


def messages(text: str) -> dict[str, str]:
    res = lint_text(text, "openrlhf")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: f.message for f in res.findings}


EXPECTED: dict[str, set[tuple[str, str, int | None]]] = {
    # GL035: optimizer steps per rollout = rollout prompts × n / train batch (samples) × epochs
    "agent_rloo_single.sh": {
        ("GL002", "error", 8),
        ("GL005", "warning", 9),
        ("GL019", "info", 6),
        ("GL035", "info", 3),
    },
    "dr_grpo.sh": {("GL022", "info", 4), ("GL035", "info", 2)},
    "group_norm_no_std.sh": {("GL009", "error", 15)},
    "grpo_kl_default_k1.sh": {("GL010", "warning", 6), ("GL016", "warning", 8), ("GL035", "info", 3)},
    "reinforce_baseline.sh": set(),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_rule_severity_line(name: str) -> None:
    assert found(name) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auto_detects_openrlhf(name: str) -> None:
    res = lint_file(DIR / name, "auto")
    assert res.format == "openrlhf" and res.notes == ["format detected: openrlhf"]
    assert {(f.rule, f.severity, f.line) for f in res.findings} == EXPECTED[name]


def test_every_config_has_expectations_and_both_kinds_exist() -> None:
    assert sorted(p.name for p in DIR.iterdir()) == sorted(EXPECTED)
    assert any(any(sev == "error" for _, sev, _ in v) for v in EXPECTED.values())
    assert any(not any(sev in ("error", "warning") for _, sev, _ in v) for v in EXPECTED.values())


FLAT = (
    "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --n_samples_per_prompt 8 "
    "--init_kl_coef 0.01 --use_kl_loss --eps_clip_low_high 0.3 0.2 --gamma 0.95\n"
)
DOTTED = (
    "python3 -m openrlhf.cli.train_ppo_ray --algo.advantage.estimator group_norm "
    "--rollout.n_samples_per_prompt 8 --algo.kl.init_coef 0.01 --algo.kl.use_loss "
    "--actor.eps_clip_low_high 0.3 0.2 --algo.advantage.gamma 0.95\n"
)


def test_flat_and_dotted_spellings_mean_the_same() -> None:
    flat, dotted = lint_text(FLAT, "openrlhf"), lint_text(DOTTED, "openrlhf")
    assert [(f.rule, f.severity) for f in flat.findings] == [(f.rule, f.severity) for f in dotted.findings]
    assert {f.rule for f in flat.findings} == {"GL010", "GL016", "GL005", "GL035"}
    # a default is named in the spelling the script uses
    assert "`--kl_estimator` not set" in next(f.message for f in flat.findings if f.rule == "GL010")
    assert "`--algo.kl.estimator` not set" in next(f.message for f in dotted.findings if f.rule == "GL010")


def test_reinforce_baseline_is_silent_on_double_norm_family() -> None:
    rules = {r for r, _, _ in found("reinforce_baseline.sh")}
    assert not rules & {"GL001", "GL004", "GL009", "GL018"}


def test_no_std_norm_is_honoured_by_the_whitening_estimators() -> None:
    text = "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator reinforce_baseline --n_samples_per_prompt 4 --no_advantage_std_norm\n"
    assert "GL009" not in messages(text)
    rloo = messages(text.replace("reinforce_baseline", "rloo"))
    assert "no effect" in rloo["GL009"]


def test_ray_job_submit_arguments_keep_their_lines() -> None:
    res = lint_file(DIR / "group_norm_no_std.sh", "openrlhf")
    f = next(f for f in res.findings if f.rule == "GL009")
    assert (f.line, f.column) == (15, 4) and "--no_advantage_std_norm" in f.message


def test_default_kl_goes_into_the_reward_with_a_reference() -> None:
    # init_kl_coef defaults to 0.01: KL in the reward, reference loaded; with group_norm that is GL018 (info)
    m = messages(
        "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --n_samples_per_prompt 8\n"
    )
    # GL035: the defaults give 1024 prompts × 8 / 128 samples = 64 optimizer steps per rollout
    assert set(m) == {"GL018", "GL035"} and "0.01" in m["GL018"] and m["GL035"].startswith("64 ")


def test_local_reward_model_with_group_std_amplifies_noise_unless_filtered() -> None:
    text = "python3 -m openrlhf.cli.train_ppo_ray --advantage_estimator group_norm --n_samples_per_prompt 8 --reward_pretrain OpenRLHF/Llama-3-8b-rm --init_kl_coef 0\n"
    res = lint_text(text, "openrlhf")
    f = next(f for f in res.findings if f.rule == "GL013")
    assert f.column == 97 and "--reward_pretrain" in f.message
    assert "GL013" not in messages(text.replace("\n", " --dynamic_filtering\n"))


def test_the_single_process_train_ppo_of_older_releases_is_read() -> None:
    # R1-Searcher's OpenRLHF-RAG: `deepspeed --module openrlhf.cli.train_ppo` takes the same flags
    script = (
        "deepspeed --include localhost:0,1 --module openrlhf.cli.train_ppo --advantage_estimator group_norm "
        "--n_samples_per_prompt 1 --rollout_batch_size 16 --train_batch_size 16\n"
    )
    res = lint_text(script, "auto", "run.sh")
    assert res.format == "openrlhf"
    assert {f.rule: f.severity for f in res.findings}["GL002"] == "error"
