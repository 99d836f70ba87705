"""JSON request bodies, read strictly: what Python's parser lets through but no honest request contains.

- a key twice in one object (the parser keeps the last one silently: a config's `run.steps` could be sent twice,
  one value shown in a review and the other run);
- NUL characters (PostgreSQL text cannot hold them) and unpaired surrogates (not Unicode: the stored row could
  never be serialised again);
- integers beyond 64 bits (no field takes them; they end as database or serialisation errors).

Each problem names the JSON pointer of the offending value. `nesting_depth` is the bounded depth walk that POST
/runs (`config`) and sweep grids (each value) use to refuse a value nested deeper than they allow.
"""

from __future__ import annotations

import json
import re
from typing import Any

INT64 = 2**63
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_PROBLEMS = 20


class DuplicateKey(ValueError):
    pass


class BadJson(ValueError):
    """The body is not JSON at all (or nests deeper than the parser allows)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise DuplicateKey
    return out


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _duplicate_pointers(body: bytes) -> list[tuple[str, str]]:
    """Second, slower pass (only when a duplicate exists): where each duplicated key is."""
    tree = json.loads(body, object_pairs_hook=lambda pairs: ("obj", pairs))
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack and len(found) < MAX_PROBLEMS:
        node, pointer = stack.pop()
        if isinstance(node, tuple) and len(node) == 2 and node[0] == "obj":
            seen: set[str] = set()
            for key, value in node[1]:
                child = f"{pointer}/{_pointer_token(key)}"
                if key in seen:
                    found.append((child, f"the key '{key[:80]}' appears more than once in this object"))
                seen.add(key)
                stack.append((value, child))
        elif isinstance(node, list):
            stack.extend((v, f"{pointer}/{i}") for i, v in enumerate(node))
    return found


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if _SURROGATE.search(text):
        return "contains an unpaired UTF-16 surrogate (not valid Unicode)"
    return None


def value_problems(value: Any, root: str = "") -> list[tuple[str, str]]:
    """(pointer, message) for every NUL, unpaired surrogate or over-64-bit integer in keys and values."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(value, root)]
    while stack and len(found) < MAX_PROBLEMS:
        node, pointer = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                child_pointer = f"{pointer}/{_pointer_token(str(key))}"
                why = _text_problem(key) if isinstance(key, str) else None
                if why:
                    found.append((child_pointer, f"the key {why}"))
                stack.append((child, child_pointer))
        elif isinstance(node, list):
            stack.extend((v, f"{pointer}/{i}") for i, v in enumerate(node))
        elif isinstance(node, str):
            why = _text_problem(node)
            if why:
                found.append((pointer, f"the value {why}"))
        elif isinstance(node, int) and not isinstance(node, bool) and not -INT64 <= node < INT64:
            found.append((pointer, "the integer is beyond 64 bits; no setting takes such a number"))
    return sorted(found)


def nesting_depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed value (a scalar is 1), found iteratively so that a 1,000-deep body cannot reach
    Python's recursion limit; the walk stops as soon as it passes `limit`, so any result above it means too deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def parse(body: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The parsed body and its problems (pointer, message); BadJson when it is not JSON."""
    try:
        value = json.loads(body, object_pairs_hook=_no_duplicates)
    except DuplicateKey:
        return None, _duplicate_pointers(body)
    except json.JSONDecodeError as exc:
        raise BadJson(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise BadJson("the body nests too deeply (a run config needs only a few levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:  # e.g. an integer of over 4,300 digits, or not UTF-8
        raise BadJson(f"the body is not valid JSON: {exc}") from None
    return value, value_problems(value)
