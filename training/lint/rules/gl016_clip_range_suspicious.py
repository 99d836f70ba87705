"""GL016 clip-range-suspicious: a PPO clip range that freezes or inverts updates."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    lo, hi, dual = c.clip_low, c.clip_high, c.clip_dual
    problems = []
    if lo is not None and (lo <= 0 or lo >= 1):
        problems.append((f"{c.key('clip_low')} = {lo:g} (ratio floor 1 − {lo:g} = {1 - lo:g})", "clip_low"))
    if hi is not None and hi <= 0:
        problems.append(
            (f"{c.key('clip_high')} = {hi:g} freezes every update that raises a probability", "clip_high")
        )
    if lo is not None and hi is not None and 0 < hi < lo:
        where = (
            f"({c.key('clip_high')})"
            if c.key("clip_high") == c.key("clip_low")
            else f"({c.key('clip_high')} vs {c.key('clip_low')})"
        )
        problems.append(
            (
                f"the upper clip {hi:g} is below the lower clip {lo:g} {where}: exploration is clipped harder "
                "than exploitation, the opposite of clip-higher",
                "clip_high",
            )
        )
    if dual is not None and dual <= 1:
        problems.append((f"{c.key('clip_dual')} = {dual:g} must be > 1 for dual clipping", "clip_dual"))
    fix = (
        f"use e.g. 0.2 below and 0.2–0.28 above ({c.key('clip_low')}, {c.key('clip_high')}); a dual clip above 1"
        if c.framework != "grpolab"
        else None
    )
    return [Hit(f"suspicious PPO clip range: {msg}.", (concept,), fix=fix) for msg, concept in problems]


RULE = Rule(
    id="GL016",
    name="clip-range-suspicious",
    severity="warning",
    title="A PPO clip range that freezes or inverts updates",
    why=(
        "A clip of 0 (or below) freezes updates; a lower clip of 1 or more allows the ratio to reach 0; an "
        "upper clip below the lower one clips exploration harder than exploitation (the opposite of DAPO's "
        "clip-higher); a dual-clip bound must exceed 1."
    ),
    fix="Use e.g. 0.2 below and 0.2–0.28 above (DAPO clip-higher).",
    check=check,
    example="algorithm:\n  clip_low: 0.3\n  clip_high: 0.1\n",
    fixed_example="algorithm:\n  clip_low: 0.2\n  clip_high: 0.28\n",
    references=(
        "OpenRLHF asserts dual clip > 1",
        "DAPO (clip-higher 0.2/0.28)",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/verl.md",
        "docs/frameworks/trl.md",
    ),
)
