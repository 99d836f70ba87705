"""`grpolab ablate double-norm`: the arms' configs, their lint status and the report (no training here)."""

from __future__ import annotations

import argparse
import json

import pytest

from grpolab.commands import ablate
from training.config import RunConfig
from training.config_io import validate_raw
from training.lint import lint_loaded

ENV = "grpolab:GuessNumber-v0-n8"


def loaded(arm, transitions=200):
    return ablate.arm_loaded(arm, 3, 200, ENV, transitions)


def test_fixed_arm_is_the_shipped_pipeline():
    cfg = loaded("fixed").config
    shipped = RunConfig()
    assert cfg.rollout.subsample.unit == "none" and cfg.rollout.subsample.size is None
    assert cfg.algorithm.norm_return is False
    assert cfg.lint.allow == []
    # all 16 groups of the step: batch and group size as shipped, nothing dropped
    assert cfg.rollout.batch_size // cfg.algorithm.group_size == 16
    assert cfg.rollout == shipped.rollout and cfg.algorithm == shipped.algorithm
    assert cfg.optim.lr_schedule == shipped.optim.lr_schedule == "linear"


def test_double_arm_subsamples_transitions_then_whitens():
    cfg = loaded("double", transitions=123).config
    assert cfg.rollout.subsample.unit == "transitions" and cfg.rollout.subsample.size == 123
    assert cfg.algorithm.norm_return is True
    assert cfg.allowed_rules() == {"GL001", "GL006"}


def test_whiten_arm_whitens_everything_without_subsample():
    cfg = loaded("whiten").config
    assert cfg.rollout.subsample.unit == "none"
    assert cfg.algorithm.norm_return is True
    assert cfg.allowed_rules() == {"GL001"}
    assert all(len(a.reason) > 20 for a in cfg.lint.allow)


def test_arms_differ_only_in_what_defines_them():
    def rest(arm):
        d = loaded(arm).config.model_dump()
        d["rollout"].pop("subsample")
        d["algorithm"].pop("norm_return")
        d.pop("lint")
        return d

    assert rest("fixed") == rest("double") == rest("whiten")
    assert rest("fixed")["run"]["seed"] == 3 and rest("fixed")["run"]["steps"] == 200


@pytest.mark.parametrize("arm", ablate.ARMS)
def test_every_arm_passes_lint(arm):
    result = lint_loaded(loaded(arm))
    assert not result.invalid
    assert result.blocking == []
    errors = {f.rule for f in result.findings if f.severity == "error"}
    assert errors == loaded(arm).config.allowed_rules()  # exactly the acknowledged rules fire, no more


@pytest.mark.parametrize("arm", ["double", "whiten"])
def test_the_allow_is_what_lets_double_and_whiten_launch(arm):
    raw = ablate.arm_raw(arm, 0, 200, ENV, 200)
    raw.pop("lint")
    blocking = {f.rule for f in lint_loaded(validate_raw(raw)).blocking}
    assert "GL001" in blocking


def test_arm_of_recognises_stored_configs():
    for arm in ablate.ARMS:
        assert ablate.arm_of(json.loads(loaded(arm).config.model_dump_json())) == arm
    old_fixed = ablate.arm_raw("fixed", 0, 200, ENV, 200)
    old_fixed["rollout"] = {"subsample": {"unit": "groups", "size": 8}}  # the previous design's fixed arm
    assert ablate.arm_of(validate_raw(old_fixed).config.model_dump()) is None


def test_arms_option():
    assert ablate._arms("double,fixed") == ("fixed", "double")
    assert ablate._arms("whiten") == ("whiten",)
    with pytest.raises(argparse.ArgumentTypeError):
        ablate._arms("fixed,bogus")
    p = argparse.ArgumentParser()
    ablate.add_arguments(p)
    assert p.parse_args(["double-norm"]).arms == ablate.ARMS


def test_diagnostics_from_metrics_rows():
    rows = [
        {
            "adv/mean": 0.0,
            "adv/std": 1.0,
            "diag/flat_frac": 0.5,
            "diag/flat_nonzero_frac": 1.0,
            "diag/flat_adv_mean": 0.4,
            "diag/len_adv_corr": -0.2,
            "batch/transitions": 200.0,
            "grad_norm": 2.0,
        },
        {
            "adv/mean": 0.3,
            "adv/std": 0.4,
            "diag/flat_frac": 0.0,
            "diag/flat_nonzero_frac": 0.0,
            "diag/flat_adv_mean": 0.0,
            "diag/len_adv_corr": 0.0,
            "batch/transitions": 300.0,
            "grad_norm": 0.5,
        },
    ]
    d = ablate.diagnostics(rows)
    assert d["adv_rms"] == pytest.approx((1.0 + 0.5) / 2)  # √(0.3² + 0.4²) = 0.5
    assert d["flat_frac"] == pytest.approx(0.25)
    # conditional values average only the step that had all-fail-group transitions
    assert d["flat_nonzero"] == pytest.approx(1.0) and d["flat_adv"] == pytest.approx(0.4)
    assert d["clipped"] == pytest.approx(0.5) and d["grad_norm"] == pytest.approx(1.25)
    assert d["transitions"] == pytest.approx(250.0)
    assert ablate.diagnostics([])["adv_rms"] is None


def _fake_run(d, cfg, success, eval_success, flat_adv):
    d.mkdir(parents=True)
    (d / "config.json").write_text(cfg.model_dump_json())
    rows = [
        {
            "step": i + 1,
            "rollout/success_rate": success,
            "adv/mean": 0.0,
            "adv/std": 0.5,
            "diag/flat_frac": 0.2,
            "diag/flat_nonzero_frac": 1.0 if flat_adv else 0.0,
            "diag/flat_adv_mean": flat_adv,
            "diag/len_adv_corr": -0.3,
            "batch/transitions": 250.0,
            "grad_norm": 0.8,
        }
        for i in range(30)
    ]
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "summary.json").write_text(json.dumps({"eval/success_rate": eval_success, "env": ENV, "steps": 30}))


def test_report_from_runs_skips_other_designs_and_keeps_the_analysis(tmp_path, capsys):
    runs, docs = tmp_path / "runs", tmp_path / "docs"
    _fake_run(runs / "fixed-seed0", loaded("fixed").config, 0.9, 0.95, 0.0)
    _fake_run(runs / "double-seed0", loaded("double").config, 0.5, 0.61, 0.25)
    old = validate_raw({"rollout": {"subsample": {"unit": "groups", "size": 8}}}).config
    _fake_run(runs / "fixed-seed1", old, 0.1, 0.01, 0.0)  # previous design: must not be counted
    docs.mkdir()
    (docs / "ablation.md").write_text("old\n## What these runs show (by hand)\nkeep me\n")
    args = argparse.Namespace(seeds=1, steps=30, arms=("fixed", "double"), env=ENV, transitions=200)
    md = ablate.write_report(runs, docs, args).read_text()
    assert "skipping" in capsys.readouterr().err
    assert "| fixed | 1 | 0.950 ± 0.000 | 0.900 ± 0.000 | 10 ± 0 | 1/1 | 10 ± 0 | 1/1 |" in md
    assert "| double | 1 | 0.610 ± 0.000 | 0.500 ± 0.000 | – | 0/1 | – | 0/1 |" in md
    assert "| whiten |" not in md
    assert "| double | 250 | 0.200 | 1.000 | +0.250 | -0.300 | 0.500 |" in md
    assert md.endswith("## What these runs show (by hand)\nkeep me\n") and "old\n" not in md
    assert (docs / "ablation-double-norm.png").stat().st_size > 1000
