"""Fix texts in the linted framework's own keys: a rule's generic fix names our format's keys."""

from __future__ import annotations

from training.lint.concepts import Concepts


def theirs(c: Concepts, fix: str) -> str | None:
    """`fix` for a foreign framework's file; None keeps the rule's own fix (spelled in our format's keys)."""
    return None if c.framework == "grpolab" else fix
