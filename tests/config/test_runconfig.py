"""RunConfig: defaults, fixed key paths, positions in errors, hostile input refused quickly and clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.config import RunConfig, json_schema
from training.config_io import ConfigError, load_file, load_text

ROOT = Path(__file__).resolve().parents[2]


def test_empty_file_is_the_tiny_demo() -> None:
    cfg = load_text("").config
    assert cfg.model.path == "builtin:tiny-char"
    assert cfg.algorithm.estimator == "grpo" and cfg.algorithm.group_size == 8
    assert cfg.algorithm.norm_return is False and cfg.algorithm.gamma == 1.0 and cfg.algorithm.std_eps == 1e-9
    assert cfg.rollout.batch_size % cfg.algorithm.group_size == 0


@pytest.mark.parametrize(
    "path",
    [
        "algorithm.estimator",
        "algorithm.group_size",
        "algorithm.gamma",
        "algorithm.norm_return",
        "algorithm.std_eps",
        "rollout.temperature",
        "rollout.top_p",
        "algorithm.loss_agg",
        "algorithm.kl_coef",
        "rollout.batch_size",
        "optim.micro_batch_size",
        "run.steps",
        "run.seed",
        "lint.allow",
    ],
)
def test_fixed_key_paths_exist_and_are_described(path: str) -> None:
    section, name = path.split(".")
    field = type(getattr(RunConfig(), section)).model_fields[name]
    assert field.description


def test_every_field_is_described() -> None:
    schema = json_schema()
    defs = schema["$defs"]
    models = {**defs, "RunConfig": schema}
    for name, model in models.items():
        for field, spec in model.get("properties", {}).items():
            ref = spec.get("$ref", "").rsplit("/", 1)[-1]
            described = spec.get("description") or (ref and defs[ref].get("description"))
            assert described, f"{name}.{field} has no description"


def test_estimator_values() -> None:
    for est in ("grpo", "drgrpo", "rloo", "ep_level", "none", "reinforce_pp_baseline"):
        assert load_text(f"algorithm:\n  estimator: {est}\n").config.algorithm.estimator == est
    with pytest.raises(ConfigError) as e:
        load_text("algorithm:\n  estimator: ppo\n")
    assert e.value.errors[0].field == "algorithm.estimator" and e.value.errors[0].line == 2


def test_json_loads_too() -> None:
    cfg = load_text(json.dumps({"algorithm": {"group_size": 4}, "rollout": {"batch_size": 64}})).config
    assert cfg.algorithm.group_size == 4


def test_unknown_key_named_with_suggestion_and_position() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("algorithm:\n  group_size: 8\n  norm_retrun: true\n")
    err = e.value.errors[0]
    assert (err.field, err.line, err.column) == ("algorithm.norm_retrun", 3, 3)
    assert "did you mean 'norm_return'" in err.message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nonfinite_numbers_refused(value: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_text(f"rollout:\n  temperature: {value}\n")
    assert e.value.errors[0].field == "rollout.temperature" and "finite" in e.value.errors[0].message


def test_nonfinite_in_free_form_kwargs_refused() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("env:\n  kwargs:\n    noise: .nan\n")
    assert e.value.errors[0].field == "env.kwargs.noise"


def test_alias_bomb_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(ConfigError) as e:
        load_text(bomb)
    assert "aliases" in e.value.errors[0].message and e.value.errors[0].line == 1


def test_ten_megabytes_refused_without_parsing() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("run:\n  seed: 1\n" + "#" * 10_000_000)
    assert "limit" in e.value.errors[0].message


def test_deep_nesting_refused() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("env:\n  kwargs: " + "[" * 1000 + "]" * 1000 + "\n")
    assert "nesting" in e.value.errors[0].message


def test_malformed_yaml_has_position() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("algorithm:\n  group_size: 8\n norm_return: true\n")
    assert e.value.errors[0].line is not None


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("- 1\n- 2\n")
    assert "mapping" in e.value.errors[0].message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_file(tmp_path / "nope.yaml")
    assert "not found" in str(e.value)


def test_subsample_needs_size() -> None:
    with pytest.raises(ConfigError) as e:
        load_text("rollout:\n  subsample:\n    unit: groups\n")
    assert "subsample.size" in e.value.errors[0].message


def test_schema_command_prints_json_schema() -> None:
    p = subprocess.run([sys.executable, "-m", "grpolab", "schema"], cwd=ROOT, capture_output=True, text=True)
    schema = json.loads(p.stdout)
    assert schema["additionalProperties"] is False
    assert "norm_return" in schema["$defs"]["AlgorithmConfig"]["properties"]


def test_hostile_inputs_fail_fast_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bomb.yaml"
    bad.write_text("a: &a [1,1,1,1,1,1,1,1]\nb: [*a,*a,*a,*a,*a,*a,*a,*a]\n")
    p = subprocess.run(
        [sys.executable, "-m", "grpolab", "lint", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr + p.stdout and "aliases" in p.stdout


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        ("run:\n  seed: 1\n  seed: 2\n", "duplicate key 'seed'", 3),
        ("run:\n  seed: !!python/object:os.system 1\n", "tag", 2),
        ("run: {seed: 1}\n---\nrun: {seed: 2}\n", "one document", 2),
        ("run:\n  <<: {seed: 1}\n", "merge keys", 2),
    ],
)
def test_unsafe_or_ambiguous_yaml_refused(text: str, needle: str, line: int) -> None:
    with pytest.raises(ConfigError) as e:
        load_text(text)
    assert needle in e.value.errors[0].message and e.value.errors[0].line == line
