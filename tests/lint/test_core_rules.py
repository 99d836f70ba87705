"""GL001–GL008: each rule fires on its trigger and stays silent on the nearest config that must not fire it."""

from __future__ import annotations

import pytest

from training.lint import lint_text


def rules_of(text: str) -> dict[str, tuple[str, int | None]]:
    res = lint_text(text, "grpolab")
    assert not res.invalid, [f.message for f in res.findings]
    return {f.rule: (f.severity, f.line) for f in res.findings}


def test_default_config_is_clean() -> None:
    assert rules_of("") == {}


@pytest.mark.parametrize("estimator", ["grpo", "drgrpo", "rloo", "reinforce_pp_baseline"])
def test_gl001_fires_for_normalizing_estimators(estimator: str) -> None:
    text = f"algorithm:\n  estimator: {estimator}\n  norm_return: true\n"
    assert rules_of(text)["GL001"] == ("error", 3)


@pytest.mark.parametrize("estimator", ["none", "ep_level"])
def test_gl001_silent_when_whitening_is_the_only_baseline(estimator: str) -> None:
    assert "GL001" not in rules_of(f"algorithm:\n  estimator: {estimator}\n  norm_return: true\n")


def test_gl001_silent_for_reinforce_pp_baseline_alone() -> None:
    assert "GL001" not in rules_of("algorithm:\n  estimator: reinforce_pp_baseline\n  norm_return: false\n")


def test_gl001_message_has_worked_example_for_this_g() -> None:
    res = lint_text(
        "algorithm:\n  group_size: 4\n  norm_return: true\nrollout:\n  batch_size: 32\n", "grpolab"
    )
    msg = next(f.message for f in res.findings if f.rule == "GL001")
    assert "G=4" in msg and "8 groups" in msg and "+0.000" in msg
    # the after-value is nonzero: the all-fail group's zero advantage turned nonzero
    after = float(msg.split("after the group step and ")[1].split(" ")[0])
    assert abs(after) > 0.05


def test_gl001_drgrpo_points_to_reinforce_pp_baseline() -> None:
    res = lint_text("algorithm:\n  estimator: drgrpo\n  norm_return: true\n", "grpolab")
    assert "reinforce_pp_baseline" in next(f.message for f in res.findings if f.rule == "GL001")


def test_gl001_allowed_with_reason_is_not_blocking() -> None:
    text = "algorithm:\n  norm_return: true\nlint:\n  allow:\n    - rule: GL001\n      reason: ablation run\n"
    res = lint_text(text, "grpolab")
    f = next(f for f in res.findings if f.rule == "GL001")
    assert f.allowed and f.allow_reason == "ablation run"
    assert res.blocking == []


def test_allow_without_reason_is_invalid() -> None:
    res = lint_text("lint:\n  allow:\n    - rule: GL001\n", "grpolab")
    assert res.invalid
    assert any("reason" in f.message for f in res.findings)


def test_gl002_group_too_small() -> None:
    assert rules_of("algorithm:\n  group_size: 1\nrollout:\n  batch_size: 16\n")["GL002"] == ("error", 2)
    assert "GL002" not in rules_of("algorithm:\n  group_size: 2\nrollout:\n  batch_size: 16\n")
    # not group-relative: a group of one is fine
    assert "GL002" not in rules_of(
        "algorithm:\n  estimator: ep_level\n  group_size: 1\nrollout:\n  batch_size: 16\n"
    )


def test_gl003_greedy_group() -> None:
    assert rules_of("rollout:\n  temperature: 0\n")["GL003"] == ("error", 2)
    assert rules_of("rollout:\n  greedy: true\n")["GL003"] == ("error", 2)
    assert "GL003" not in rules_of("rollout:\n  temperature: 0.7\n")
    assert "GL003" not in rules_of("algorithm:\n  estimator: none\nrollout:\n  temperature: 0\n")


def test_gl004_half_drgrpo() -> None:
    assert rules_of("algorithm:\n  estimator: drgrpo\n  loss_agg: seq_mean_token_mean\n")["GL004"] == (
        "warning",
        3,
    )
    assert (
        rules_of("algorithm:\n  estimator: grpo\n  loss_agg: seq_mean_token_sum\n")["GL004"][0] == "warning"
    )
    assert "GL004" not in rules_of("algorithm:\n  estimator: drgrpo\n  loss_agg: seq_mean_token_sum\n")
    assert "GL004" not in rules_of("algorithm:\n  estimator: drgrpo\n  loss_agg: token_mean\n")


def test_gl005_gamma_ignored() -> None:
    res = lint_text("algorithm:\n  estimator: rloo\n  gamma: 0.9\n", "grpolab")
    f = next(f for f in res.findings if f.rule == "GL005")
    assert f.severity == "warning" and f.line == 3 and "rloo" in f.message and "0.9" in f.message
    assert "GL005" not in rules_of("algorithm:\n  estimator: none\n  gamma: 0.9\n")
    assert "GL005" not in rules_of("algorithm:\n  estimator: grpo\n  gamma: 1.0\n")


def test_gl006_group_split() -> None:
    found = rules_of("algorithm:\n  group_size: 8\nrollout:\n  batch_size: 100\n")
    assert found["GL006"] == ("error", 4)
    assert "GL006" not in rules_of("algorithm:\n  group_size: 8\nrollout:\n  batch_size: 96\n")
    sub = "rollout:\n  subsample:\n    unit: transitions\n    size: 64\n"
    assert rules_of(sub)["GL006"][0] == "error"
    assert "GL006" not in rules_of("rollout:\n  subsample:\n    unit: groups\n    size: 8\n")


def test_gl006_default_batch_size_says_default_triggered() -> None:
    res = lint_text("algorithm:\n  group_size: 7\n", "grpolab")
    f = next(f for f in res.findings if f.rule == "GL006")
    assert f.from_default and "default" in f.message and "128" in f.message


def test_gl007_kl_without_reference() -> None:
    assert rules_of("algorithm:\n  kl_coef: 0.1\n  reference: none\n")["GL007"][0] == "warning"
    assert "GL007" not in rules_of("algorithm:\n  kl_coef: 0.1\n  reference: initial\n")
    both = rules_of("algorithm:\n  kl_coef: 0.1\n  kl_reward_coef: 0.05\n")
    assert both["GL007"][0] == "warning"
    assert "GL007" not in rules_of("algorithm:\n  kl_coef: 0\n  reference: none\n")


def test_gl008_std_eps() -> None:
    assert rules_of("algorithm:\n  std_eps: 0\n")["GL008"] == ("error", 2)
    assert rules_of("algorithm:\n  std_eps: -1.0e-9\n")["GL008"] == ("error", 2)
    assert "GL008" not in rules_of("algorithm:\n  std_eps: 1.0e-9\n")
    assert "GL008" not in rules_of("algorithm:\n  estimator: drgrpo\n  std_eps: 0\n")


def test_a_config_sent_as_an_object_is_not_read_as_all_defaults() -> None:
    # POST /runs with `config` (an object) has no source text: keys it spells out are still not defaults
    from training.config_io import validate_raw
    from training.lint import lint_loaded

    given = lint_loaded(
        validate_raw({"algorithm": {"estimator": "grpo", "norm_return": True}}, None, "<config>")
    )
    gl001 = [f for f in given.findings if f.rule == "GL001"]
    assert len(gl001) == 1 and gl001[0].from_default is False and gl001[0].severity == "error"
