"""Fixed-width tables on stdout for the list commands (user, project): one layout, every cell made printable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from grpolab.commands.runs import printable

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
