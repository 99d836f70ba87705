"""Fixed-width tables on stdout for the list commands (runs, user, project, token, webhook): one layout, every
cell made printable."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# control characters (ESC sequences, CR, BEL, …) and bidirectional overrides: printed raw, a run's name could
# erase or rewrite the rows a reader sees (BUG-10); they are shown as visible escapes instead
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control or bidi character replaced by its escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


# a column: its title and its format spec, `<24` (text, left-aligned) or `>6` (a number, right-aligned and
# followed by two spaces so it does not run into the next text); the last column takes what is left: ""
Column = tuple[str, str]


def table_line(columns: Sequence[Column], cells: Sequence[object]) -> str:
    parts: list[str] = []
    for (_, spec), cell in zip(columns, cells, strict=True):
        parts.append(format(printable(cell) if isinstance(cell, str) else cell, spec))
        parts.append("  " if spec.startswith(">") else " ")
    return "".join(parts[:-1])


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> None:
    print(table_line(columns, [title for title, _ in columns]))
    for row in rows:
        print(table_line(columns, row))
