"""Answer extraction and the rewards of single-answer tasks (the dataset env, reasoning-gym tasks).

`extract_answer` finds what a response commits to: the last `\\boxed{...}` (balanced braces), else the last
`<answer>...</answer>`, else the whole response, stripped. The rewards compare a response with the reference
answer and return 1.0 or 0.0:

- `math_verify`: the `math-verify` package parses both sides (LaTeX or plain expressions) and compares them
  symbolically, so `\\boxed{1/2}` matches `0.5`;
- `exact`: the extracted answer equals the reference after trimming and collapsing whitespace;
- `numeric`: both parse as numbers (`1,000` and `1e3` included) and agree to a relative 1e-6;
- `contains`: the reference occurs in the response, ignoring case;
- `regex`: `pattern` is searched in the response; its first group (or the whole match) must equal the reference
  after trimming;
- `custom`: a function `fn(response, answer, row) -> float` named by import path `pkg.mod:fn`, allowed only
  when the process sets `GRPOLAB_ALLOW_CUSTOM_REWARDS=1` (it runs arbitrary code).
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

#: (response, reference answer, the data row) -> reward
RewardFn = Callable[[str, str, Mapping[str, Any]], float]
CUSTOM_REWARDS_ENV = "GRPOLAB_ALLOW_CUSTOM_REWARDS"

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class RewardConfigError(ValueError):
    """A reward that cannot be set up, with the field and the fix in the message."""


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`), braces balanced; None when there is none."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth = 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None  # unclosed: no committed answer


def extract_answer(response: str) -> str:
    """The answer a response commits to: last `\\boxed{}`, else last `<answer>` tag, else the whole text."""
    boxed = last_boxed(response)
    if boxed is not None:
        return boxed.strip()
    tags = _ANSWER_TAG.findall(response)
    if tags:
        return str(tags[-1]).strip()
    return response.strip()


def _normalize(text: str) -> str:
    return " ".join(text.split())


def exact_reward(response: str, answer: str, _row: Mapping[str, Any] | None = None) -> float:
    return float(_normalize(extract_answer(response)) == _normalize(answer))


def parse_number(text: str) -> float | None:
    """The number `text` states (thousands separators allowed), or None when it is not a single number."""
    t = text.strip().rstrip(".").replace("$", "").strip()
    if not t or _NUMBER.fullmatch(t) is None:
        return None
    try:
        value = float(t.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numeric_reward(response: str, answer: str, _row: Mapping[str, Any] | None = None) -> float:
    got, want = parse_number(extract_answer(response)), parse_number(answer)
    if got is None or want is None:
        return 0.0
    return float(math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9))


def contains_reward(response: str, answer: str, _row: Mapping[str, Any] | None = None) -> float:
    return float(bool(answer.strip()) and answer.strip().casefold() in response.casefold())


def regex_reward(pattern: str) -> RewardFn:
    compiled = re.compile(pattern, re.DOTALL)

    def reward(response: str, answer: str, _row: Mapping[str, Any] | None = None) -> float:
        m = compiled.search(response)
        if m is None:
            return 0.0
        got = m.group(1) if compiled.groups else m.group(0)
        return float(_normalize(got or "") == _normalize(answer))

    return reward


def _math_timeout() -> int | None:
    # math-verify bounds parsing with SIGALRM, which only the main thread may use
    return 5 if threading.current_thread() is threading.main_thread() else None


@functools.lru_cache(maxsize=65536)
def _parse_gold(answer: str) -> Any:
    from math_verify import parse

    gold = parse(answer, parsing_timeout=_math_timeout())  # type: ignore[arg-type]
    return gold or parse(f"${answer}$", parsing_timeout=_math_timeout())  # type: ignore[arg-type]


def math_verify_reward(response: str, answer: str, _row: Mapping[str, Any] | None = None) -> float:
    from math_verify import parse, verify

    gold = _parse_gold(answer)
    pred = parse(response, parsing_timeout=_math_timeout())  # type: ignore[arg-type]
    if not gold or not pred:
        return 0.0
    return float(verify(gold, pred, timeout_seconds=_math_timeout()))


def custom_rewards_allowed(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(CUSTOM_REWARDS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def load_custom_reward(spec: str) -> RewardFn:
    """Import `pkg.mod:fn`; refused unless the process allows custom rewards."""
    if not custom_rewards_allowed():
        raise RewardConfigError(
            f"env.dataset.reward: `custom` runs your own Python code ({spec}), and this process does not allow "
            f"it: set {CUSTOM_REWARDS_ENV}=1 for the trainer (the service: for the API and the workers), or use "
            "a built-in reward (math_verify, exact, numeric, contains, regex)"
        )
    module_name, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise RewardConfigError(
            f"env.dataset.reward_fn: cannot import {spec!r} ({type(exc).__name__}: {exc}); give `pkg.module:function` "
            "of a module on the trainer's Python path"
        ) from None
    if not callable(fn):
        raise RewardConfigError(f"env.dataset.reward_fn: {spec!r} is not a function")
    return fn  # type: ignore[no-any-return]


BUILTIN_REWARDS: dict[str, RewardFn] = {
    "math_verify": math_verify_reward,
    "exact": exact_reward,
    "numeric": numeric_reward,
    "contains": contains_reward,
}


def make_reward(kind: str, pattern: str | None = None, reward_fn: str | None = None) -> RewardFn:
    """The reward function named by `env.dataset.reward` (+ its `pattern` / `reward_fn`)."""
    if kind == "regex":
        if not pattern:
            raise RewardConfigError("env.dataset.pattern: `reward: regex` needs a pattern")
        return regex_reward(pattern)
    if kind == "custom":
        if not reward_fn:
            raise RewardConfigError("env.dataset.reward_fn: `reward: custom` needs `pkg.module:function`")
        return load_custom_reward(reward_fn)
    if kind not in BUILTIN_REWARDS:
        raise RewardConfigError(
            f"env.dataset.reward: unknown reward {kind!r}; use one of "
            f"{', '.join([*BUILTIN_REWARDS, 'regex', 'custom'])}"
        )
    return BUILTIN_REWARDS[kind]
