"""The syntax half of the bash reader: bashlex (bash's grammar) over a masked copy of the script.

bashlex is a pure-Python port of bash's own yacc grammar: statements, lists, pipelines, `if`/`for`/`while`,
functions, redirections, here-documents, with each word's span in the file. What it cannot parse is worked
around here: `$(( ))`, `$( )`, backquotes, `${...}` bodies and array assignments `A=(...)` are masked (same
length, so every span still points into the original text, from which `_bash.py` expands the words itself);
`[[ ]]` is read as `[ ]`; `case` is parsed here (its arm bodies by bashlex); a statement bashlex still rejects is
skipped to the end of its line (a loop, to its `done`) and reported as skipped.

bashlex builds its LALR tables on import; `import_bashlex` caches them (see there).
"""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import os
import re
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.lint.adapters._source import unreadable

_ARRAY_START = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=\(")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_WORD_BREAK = " \t\n;&|()<>"
_MAX_SKIPS = 200

# ------------------------------------------------------------------------------------------ masking (pre-parse)


def mask(text: str) -> tuple[str, dict[int, int], dict[int, int]]:
    """Text of the same length that bashlex can parse: `$(( ))`, `$( )`, backquotes and array bodies become
    `x`s (their spans are read from the original text), an arithmetic command `(( ... ))` becomes `: xxx`.
    Returns it with the array spans (`(` offset -> `)` offset) and the arithmetic commands (start -> end).
    Raises GL000 for an unterminated quote, as bash would refuse to run the script."""
    out = list(text)
    arrays: dict[int, int] = {}
    arith: dict[int, int] = {}
    n = len(text)
    i = 0
    word_start = True

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            out[k] = "x"

    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            word_start = False
            continue
        if ch == "#" and word_start:
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise unreadable("unterminated single quote", *line_col(text, i))
            i, word_start = j + 1, False
            continue
        if ch == '"':
            i = skip_dquote(text, i, out)
            word_start = False
            continue
        if ch == "`" or (ch == "$" and text.startswith("(", i + 1)):
            j = skip_subst(text, i)
            blank(i, j)
            i, word_start = j, False
            continue
        if ch == "$" and text.startswith("{", i + 1):
            j = skip_braced(text, i + 2)
            blank(i + 2, j - 1)  # bashlex misreads nested quotes in `${X:-"..."}`; we expand it ourselves
            i, word_start = j, False
            continue
        if ch == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            m = _HEREDOC.match(text, i)
            if m:
                i = _skip_heredoc(text, m)
                continue
        if word_start and text.startswith("[[", i) and text[i + 2 : i + 3] in (" ", "\t"):
            out[i + 1] = " "  # `[[ ... ]]` read as `[ ... ]`: bashlex has no `[[`
            i += 2
            continue
        closes_test = text[i + 2 : i + 3] in ("", " ", "\t", "\n", ";", "&", "|", ")")
        if ch == "]" and text.startswith("]]", i) and i > 0 and text[i - 1] in " \t" and closes_test:
            out[i] = " "
            i += 2
            word_start = True
            continue
        if word_start and text.startswith("((", i):
            j = skip_parens(text, i)
            if text[j - 2 : j] == "))":
                out[i], out[i + 1] = ":", " "
                blank(i + 2, j)
                arith[i] = j
                i, word_start = j, False
                continue
        if word_start:
            m = _ARRAY_START.match(text, i)
            if m:
                open_at = m.end() - 1
                close = skip_parens(text, open_at)
                arrays[open_at] = close - 1
                blank(open_at, close)
                i, word_start = close, False
                continue
        word_start = ch in _WORD_BREAK
        i += 1
    return "".join(out), arrays, arith


def skip_dquote(text: str, i: int, out: list[str] | None = None) -> int:
    """From the opening `"` to just after its closing one; masks substitutions inside when `out` is given."""
    j = i + 1
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == '"':
            return j + 1
        if ch == "`" or (ch == "$" and text.startswith("(", j + 1)):
            k = skip_subst(text, j)
            if out is not None:
                for p in range(j, k):
                    out[p] = "x"
            j = k
            continue
        if ch == "$" and text.startswith("{", j + 1):
            k = skip_braced(text, j + 2, in_dquote=True)
            if out is not None:
                for p in range(j + 2, k - 1):
                    out[p] = "x"
            j = k
            continue
        j += 1
    raise unreadable("unterminated double quote", *line_col(text, i))


def skip_subst(text: str, i: int) -> int:
    """`$(...)`, `$((...))` or a backquoted command: the offset just after it."""
    if text[i] == "`":
        j = i + 1
        while j < len(text):
            if text[j] == "\\":
                j += 2
                continue
            if text[j] == "`":
                return j + 1
            j += 1
        raise unreadable("unterminated backquote", *line_col(text, i))
    return skip_parens(text, i + 1)


def skip_parens(text: str, i: int) -> int:
    """From an opening `(` to just after its matching `)`, over quotes and nested parentheses."""
    depth = 0
    j = i
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "'":
            k = text.find("'", j + 1)
            if k < 0:
                raise unreadable("unterminated single quote", *line_col(text, j))
            j = k + 1
            continue
        if ch == '"':
            j = skip_dquote(text, j)
            continue
        if ch == "#" and (j == 0 or text[j - 1] in " \t\n"):
            k = text.find("\n", j)
            j = n if k < 0 else k
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise unreadable("unterminated `(`", *line_col(text, i))


def skip_braced(text: str, i: int, in_dquote: bool = False) -> int:
    """From just after `${` to just after the matching `}` (nested `${...}` and quotes inside count; inside a
    double-quoted string a single quote is an ordinary character, as in bash)."""
    depth = 1
    j = i
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == '"':
            j = skip_dquote(text, j)
            continue
        if ch == "'" and not in_dquote:
            k = text.find("'", j + 1)
            j = n if k < 0 else k + 1
            continue
        if ch == "$" and text.startswith("(", j + 1):
            j = skip_subst(text, j)
            continue
        if ch == "$" and text.startswith("{", j + 1):
            depth += 1
            j += 2
            continue
        if ch == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise unreadable("unterminated `${`", *line_col(text, i - 2))


def _skip_heredoc(text: str, m: re.Match[str]) -> int:
    """Past a here-document's body (its text is the command's input, never arguments)."""
    end_of_line = text.find("\n", m.end())
    if end_of_line < 0:
        return len(text)
    strip_tabs, delim = m.group(1) == "-", m.group(3)
    j = end_of_line + 1
    while j < len(text):
        k = text.find("\n", j)
        k = len(text) if k < 0 else k
        body_line = text[j:k]
        if (body_line.lstrip("\t") if strip_tabs else body_line) == delim:
            return k
        j = k + 1
    return len(text)


def line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# ------------------------------------------------------------------------------------------------- parsing


_IMPORTING = threading.Lock()
_TABLE_CACHE = "bashlex-tables-{python}-{digest}.marshal"


def import_bashlex() -> None:
    """Import bashlex with its LALR tables from a cache. bashlex builds the tables of its yacc grammar on every
    import (~60 ms, most of `grpolab lint`'s time on a script); the tables depend only on the grammar, so the first
    import saves them (marshal, plain dicts of ints and strings) under the user's cache folder, keyed by the
    grammar's productions and the Python version, and later imports load them. Without a writable cache folder
    bashlex simply builds them as usual."""
    if "bashlex.parser" in sys.modules and not _IMPORTING.locked():
        return
    with _IMPORTING:  # API worker threads: one import, the patch never seen half-done
        if "bashlex.parser" in sys.modules:
            return
        _import_with_cached_tables()


def _import_with_cached_tables() -> None:
    spec = importlib.util.find_spec("bashlex")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("bashlex")
    package = importlib.util.module_from_spec(spec)
    sys.modules["bashlex"] = package  # the package's __init__ imports the parser: patch yacc first
    try:
        yacc = importlib.import_module("bashlex.yacc")
        build = yacc.LRTable.__init__

        def cached_tables(self: Any, grammar: Any, log: Any = None) -> None:
            path = _table_path(grammar)
            data = _read_tables(path) if path else None
            if data is None:
                build(self, grammar, log)
                if path:
                    _write_tables(path, self.lr_action, self.lr_goto)
                return
            self.grammar, self.log = grammar, log or yacc.NullLogger()
            self.lr_action, self.lr_goto = data
            self.lr_productions = grammar.Productions
            self.sr_conflict = self.rr_conflict = 0
            self.conflicts, self.sr_conflicts, self.rr_conflicts = [], [], []

        yacc.LRTable.__init__ = cached_tables
        try:
            spec.loader.exec_module(package)
        finally:
            yacc.LRTable.__init__ = build
    except BaseException:
        for name in [m for m in sys.modules if m == "bashlex" or m.startswith("bashlex.")]:
            del sys.modules[name]
        raise


def _table_path(grammar: Any) -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not base:
        return None
    rules = "\n".join(str(p) for p in grammar.Productions).encode()
    digest = f"{zlib.crc32(rules):08x}{len(rules):x}"  # a key, not a secret: the grammar's own text
    python = f"py{sys.version_info[0]}{sys.version_info[1]}"  # marshal's format follows the Python version
    return Path(base) / "grpolab" / _TABLE_CACHE.format(python=python, digest=digest)


def _read_tables(path: Path) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]] | None:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    ok = (
        isinstance(data, tuple)
        and len(data) == 2
        and all(
            isinstance(table, dict)
            and all(isinstance(k, int) and isinstance(row, dict) for k, row in table.items())
            and all(
                isinstance(t, str) and isinstance(v, int) for row in table.values() for t, v in row.items()
            )
            for table in data
        )
    )
    return data if ok else None


def _write_tables(path: Path, action: dict[Any, Any], goto: dict[Any, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps((dict(action), dict(goto))))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: build the tables on each run, as bashlex does


@dataclass
class Case:
    """`case WORD in PATTERN) BODY ;; ... esac`, which bashlex does not parse: read here, bodies by bashlex."""

    pos: tuple[int, int]
    word: tuple[int, int]
    arms: list[tuple[list[tuple[int, int]], list[Any]]]
    kind: str = "case"


_CASE = re.compile(r"[ \t\n]*case[ \t]+")
_ESAC = re.compile(r"esac(?=[ \t\n;&|)]|$)")


def _parse_case(masked: str, start: int, end: int) -> tuple[Case, int] | None:
    """A `case` statement starting at `start`: the node and the offset just after `esac` (None: not readable)."""
    m = _CASE.match(masked, start, end)
    if not m:
        return None
    word = (m.end(), _word_end(masked, m.end(), end))
    k = _skip_blank(masked, word[1], end)
    if not masked.startswith("in", k) or masked[k + 2 : k + 3] not in (" ", "\t", "\n"):
        return None
    i = k + 2
    arms: list[tuple[list[tuple[int, int]], list[Any]]] = []
    while True:
        i = _skip_blank(masked, i, end)
        if i >= end:
            return None
        if _ESAC.match(masked, i):
            return Case((start + len(m.group(0)) - len(m.group(0).lstrip()), i + 4), word, arms), i + 4
        if masked[i] == "(":
            i += 1
        patterns: list[tuple[int, int]] = []
        while True:
            i = _skip_blank(masked, i, end, newlines=False)
            j = _word_end(masked, i, end, stops=" \t\n|)")
            if j == i:
                return None
            patterns.append((i, j))
            i = _skip_blank(masked, j, end, newlines=False)
            if i < end and masked[i] == "|":
                i += 1
                continue
            if i < end and masked[i] == ")":
                i += 1
                break
            return None
        body_end = _case_body_end(masked, i, end)
        if body_end is None:
            return None
        arms.append((patterns, parse(masked, i, body_end)))
        i = body_end
        for sep in (";;&", ";;", ";&"):
            if masked.startswith(sep, i):
                i += len(sep)
                break


def _skip_blank(text: str, i: int, end: int, newlines: bool = True) -> int:
    blanks = " \t\n" if newlines else " \t"
    while i < end:
        if text[i] in blanks:
            i += 1
        elif text.startswith("\\\n", i):
            i += 2
        elif text[i] == "#" and newlines:
            k = text.find("\n", i, end)
            i = end if k < 0 else k
        else:
            break
    return i


def _word_end(text: str, i: int, end: int, stops: str = " \t\n;&|()<>") -> int:
    """Just after the shell word starting at `i` (quotes and escapes kept inside)."""
    while i < end and text[i] not in stops:
        if text[i] == "\\":
            i += 2
        elif text[i] == "'":
            k = text.find("'", i + 1, end)
            i = end if k < 0 else k + 1
        elif text[i] == '"':
            i = min(skip_dquote(text, i), end)
        else:
            i += 1
    return i


def _case_body_end(text: str, i: int, end: int) -> int | None:
    """Where an arm's body ends: its `;;`/`;&`, or the `esac` of its `case` (nested cases counted)."""
    depth = 0
    at_word = True
    while i < end:
        ch = text[i]
        if ch in "'\"\\":
            i = _word_end(text, i, end, stops=" \t\n;&|()<>")
            at_word = False
            continue
        if ch == "#" and at_word:
            k = text.find("\n", i, end)
            i = end if k < 0 else k
            continue
        if at_word and _CASE.match(text, i) and text[i:].lstrip().startswith("case"):
            depth += 1
        elif at_word and _ESAC.match(text, i):
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and (text.startswith(";;", i) or text.startswith(";&", i)):
            return i
        at_word = ch in " \t\n;&|()"
        i += 1
    return None


_LOOP = re.compile(r"(for|while|until|select)(?=[ \t(])")
_LOOP_WORD = re.compile(r"(?<![\w.$/-])(for|while|until|select|done)(?![\w.=/-])")


def _loop_end(text: str, start: int, end: int) -> int:
    """The offset of the `done` closing the loop that starts at `start` (or `end`)."""
    depth = 0
    for m in _LOOP_WORD.finditer(text, start, end):
        depth += -1 if m.group(1) == "done" else 1
        if depth == 0:
            return m.start()
    return end


def parse(masked: str, start: int = 0, stop: int | None = None) -> list[Any]:
    """bashlex's top-level parts of masked[start:stop], one at a time, positions in the whole text; `case` is
    read by `_parse_case`; a part bashlex rejects is skipped to the end of its logical line and recorded as
    `("skip", start, end, message)`."""
    import_bashlex()
    from bashlex import ast as bast
    from bashlex import errors, parser

    parts: list[Any] = []
    n = len(masked) if stop is None else stop
    index, skips = start, 0
    while index < n:
        rest = masked[index:n]
        if not rest.strip():
            break
        lead = _skip_blank(masked, index, n)  # comments and blank lines before a `case`
        if _CASE.match(masked, lead, n):
            got = _parse_case(masked, lead, n)
            if got is not None:
                parts.append(got[0])
                index = got[1]
                continue
        try:
            # expansionlimit=-1: bashlex's own word expansion is skipped (we expand words ourselves; it is
            # slow, and loops forever on some broken words)
            part = parser._parser(rest, strictmode=False, expansionlimit=-1).parse()
        except (errors.ParsingError, NotImplementedError, AttributeError, IndexError, TypeError) as exc:
            pos = getattr(exc, "position", 0) if isinstance(exc, errors.ParsingError) else 0
            line_end = min(_end_of_logical_line(masked, index + min(max(pos, 0), len(rest) - 1)), n)
            first = index + len(rest) - len(rest.lstrip())
            if _LOOP.match(masked, first):  # a loop header bashlex rejects: skip the loop to its `done`
                line_end = min(_end_of_logical_line(masked, _loop_end(masked, first, n)), n)
            message = str(exc).split(" (position", 1)[0] or type(exc).__name__
            message = re.sub(r"'[^']*x{4,}[^']*'", "(a substitution)", message)  # masked text: not the user's
            parts.append(("skip", first, line_end, message))
            index = line_end + 1
            skips += 1
            if skips > _MAX_SKIPS:
                parts.append(("skip", index, n, "too many lines bash syntax could not be read"))
                break
            continue
        if not isinstance(part, bast.node):
            break
        bast.posshifter(index).visit(part)
        parts.append(part)
        end = part.pos[1]
        finder = parser._endfinder()
        finder.visit(part)
        index = max(end, finder.end) + 1
    return parts


def _end_of_logical_line(text: str, at: int) -> int:
    j = at
    while True:
        k = text.find("\n", j)
        if k < 0:
            return len(text)
        if k > 0 and text[k - 1] == "\\":
            j = k + 1
            continue
        return k


def array_words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the elements of an array body `( ... )`, over quotes, comments and continuations."""
    spans: list[tuple[int, int]] = []
    i = start
    while i < end:
        ch = text[i]
        if ch in " \t\n":
            i += 1
            continue
        if ch == "\\" and i + 1 < end and text[i + 1] == "\n":
            i += 2
            continue
        if ch == "#":
            k = text.find("\n", i)
            i = end if k < 0 else k
            continue
        j = i
        while j < end and text[j] not in " \t\n":
            c = text[j]
            if c == "\\":
                j += 2
            elif c == "'":
                k = text.find("'", j + 1)
                j = end if k < 0 else k + 1
            elif c == '"':
                j = skip_dquote(text, j)
            elif c == "$" and text.startswith("{", j + 1):
                j = skip_braced(text, j + 2)
            elif c == "$" and text.startswith("(", j + 1):
                j = skip_parens(text, j + 1)
            else:
                j += 1
        spans.append((i, min(j, end)))
        i = j
    return spans
