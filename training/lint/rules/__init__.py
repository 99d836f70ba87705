"""The rule registry: every rule, by id. Rules are written once, against the concept model."""

from __future__ import annotations

from training.lint.findings import Rule
from training.lint.rules import core

_ALL: list[Rule] = list(core.RULES)
try:  # GL009+ (foreign-format rules) live in their own module
    from training.lint.rules import extended

    _ALL += list(extended.RULES)
except ImportError:  # pragma: no cover - only while the module does not exist yet
    pass

RULES: dict[str, Rule] = {r.id: r for r in sorted(_ALL, key=lambda r: r.id)}
