"""Launch scripts: a small shell tokenizer that keeps each word's line/column, and flag/override parsing.

Researchers launch OpenRLHF, OAT, gem, verl and SkyRL with shell scripts: `\\` continuations, comments,
quotes, `VAR=value` assignments used later as `$VAR`, `ray job submit ... -- python3 -m ...`. We do not run
the shell; we read the one command that starts the trainer and its arguments, and point findings at the
argument the user wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from training.lint.adapters._source import Entry, Source, scalar, unreadable

_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::-([^}]*))?\}|([A-Za-z_]\w*))")
_ASSIGN = re.compile(r"^([A-Za-z_]\w*)=(.*)$", re.DOTALL)
_REDIRECT = re.compile(r"\d*(?:>>|>&|&>|>|<)(?:\d+|-)?")
_SEPARATOR = re.compile(r"&&|\|\||\|&|[;|&]")
_OVERRIDE = re.compile(r"^(\+{0,2}|~)([A-Za-z_][\w.\-]*)(=(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Word:
    text: str
    line: int  # 1-based
    column: int  # 1-based
    op: bool = False  # an unquoted shell operator (; && || | & redirections)


def tokenize(text: str) -> list[list[Word]]:
    """Split a script into statements of words. Quotes are removed; `$VAR` is expanded from earlier
    `VAR=value` assignments (left as written when unknown)."""
    statements: list[list[Word]] = []
    current: list[Word] = []
    env: dict[str, str] = {}
    i, n = 0, len(text)
    line, col = 1, 1
    buf: list[str] = []
    start: tuple[int, int] | None = None
    quoted = False

    def flush() -> None:
        nonlocal buf, start, quoted
        if start is not None:
            current.append(Word("".join(buf), start[0], start[1]))
        buf, start, quoted = [], None, False

    def end_statement() -> None:
        nonlocal current
        flush()
        if current:
            _record_assignments(current, env)
            statements.append(current)
        current = []

    def expand(s: str) -> str:
        return _VAR.sub(lambda m: env.get(m.group(1) or m.group(3), m.group(2) or m.group(0)), s)

    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] == "\n":  # line continuation
            i, line, col = i + 2, line + 1, 1
            continue
        if ch == "\n":
            end_statement()
            i, line, col = i + 1, line + 1, 1
            continue
        if ch in " \t\r":
            flush()
            i, col = i + 1, col + 1
            continue
        if ch == "#" and start is None:  # comment to end of line
            while i < n and text[i] != "\n":
                i += 1
            continue
        if not buf and start is None:
            m = _REDIRECT.match(text, i)
            if m:  # `> log`, `2>&1`, `&> out`: the trainer's arguments end here
                current.append(Word(m.group(0), line, col, op=True))
                i, col = m.end(), col + m.end() - i
                continue
            m = _SEPARATOR.match(text, i)
            if m:
                end_statement()
                i, col = m.end(), col + m.end() - i
                continue
        if ch in ";|&<>" and buf:
            flush()
            continue  # read the operator again as the start of a new word
        if start is None:
            start = (line, col)
        if ch == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise unreadable("unterminated single quote", line, col)
            chunk = text[i + 1 : j]
            buf.append(chunk)
            quoted = True
            line, col = _advance(text, i, j + 1, line, col)
            i = j + 1
            continue
        if ch == '"':
            j = i + 1
            out: list[str] = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`\n':
                    if text[j + 1] != "\n":
                        out.append(text[j + 1])
                    j += 2
                    continue
                out.append(text[j])
                j += 1
            if j >= n:
                raise unreadable("unterminated double quote", line, col)
            buf.append(expand("".join(out)))
            quoted = True
            line, col = _advance(text, i, j + 1, line, col)
            i = j + 1
            continue
        if ch == "$" and i + 1 < n and text[i + 1] == "(":  # $(...) kept verbatim, balanced
            depth, j = 0, i + 1
            while j < n:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            buf.append(text[i : j + 1])
            line, col = _advance(text, i, j + 1, line, col)
            i = j + 1
            continue
        if ch == "$":
            m = _VAR.match(text, i)
            if m:
                buf.append(expand(m.group(0)))
                col += m.end() - i
                i = m.end()
                continue
        if ch == "\\" and i + 1 < n:
            buf.append(text[i + 1])
            i, col = i + 2, col + 2
            continue
        buf.append(ch)
        i, col = i + 1, col + 1
    end_statement()
    return statements


def _advance(text: str, i: int, j: int, line: int, col: int) -> tuple[int, int]:
    chunk = text[i:j]
    nl = chunk.count("\n")
    if nl:
        return line + nl, len(chunk) - chunk.rfind("\n")
    return line, col + len(chunk)


def _record_assignments(words: list[Word], env: dict[str, str]) -> None:
    ws = words[1:] if words[0].text == "export" else words
    if ws and all(_ASSIGN.match(w.text) for w in ws):
        for w in ws:
            m = _ASSIGN.match(w.text)
            assert m is not None
            env[m.group(1)] = m.group(2)


@dataclass
class Command:
    """The trainer invocation found in a script: the word that names it and the words after it."""

    program: Word
    args: list[Word]


def find_command(statements: list[list[Word]], names: Iterable[str]) -> Command | None:
    """First statement containing a word that ends with one of `names` (module or script name)."""
    wanted = tuple(names)
    for words in statements:
        for i, w in enumerate(words):
            if not w.op and _matches(w.text, wanted):
                args = []
                for a in words[i + 1 :]:
                    if a.op:  # a redirection ends the trainer's arguments
                        break
                    args.append(a)
                return Command(program=w, args=args)
    return None


def _matches(word: str, wanted: tuple[str, ...]) -> bool:
    base = word.rsplit("/", 1)[-1]
    return any(word == x or base == x or word.endswith("/" + x) for x in wanted)


def mentions(text: str, names: Iterable[str]) -> bool:
    return any(x in text for x in names)


# ------------------------------------------------------------------------------------------ flags and overrides


def flag_source(
    cmd: Command,
    canonical: dict[str, str] | None = None,
    negatable: bool = False,
) -> Source:
    """`--flag value`, `--flag=value`, `--flag v1 v2`, bare `--flag` (true) and, for tyro, `--no-flag`/`--no_flag`.

    `canonical` maps a spelling (without dashes, `-` already turned into `_`) to the adapter's canonical name.
    """
    canonical = canonical or {}
    entries: dict[str, Entry] = {}
    args = cmd.args
    i = 0
    while i < len(args):
        w = args[i]
        if not w.text.startswith("--") or len(w.text) == 2:
            i += 1
            continue
        body = w.text[2:]
        values: list[Any]
        if "=" in body:
            body, v = body.split("=", 1)
            values = [scalar(v)]
            i += 1
        else:
            j = i + 1
            values = []
            while j < len(args) and not (args[j].text.startswith("--") and len(args[j].text) > 2):
                values.append(scalar(args[j].text))
                j += 1
            i = j
        name = body.replace("-", "_")
        value: Any
        if not values:
            value = True
            if negatable and name.startswith("no_") and name[3:] not in canonical and name not in canonical:
                name, value = name[3:], False
        else:
            value = values[0] if len(values) == 1 else values
        key = canonical.get(name, name)
        entries[key] = Entry(value=value, key=w.text.split("=", 1)[0], line=w.line, column=w.column)
    return Source(entries=entries, anchor=(cmd.program.line, cmd.program.column))


def overrides(words: list[Word]) -> list[tuple[str, Any, int, int]]:
    """Hydra-style `a.b=v`, `+a.b=v`, `++a.b=v`, `~a.b` words (others, e.g. `--config-path`, are skipped)."""
    out = []
    for w in words:
        if w.text.startswith("-"):
            continue
        m = _OVERRIDE.match(w.text)
        if not m or (m.group(3) is None and m.group(1) != "~"):
            continue
        key = m.group(1) + m.group(2)
        value = scalar(m.group(4)) if m.group(3) is not None else None
        out.append((key, value, w.line, w.column))
    return out
