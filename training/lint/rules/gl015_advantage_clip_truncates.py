"""GL015 advantage-clip-truncates: an advantage clip below the z-score of a single success."""

from __future__ import annotations

import math

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def _largest_z(k: int, g: int, unbiased: bool) -> float:
    """The largest |z-score| in a group of g pass/fail rewards with k successes."""
    p = k / g
    var = p * (1 - p) * (g / (g - 1) if unbiased else 1.0)
    return max(1 - p, p) / math.sqrt(var)


def check(c: Concepts) -> list[Hit]:
    g, clip = c.group_size, c.advantage_clip
    if clip is None or not c.group_norm_std or g < 2:
        return []
    bound = (g - 1) / math.sqrt(g) if c.std_unbiased else math.sqrt(g - 1)
    if clip >= bound:
        return []
    # which pass/fail mixes (k successes in G) have some |z| above the clip
    cut = [k for k in range(1, g) if _largest_z(k, g, c.std_unbiased) > clip]
    if cut == [1, g - 1] or len(cut) <= 2:
        scope = f"only groups with a single success (or a single failure) are cut, by up to {1 - clip / bound:.0%}"
    else:
        scope = (
            f"and it is not only that sample: {len(cut)} of the {g - 1} possible pass/fail mixes of a group have a "
            f"z-score beyond ±{clip:g} and are flattened too"
        )
    return [
        Hit(
            f"{c.key('advantage_clip')} = {clip:g} is below {bound:.2f}, the z-score of a single success in a "
            f"group of {g}: the rarest, most informative sample is cut by {1 - clip / bound:.0%}; {scope}.",
            ("advantage_clip", "group_size"),
            fix=f"raise {c.key('advantage_clip')} above {bound:.2f} or remove it",
        )
    ]


RULE = Rule(
    id="GL015",
    name="advantage-clip-truncates",
    severity="warning",
    title="An advantage clip below the z-score of a single success",
    why=(
        "The rarest and most informative event, one success in G, has the largest group z-score: (G−1)/√G "
        "with the unbiased std (2.47 for G = 8), √(G−1) with the population std. A clip just below that cuts "
        "that signal first; a clip near 1 flattens almost every pass/fail mix (a 50/50 group has |z| ≈ 1), "
        "so the finding says how many mixes are cut."
    ),
    fix="Raise the clip above the bound for your G, or remove it.",
    check=check,
    references=(
        "alibaba/ROLL examples/docs_examples/example_grpo.yaml",
        "docs/frameworks/roll.md",
    ),
)
