"""A sweep's grid: its dotted keys checked against the RunConfig schema, its cartesian expansion into arms, and
each arm's overrides applied to the parsed base config.

Pure functions on parsed data; nothing here reads or writes the database.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import re
import types
from functools import lru_cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from api.errors import ApiError
from api.strict_json import nesting_depth
from training.config import RunConfig

MAX_ARMS = 100  # runs one sweep may create: a 10 × 10 grid; more is a queue flood, not an experiment
MAX_KEYS = 8
SEED_KEY = "run.seed"
# dotted names; a key under a free-form mapping (env.kwargs.size) may also use '-'
GRID_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$"
MAX_VALUE_DEPTH = (
    32  # a grid value is a number, a string or a small section; the whole config nests at most 64
)


def _field_model(annotation: Any) -> type[BaseModel] | bool | None:
    """The section model inside an annotation (`X | None` included); True for a free-form mapping (dict)."""
    candidates = [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        candidates = [a for a in get_args(annotation) if a is not type(None)]
    for a in candidates:
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
        if a is dict or get_origin(a) is dict:
            return True
    return None


@lru_cache(maxsize=1)
def known_keys() -> tuple[str, ...]:
    """Every dotted key of RunConfig (sections and values), for suggestions."""
    keys: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            keys.append(key)
            inner = _field_model(field.annotation)
            if isinstance(inner, type):
                walk(inner, key + ".")

    walk(RunConfig, "")
    return tuple(keys)


def key_problem(key: str) -> str | None:
    """Why `key` is not a dotted RunConfig key (with the nearest known key), or None when it is one.

    Keys under a free-form mapping (`env.kwargs.size`) are accepted: that mapping has no schema to check."""
    if len(key) > 200:
        return f"'{_short(key)}' is not a config key ({len(key):,} characters; config keys are short dotted paths)"
    if not re.fullmatch(GRID_KEY_PATTERN, key):
        return (
            f"'{_short(key)}' is not a dotted config key (letters, digits and _ between dots, e.g. optim.lr)"
        )
    parts = key.split(".")
    model: type[BaseModel] = RunConfig
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None or not part:
            close = difflib.get_close_matches(key, known_keys(), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            return f"'{key}' is not a config key{hint} (keys are dotted RunConfig paths, e.g. algorithm.estimator)"
        inner = _field_model(field.annotation)
        if inner is True:
            return None
        if i < len(parts) - 1:
            if inner is None or inner is False:
                head = ".".join(parts[: i + 1])
                return f"'{head}' is a value, not a section: '{key}' cannot be set"
            assert isinstance(inner, type)
            model = inner
    return None


def grid_error(message: str, key: str | None = None) -> ApiError:
    field = f"grid.{key}" if key else "grid"
    pointer = "/grid" + (f"/{key.replace('~', '~0').replace('/', '~1')}" if key else "")
    return ApiError(
        422,
        "invalid_grid",
        message,
        errors=[{"pointer": pointer, "field": field, "message": message, "line": None, "column": None}],
    )


def check_grid(grid: dict[str, list[Any]]) -> None:
    """422 naming the key for an empty grid, an unknown key, an empty or repeated value list, or too many arms."""
    if not grid:
        raise grid_error('the grid is empty: give at least one key, e.g. {"run.seed": [0, 1, 2]}')
    if len(grid) > MAX_KEYS:
        raise grid_error(f"the grid has {len(grid)} keys; the limit is {MAX_KEYS}")
    for key, values in grid.items():
        if why := key_problem(key):
            raise grid_error(why, key)
        if not values:
            raise grid_error(f"grid key '{key}' has no values: give a list with at least one", key)
        if len(values) > MAX_ARMS:
            raise grid_error(
                f"grid key '{key}' has {len(values):,} values; a sweep may have at most {MAX_ARMS} runs", key
            )
        deepest = max(nesting_depth(v, MAX_VALUE_DEPTH) for v in values)
        if deepest > MAX_VALUE_DEPTH:
            raise grid_error(
                f"a value of grid key '{key}' nests deeper than {MAX_VALUE_DEPTH} levels; a config value needs a few",
                key,
            )
        seen: set[str] = set()
        for v in values:
            text = json.dumps(v, sort_keys=True)
            if text in seen:
                raise grid_error(f"grid key '{key}' lists {text[:100]} twice: each value makes one arm", key)
            seen.add(text)
    count = 1
    for values in grid.values():
        count *= len(values)
    if count > MAX_ARMS:
        sizes = " × ".join(str(len(v)) for v in grid.values())
        raise grid_error(
            f"the grid expands to {count} runs ({sizes}); a sweep may have at most {MAX_ARMS}: "
            "drop values or split it into several sweeps"
        )


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product as one overrides dict per arm, the last key varying fastest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of the parsed config with each dotted key set (sections created as needed)."""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        node = out
        *heads, last = key.split(".")
        for part in heads:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = copy.deepcopy(value)
    return out


def add_allow(raw: dict[str, Any], allow: list[dict[str, str]]) -> dict[str, Any]:
    """The sweep's acknowledgements added to an arm's `lint.allow` (a rule already listed keeps its reason)."""
    if not allow:
        return raw
    if raw.get("lint") is None:
        raw["lint"] = {}
    lint = raw["lint"]
    if not isinstance(lint, dict):
        return raw  # not a section: the arm's validation names `lint` and says what it must be
    listed = lint.get("allow")
    if listed is not None and not isinstance(listed, list):
        return raw  # the arm's validation says `lint.allow` must be a list
    existing: list[Any] = listed or []
    rules = {a.get("rule") for a in existing if isinstance(a, dict)}
    lint["allow"] = existing + [a for a in allow if a["rule"] not in rules]
    return raw


def arm_label(overrides: dict[str, Any]) -> str:
    """`algorithm.estimator="rloo", run.seed=1`: how an arm is named in messages, run names and the UI (a long
    value is cut: the arm's overrides are in full in `overrides`/`sweep_arm`)."""
    return ", ".join(f"{k}={_short(json.dumps(v))}" for k, v in overrides.items())


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def group_key(overrides: dict[str, Any] | None) -> str:
    """Arms that differ only by `run.seed` share this key (their seeds are pooled in the summary)."""
    rest = {k: v for k, v in (overrides or {}).items() if k != SEED_KEY}
    return json.dumps(rest, sort_keys=True)
