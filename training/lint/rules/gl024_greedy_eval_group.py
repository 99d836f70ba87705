"""GL024 greedy-eval-group: greedy evaluation with several samples per prompt."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    n = c.eval_group_size
    if not (c.eval_greedy and n is not None and n > 1):
        return []
    return [
        Hit(
            f"evaluation decodes greedily and samples {n} per prompt ({c.key('eval_group_size')}): the {n} "
            f"samples are identical, pass@{n} equals pass@1 and costs {n}×.",
            ("eval_group_size", "eval_greedy"),
        )
    ]


RULE = Rule(
    id="GL024",
    name="greedy-eval-group",
    severity="info",
    title="Greedy evaluation with several samples per prompt",
    why="Greedy decoding gives n identical samples: pass@n equals pass@1 and costs n× the compute.",
    fix="Evaluate with n = 1 when greedy, or sample with a temperature.",
    check=check,
    references=(
        "alibaba/ROLL agentic example (val group size 1 at T=0)",
        "docs/frameworks/verl.md",
        "docs/frameworks/skyrl.md",
    ),
)
