"""Findings and rules: the linter's vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from training.lint.concepts import Concepts

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
DOCS_BASE = "docs/rules"


@dataclass(frozen=True)
class Hit:
    """One firing of a rule: the message with this config's numbers and the concepts that triggered it."""

    message: str
    concepts: tuple[str, ...] = ()  # first one with a known origin gives the location
    severity: Severity | None = None  # overrides the rule's default severity for this hit
    fix: str | None = None  # overrides the rule's generic fix


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    title: str
    why: str
    fix: str
    check: Callable[[Concepts], list[Hit]]
    example: str = ""  # a config in our format that fires the rule
    fixed_example: str = ""  # the nearest config that does not
    references: tuple[str, ...] = ()
    allowable: bool = True  # False: `lint.allow` cannot acknowledge it (GL000: nothing was checked)

    @property
    def doc(self) -> str:
        return f"{DOCS_BASE}/{self.id}.md"


@dataclass
class Finding:
    rule: str
    name: str
    severity: Severity
    message: str
    why: str
    fix: str
    pointer: str = ""
    line: int | None = None
    column: int | None = None
    from_default: bool = False
    allowed: bool = False
    allow_reason: str | None = None
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    file: str = ""  # the file line/column point into when it is not the linted one (a base config)
    unknown: tuple[str, ...] = ()  # values the verdict depends on that could not be read, with why

    @property
    def blocking(self) -> bool:
        return self.severity == "error" and not self.allowed

    def sort_key(self) -> tuple[int, int, int, str]:
        return (self.line or 0, self.column or 0, SEVERITY_ORDER[self.severity], self.rule)

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.file:
            extra["file"] = self.file
        if self.unknown:
            extra["unknown"] = list(self.unknown)
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "pointer": self.pointer,
            "line": self.line,
            "column": self.column,
            "from_default": self.from_default,
            "allowed": self.allowed,
            "allow_reason": self.allow_reason,
            "doc": self.doc,
            **extra,
        }
