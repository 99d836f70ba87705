"""verl (Hydra YAML and main_ppo overrides): realistic configs under tests/lint/foreign/verl/, each with the exact findings it must produce
(rule, severity, line), plus the verl-specific behaviours the adapter encodes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from training.lint import lint_file, lint_text
from training.lint.concepts import set_requested_version

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


# --- the research repositories' own verl (tests/lint/corpus: TinyZero, Logic-RL, Search-R1, rllm, simpleRL-reason)

_MAIN = "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo"


@contextmanager
def framework_version(version: str | None) -> Iterator[None]:
    """As `grpolab lint --framework-version VERSION` sets it."""
    set_requested_version(version)
    try:
        yield
    finally:
        set_requested_version(None)


def rules(text: str, version: str | None = None) -> dict[str, str]:
    with framework_version(version):
        res = lint_text(text, "verl")
    return {f.rule: f.severity for f in res.findings}


def test_search_r1_groups_are_n_agent_copies_of_each_prompt() -> None:
    # Search-R1's fork repeats each prompt rollout.n_agent times; with do_search (its default) the copies share the
    # prompt's uid, so n_agent=5 with the default n=1 is a group of 5, not 1 (the false GL002 error of its scripts)
    kl_loss = "actor_rollout_ref.actor.use_kl_loss=true"  # as its GRPO scripts set it
    assert rules(f"{_MAIN} {kl_loss} actor_rollout_ref.rollout.n_agent=5") == {}
    # the fork predates use_kl_in_reward: without the KL loss its reward carries the KL, z-scored with the score
    assert rules(f"{_MAIN} actor_rollout_ref.rollout.n_agent=5") == {"GL018": "info"}
    res = lint_text(f"{_MAIN} actor_rollout_ref.rollout.n_agent=5", "verl")
    assert any("Search-R1" in n and "n_agent × n" in n for n in res.notes), res.notes
    assert (
        rules(f"{_MAIN} actor_rollout_ref.rollout.n_agent=2 actor_rollout_ref.rollout.n=2")["GL014"] == "info"
    )
    # without search every copy gets its own uid: the group is rollout.n again
    assert rules(f"{_MAIN} actor_rollout_ref.rollout.n_agent=5 do_search=false")["GL002"] == "error"
    assert rules(f"{_MAIN} actor_rollout_ref.rollout.n=1")["GL002"] == "error"  # upstream verl: unchanged


def test_before_verl_0_4_the_reward_kl_runs_unless_the_kl_loss_does() -> None:
    ppo = "python3 -m verl.trainer.main_ppo algorithm.kl_ctrl.kl_coef=0.001"  # use_kl_loss false (default)
    assert rules(ppo)["GL019"] == "info"  # 0.4+: use_kl_in_reward is false, the coefficient is dead
    assert "GL019" not in rules(ppo, "0.3.0")  # ≤ 0.3: the reward KL runs, the coefficient is used
    both = f"{ppo} actor_rollout_ref.actor.use_kl_loss=true"
    res = lint_text(both, "verl")
    with_loss = {f.rule: f.message for f in res.findings}
    assert "use_kl_in_reward` is false" in with_loss["GL019"]
    with framework_version("0.3.0"):
        old = {f.rule: f.message for f in lint_text(both, "verl").findings}
    assert "before verl 0.4" in old["GL019"]
    assert "GL019" not in rules(f"{ppo} algorithm.use_kl_in_reward=true", "0.3.0")  # the key says it is newer


def test_a_script_without_the_entry_point_is_read_from_its_dotted_overrides_only() -> None:
    # an eval script: shell assignments and `[[ $# -gt 0 ]]` are no trainer's arguments, so nothing is linted
    evaluation = 'export NCCL_DEBUG=warn\nwhile [[ $# -gt 0 ]]; do shift; done\npython eval.py --n "$1"\n'
    res = lint_text(evaluation, "verl")
    assert [f.rule for f in res.findings] == ["GL000"]
    # a trainer run through a variable still is: its statement carries the dotted overrides
    entry = "ENTRY=${ENTRY:-verl.trainer.main_ppo}\nexport X=1\npython3 -m $ENTRY algorithm.adv_estimator=grpo actor_rollout_ref.rollout.n=1\n"
    assert rules(entry)["GL002"] == "error"


def test_prime_groups_are_its_n_samples_and_its_rloo_is_whitened() -> None:
    # PRIME's fork repeats each prompt data.n_samples times and computes RLOO over each block, then whitens the
    # returns over the batch (its compute_rloo_returns): rollout.n is not the group there
    prime = "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=rloo data.n_samples=4"
    res = lint_text(prime + " reward_model.rm_coef=5", "verl")
    assert res.findings == [] and any("PRIME" in n for n in res.notes), res.notes
    assert rules(prime)["GL014"] == "info"  # verifier only (rm_coef 0): a pass/fail reward in groups of 4
    assert (
        rules("python3 -m verl.trainer.main_ppo algorithm.adv_estimator=rloo data.n_samples=1")["GL002"]
        == "error"
    )


def _vendored_tree(
    tmp_path: Path, version: str, call: str = "batch, m = apply_kl_penalty(batch, kl_ctrl=c)"
) -> Path:
    """A research repository with its own copy of verl beside its scripts (TinyZero, code-r1, rllm …)."""
    (tmp_path / "verl" / "version").mkdir(parents=True)
    (tmp_path / "verl" / "version" / "version").write_text(version + "\n")
    (tmp_path / "verl" / "trainer" / "ppo").mkdir(parents=True)
    (tmp_path / "verl" / "trainer" / "main_ppo.py").write_text(
        "role_worker_mapping = {\n    Role.RefPolicy: ray.remote(ActorRolloutRefWorker),\n}\n"
    )
    (tmp_path / "verl" / "trainer" / "ppo" / "ray_trainer.py").write_text(
        f"def apply_kl_penalty(data, kl_ctrl):\n    pass\n\nif not use_kl_loss:\n    {call}\n"
    )
    (tmp_path / "examples").mkdir()
    script = tmp_path / "examples" / "run_ppo.sh"
    script.write_text(
        "python3 -m verl.trainer.main_ppo algorithm.adv_estimator=gae algorithm.kl_ctrl.kl_coef=0.001\n"
    )
    return script


def test_the_repositorys_own_copy_of_verl_sets_the_version(tmp_path: Path) -> None:
    script = _vendored_tree(tmp_path, "0.1")
    res = lint_file(script)
    assert "GL019" not in {f.rule for f in res.findings}  # verl 0.1: the reward KL runs (use_kl_loss is off)
    assert any("verl 0.1" in n and "own copy" in n for n in res.notes), res.notes
    with framework_version("0.9.1"):  # asked explicitly: that wins
        assert "GL019" in {f.rule for f in lint_file(script).findings}


def test_a_copy_that_never_applies_the_reward_kl_makes_its_coefficient_dead(tmp_path: Path) -> None:
    script = _vendored_tree(tmp_path, "0.1", call="# batch, m = apply_kl_penalty(batch, kl_ctrl=c)")  # rllm
    [gl019] = [f for f in lint_file(script).findings if f.rule == "GL019"]
    assert "own copy of verl never applies the reward's KL penalty" in gl019.message


def test_a_current_copy_of_verl_changes_nothing(tmp_path: Path) -> None:
    script = _vendored_tree(tmp_path, "0.10.0.dev")  # verl's own repository
    res = lint_file(script)
    assert "use_kl_in_reward` is false" in next(f.message for f in res.findings if f.rule == "GL019")
    assert not any("own copy" in n for n in res.notes)


def test_a_copy_with_the_kl_switch_is_read_as_0_4_whatever_its_version_file_says(tmp_path: Path) -> None:
    # RLHFlow/Minimal-RL: the version file says 0.2.0.dev, the code already reads use_kl_in_reward
    script = _vendored_tree(
        tmp_path, "0.2.0.dev", call="if self.config.algorithm.use_kl_in_reward: apply_kl_penalty(b)"
    )
    res = lint_file(script)
    assert "use_kl_in_reward` is false" in next(f.message for f in res.findings if f.rule == "GL019")
    assert any("already has `algorithm.use_kl_in_reward`" in n for n in res.notes), res.notes
