"""api.strict_json.nesting_depth: the one depth walk behind POST /runs' `config` and sweep grid values."""

from __future__ import annotations

import json

from api.strict_json import nesting_depth


def test_depth_counts_each_level_and_scalars_as_one() -> None:
    assert nesting_depth(3, 64) == 1
    assert nesting_depth({}, 64) == 1
    assert nesting_depth({"a": [1, {"b": "x"}]}, 64) == 4
    assert nesting_depth([[], [[[]]], []], 64) == 4  # the deepest branch, not the first


def test_depth_stops_just_past_the_limit_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(5000):  # far past Python's recursion limit, were it walked recursively
        deep = [deep]
    assert nesting_depth(deep, 64) == 65
    assert nesting_depth(deep, 32) == 33
    assert nesting_depth(json.loads("[" * 32 + "]" * 32), 32) == 32  # at the limit: the true depth
