"""Reading a launch script as bash would, without running anything.

The grammar is bashlex's (a pure-Python port of bash's own yacc grammar: no compiled parser to ship, no native
wheel, the statements, lists, pipelines, `if`/`for`/`while`, functions and redirections bash itself sees).
bashlex gives the structure and each word's span in the file; the words themselves are expanded here, from the
file's own text, because bashlex's word expansion loses nested quoted defaults (`${A:-"${B}/x"}`) and stops at
`$(( ))`. What we evaluate: assignments, `export`/`declare`/`local`, `${X:-d}` `${X-d}` `${X:=d}` `${X:+a}`
`${#X}`, arrays (`A=(...)`, `"${A[@]}"`, `${A[i]}`), word splitting of unquoted values, `$(( ))` arithmetic,
`[ a = b ]` tests on known values, `if`/`elif`/`else` and `for` (a variable set differently in two branches is
*ambiguous*: its possible values are kept), functions (run where they are called), `bash -c "..."`.

What bashlex cannot parse is worked around, never guessed: `$(( ))`, `$( )` and backquotes are masked before
parsing (arithmetic is evaluated here; a command's output is unknown), array assignments `A=(...)` are masked
and their elements read here; a statement it still rejects (`case`, `[[ ]]`, `for ((;;))`) is skipped line by
line with a note, and any variable assigned on a skipped line becomes unknown. Every value that depends on
something outside the file (an environment variable, a command's output, a script argument, a skipped line, a
branch) is *unknown*, with the reason, and never replaced by a guess.

Each word keeps, character by character, the offset in the file it came from, so `ARGS="a=1 b=2"; cmd $ARGS`
gives words that point at `a=1` and `b=2` inside the assignment.
"""

from __future__ import annotations

import ast
import bisect
import fnmatch
import importlib
import importlib.util
import marshal
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from training.lint.adapters._source import unreadable

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARRAY_START = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=\(")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_PARAM = re.compile(r"(#?)([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(\[([^\]]*)\])?")
_WORD_BREAK = " \t\n;&|()<>"
_DECLARERS = ("export", "declare", "typeset", "local", "readonly")
_MAX_SKIPS = 200


@dataclass(frozen=True)
class Word:
    """One argument as the program receives it, with the file position of its first character."""

    text: str  # the expanded text; unknown parts are kept as written (`n=$N_SAMPLES`)
    line: int  # 1-based
    column: int  # 1-based
    op: bool = False  # kept for the old interface: a shell operator (never produced now)
    unknown: str = ""  # why (part of) the value cannot be known; "" = fully known
    candidates: tuple[str, ...] = ()  # the texts an ambiguous word may have (one per branch value)
    opaque: bool = False  # the whole word is unknown: it may stand for any number of words


@dataclass(frozen=True)
class Val:
    """A shell value: known text with per-character file offsets, unknown (why), ambiguous, or an array."""

    text: str = ""
    offs: tuple[int, ...] = ()
    unknown: str = ""
    options: tuple[str, ...] = ()  # known values an ambiguous variable may have
    items: tuple[Val, ...] | None = None


@dataclass
class SimpleCommand:
    words: list[Word]
    line: int


@dataclass
class Script:
    commands: list[SimpleCommand] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Seg:
    text: str
    offs: tuple[int, ...]
    quoted: bool
    unknown: str = ""
    options: tuple[str, ...] = ()
    brk: bool = False  # a field break ("${A[@]}" between elements)
    args: bool = False  # "$@" / "$*": the script's own arguments


# ------------------------------------------------------------------------------------------ masking (pre-parse)


def _mask(text: str) -> tuple[str, dict[int, int]]:
    """Text of the same length that bashlex can parse: `$(( ))`, `$( )`, backquotes and array bodies become
    `x`s (their spans are read from the original text). Returns it with the array spans `(` offset -> `)` offset.
    Raises GL000 for an unterminated quote, as bash would refuse to run the script."""
    out = list(text)
    arrays: dict[int, int] = {}
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
                raise unreadable("unterminated single quote", *_line_col(text, i))
            i, word_start = j + 1, False
            continue
        if ch == '"':
            i = _skip_dquote(text, i, out)
            word_start = False
            continue
        if ch == "`" or (ch == "$" and text.startswith("(", i + 1)):
            j = _skip_subst(text, i)
            blank(i, j)
            i, word_start = j, False
            continue
        if ch == "$" and text.startswith("{", i + 1):
            j = _skip_braced(text, i + 2)
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
        if word_start:
            m = _ARRAY_START.match(text, i)
            if m:
                open_at = m.end() - 1
                close = _skip_parens(text, open_at)
                arrays[open_at] = close - 1
                blank(open_at, close)
                i, word_start = close, False
                continue
        word_start = ch in _WORD_BREAK
        i += 1
    return "".join(out), arrays


def _skip_dquote(text: str, i: int, out: list[str] | None = None) -> int:
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
            k = _skip_subst(text, j)
            if out is not None:
                for p in range(j, k):
                    out[p] = "x"
            j = k
            continue
        if ch == "$" and text.startswith("{", j + 1):
            k = _skip_braced(text, j + 2, in_dquote=True)
            if out is not None:
                for p in range(j + 2, k - 1):
                    out[p] = "x"
            j = k
            continue
        j += 1
    raise unreadable("unterminated double quote", *_line_col(text, i))


def _skip_subst(text: str, i: int) -> int:
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
        raise unreadable("unterminated backquote", *_line_col(text, i))
    return _skip_parens(text, i + 1)


def _skip_parens(text: str, i: int) -> int:
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
                raise unreadable("unterminated single quote", *_line_col(text, j))
            j = k + 1
            continue
        if ch == '"':
            j = _skip_dquote(text, j)
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
    raise unreadable("unterminated `(`", *_line_col(text, i))


def _skip_braced(text: str, i: int, in_dquote: bool = False) -> int:
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
            j = _skip_dquote(text, j)
            continue
        if ch == "'" and not in_dquote:
            k = text.find("'", j + 1)
            j = n if k < 0 else k + 1
            continue
        if ch == "$" and text.startswith("(", j + 1):
            j = _skip_subst(text, j)
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
    raise unreadable("unterminated `${`", *_line_col(text, i - 2))


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


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# ------------------------------------------------------------------------------------------------- parsing


_TABLE_CACHE = "bashlex-tables-{python}-{digest}.marshal"


def _import_bashlex() -> None:
    """Import bashlex with its LALR tables from a cache. bashlex builds the tables of its yacc grammar on every
    import (~60 ms, most of `grpolab lint`'s time on a script); the tables depend only on the grammar, so the first
    import saves them (marshal, plain dicts of ints and strings) under the user's cache folder, keyed by the
    grammar's productions and the Python version, and later imports load them. Without a writable cache folder
    bashlex simply builds them as usual."""
    if "bashlex.parser" in sys.modules:
        return
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
class _Case:
    """`case WORD in PATTERN) BODY ;; ... esac`, which bashlex does not parse: read here, bodies by bashlex."""

    pos: tuple[int, int]
    word: tuple[int, int]
    arms: list[tuple[list[tuple[int, int]], list[Any]]]
    kind: str = "case"


_CASE = re.compile(r"[ \t\n]*case[ \t]+")
_ESAC = re.compile(r"esac(?=[ \t\n;&|)]|$)")


def _parse_case(masked: str, start: int, end: int) -> tuple[_Case, int] | None:
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
            return _Case((start + len(m.group(0)) - len(m.group(0).lstrip()), i + 4), word, arms), i + 4
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
        arms.append((patterns, _parse(masked, i, body_end)))
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
            i = min(_skip_dquote(text, i), end)
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


def _parse(masked: str, start: int = 0, stop: int | None = None) -> list[Any]:
    """bashlex's top-level parts of masked[start:stop], one at a time, positions in the whole text; `case` is
    read by `_parse_case`; a part bashlex rejects is skipped to the end of its logical line and recorded as
    `("skip", start, end, message)`."""
    _import_bashlex()
    from bashlex import ast as bast
    from bashlex import errors, parser

    parts: list[Any] = []
    n = len(masked) if stop is None else stop
    index, skips = start, 0
    while index < n:
        rest = masked[index:n]
        if not rest.strip():
            break
        if _CASE.match(rest):
            got = _parse_case(masked, index, n)
            if got is not None:
                parts.append(got[0])
                index = got[1]
                continue
        try:
            part = parser._parser(rest, strictmode=False).parse()
        except (errors.ParsingError, NotImplementedError, AttributeError, IndexError, TypeError) as exc:
            pos = getattr(exc, "position", 0) if isinstance(exc, errors.ParsingError) else 0
            line_end = min(_end_of_logical_line(masked, index + min(max(pos, 0), len(rest) - 1)), n)
            first = index + len(rest) - len(rest.lstrip())
            if _LOOP.match(masked, first):  # a loop header bashlex rejects: skip the loop to its `done`
                line_end = min(_end_of_logical_line(masked, _loop_end(masked, first, n)), n)
            message = str(exc).split(" (position", 1)[0] or type(exc).__name__
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


# ---------------------------------------------------------------------------------------------- evaluation


class _Reader:
    def __init__(
        self, text: str, lines: _Lines, offmap: list[int] | None = None, env: dict[str, Val] | None = None
    ):
        self.text = text
        self.lines = lines
        self.masked, self.arrays = _mask(text)
        self.offmap = offmap  # local offset -> offset in the file (a `bash -c` string)
        self.env: dict[str, Val] = dict(env or {})
        self.script = Script()
        self.functions: dict[str, Any] = {}
        self.called: set[str] = set()
        self.sourced: list[str] = []
        self.depth = 0

    # -- positions

    def file_off(self, local: int) -> int:
        if self.offmap is None:
            return local
        if not self.offmap:
            return 0
        return self.offmap[min(max(local, 0), len(self.offmap) - 1)]

    def line_of(self, local: int) -> int:
        return self.lines.line_col(self.file_off(local))[0]

    # -- driving

    def run(self) -> Script:
        for part in _parse(self.masked):
            self.part(part)
        self.script.notes = _coalesce(self.script.notes)
        for name, body in list(self.functions.items()):
            if name not in self.called:  # a function never called here still shows its commands
                self.called.add(name)
                self.node(body)
        return self.script

    def skipped(self, start: int, end: int, message: str) -> None:
        chunk = self.text[start:end]
        line, last = self.line_of(start), self.line_of(max(start, end - 1))
        where = f"line {line}" if last == line else f"lines {line}-{last}"
        self.script.notes.append(f"{where}: bash syntax the reader does not support ({message}); skipped")
        for m in re.finditer(r"(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)\+?=", chunk):
            self.env[m.group(1)] = Val(
                unknown=f"`{m.group(1)}` is set on line {line}, which the reader could not parse"
            )

    def node(self, n: Any) -> None:
        kind = n.kind
        if kind == "command":
            self.command(n)
        elif kind in ("list", "pipeline"):
            for p in n.parts:
                self.node(p)
        elif kind == "compound":
            subshell = bool(n.list) and getattr(n.list[0], "word", "") == "("
            saved = dict(self.env) if subshell else None
            for p in n.list:
                self.node(p)
            if saved is not None:
                self.env = saved
        elif kind == "if":
            self.if_(n)
        elif kind == "for":
            self.for_(n)
        elif kind in ("while", "until"):
            for p in n.parts:
                self.node(p)
        elif kind == "function":
            self.functions[n.name.word] = n.body
        elif kind == "case":
            self.case(n)
        # reserved words, operators and pipes carry nothing to evaluate

    def if_(self, n: Any) -> None:
        conds: list[list[Any]] = []
        bodies: list[list[Any]] = []
        current: list[Any] | None = None
        for p in n.parts:
            if p.kind == "reservedword":
                if p.word in ("if", "elif"):
                    current = []
                    conds.append(current)
                elif p.word == "then" or p.word == "else":
                    current = []
                    bodies.append(current)
                continue
            if current is not None:
                current.append(p)
        line = self.line_of(n.pos[0])
        for cond in conds:  # conditions run too (`[ -z "${X:=1}" ]` assigns)
            for p in cond:
                self.node(p)
        base = dict(self.env)
        outcomes: list[dict[str, Val]] = []
        decided = False  # a branch is certainly taken (a known test, or the `else`)
        for k, body in enumerate(bodies):
            verdict = self.test(conds[k]) if k < len(conds) else True
            if verdict is False:
                continue
            self.env = dict(base)
            for p in body:
                self.node(p)
            outcomes.append(self.env)
            if verdict is True:
                decided = True
                break
        if not decided:
            outcomes.append(base)  # no branch taken
        self.env = _merge(outcomes, f"the branches of the `if` on line {line}")

    def test(self, cond: list[Any]) -> bool | None:
        """`[ a = b ]`, `[ a != b ]`, `[ -z a ]`, `[ -n a ]` on known values; anything else: None (unknown)."""
        cmds: list[Any] = []
        parts = list(cond)
        while parts:
            p = parts.pop(0)
            if p.kind == "list":
                parts[:0] = p.parts
            elif p.kind == "command":
                cmds.append(p)
            elif p.kind != "operator" or p.op != ";":
                return None  # `a && b`, pipelines: not evaluated
        if len(cmds) != 1:
            return None
        words = [w for w in cmds[0].parts if w.kind == "word"]
        texts: list[str] = []
        for w in words:
            fields = self.fields(w)
            if any(f.unknown for f in fields) or len(fields) != 1:
                return None
            texts.append(fields[0].text)
        if texts and texts[0] == "[" and texts[-1] == "]":
            texts = texts[1:-1]
        elif texts and texts[0] == "test":
            texts = texts[1:]
        else:
            return None
        if len(texts) == 3 and texts[1] in ("=", "=="):
            return texts[0] == texts[2]
        if len(texts) == 3 and texts[1] == "!=":
            return texts[0] != texts[2]
        if len(texts) == 2 and texts[0] in ("-z", "-n"):
            return (texts[1] == "") == (texts[0] == "-z")
        return None

    def case(self, n: _Case) -> None:
        """The arm whose pattern matches a known word; otherwise every arm (and none) may run: merged like `if`."""
        fields = self.split(self.expand(n.word[0], n.word[1], quoted=False), n.word[0])
        value = fields[0].text if len(fields) == 1 and not fields[0].unknown else None
        line = self.line_of(n.pos[0])
        base = dict(self.env)
        outcomes: list[dict[str, Val]] = []
        decided = False
        for patterns, body in n.arms:
            globs = [self.join(self.expand(a, b, quoted=False)) for a, b in patterns]
            if value is not None and all(not g.unknown for g in globs):
                if not any(fnmatch.fnmatchcase(value, g.text) for g in globs):
                    continue
                decided = True
            elif any(not g.unknown and g.text == "*" for g in globs):
                decided = True  # a catch-all arm: some arm surely runs
            self.env = dict(base)
            for p in body:
                self.part(p)
            outcomes.append(self.env)
            if decided and value is not None:
                break
        if not decided:
            outcomes.append(base)
        self.env = _merge(outcomes, f"the arms of the `case` on line {line}")

    def part(self, p: Any) -> None:
        if isinstance(p, tuple):
            self.skipped(p[1], p[2], p[3])
        else:
            self.node(p)

    def for_(self, n: Any) -> None:
        parts = n.parts
        name = parts[1].word if len(parts) > 1 and parts[1].kind == "word" else None
        items: list[Word] = []
        body: list[Any] = []
        in_list = False
        for p in parts[2:]:
            if p.kind == "reservedword":
                in_list = p.word == "in"
                continue
            if in_list and p.kind == "word":
                items.extend(self.fields(p))
            else:
                body.append(p)
        if name:
            line = self.line_of(n.pos[0])
            if len(items) == 1 and not items[0].unknown:
                self.env[name] = Val(text=items[0].text)
            elif items and not any(w.unknown for w in items):
                self.env[name] = Val(
                    unknown=f"`{name}` takes each of {_alts([w.text for w in items])} in the `for` on line {line}",
                    options=tuple(dict.fromkeys(w.text for w in items)),
                )
            else:
                self.env[name] = Val(unknown=f"`{name}` is the variable of the `for` loop on line {line}")
        for p in body:
            self.node(p)

    def command(self, n: Any) -> None:
        assigns = [p for p in n.parts if p.kind == "assignment"]
        words = [p for p in n.parts if p.kind == "word"]
        if not words:
            for a in assigns:
                self.assign(a.pos[0], a.pos[1])
            return
        prefix = {self.text[a.pos[0] : a.pos[1]].split("=", 1)[0].rstrip("+") for a in assigns}
        out: list[Word] = []
        for w in words:
            out.extend(self.fields(w, prefix))
        if not out:
            return
        program = out[0].text
        if program in _DECLARERS:
            for w in words[1:]:
                raw = self.text[w.pos[0] : w.pos[1]]
                if _ASSIGN.match(raw):
                    self.assign(w.pos[0], w.pos[1])
        elif program == "unset":
            for w in out[1:]:
                self.env.pop(w.text, None)
        elif program in ("source", ".") and len(out) > 1:
            self.sourced.append(out[1].text)
        elif program in self.functions and self.depth < 8:
            self.called.add(program)
            self.depth += 1
            self.node(self.functions[program])
            self.depth -= 1
        elif program.rsplit("/", 1)[-1] in ("bash", "sh", "zsh") and len(out) > 2 and out[1].text == "-c":
            self.nested(words[2], out[2])
        self.script.commands.append(SimpleCommand(words=out, line=out[0].line))

    def nested(self, node: Any, word: Word) -> None:
        """`bash -c "..."`: the string is read as a script of its own, positions kept where the string is plain."""
        if word.unknown or self.depth >= 8:
            return
        raw = self.text[node.pos[0] : node.pos[1]]
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and raw[1:-1] == word.text:
            offmap = [self.file_off(node.pos[0] + 1 + k) for k in range(len(word.text) + 1)]
        else:
            offmap = [self.file_off(node.pos[0])] * (len(word.text) + 1)
        child = _Reader(word.text, self.lines, offmap, self.env)
        child.depth = self.depth + 1
        sub = child.run()
        self.script.notes.extend(sub.notes)
        self.script.commands.extend(sub.commands)

    # -- assignments and words

    def assign(self, start: int, end: int) -> None:
        raw = self.text[start:end]
        m = _ASSIGN.match(raw)
        if not m:
            return
        name, index, append = m.group(1), m.group(2), m.group(3) == "+"
        vstart = start + m.end()
        if vstart in self.arrays:
            close = self.arrays[vstart]
            items = [
                self.join(self.expand(a, b, quoted=False))
                for a, b in _array_words(self.text, vstart + 1, close)
            ]
            old = self.env.get(name)
            prior = old.items if (append and old is not None and old.items is not None) else ()
            self.env[name] = Val(items=tuple(prior) + tuple(items))
            return
        value = self.join(self.expand(vstart, end, quoted=False, assignment=True))
        if index is not None:
            self.env[name] = Val(unknown=f"`{name}{index}` is set element by element")
            return
        old = self.env.get(name)
        if append and old is not None:
            value = _concat(old, value)
        self.env[name] = value

    def fields(self, node: Any, prefix: set[str] | None = None) -> list[Word]:
        segs = self.expand(node.pos[0], node.pos[1], quoted=False, prefix=prefix or set())
        return self.split(segs, node.pos[0])

    def expand(
        self,
        start: int,
        end: int,
        quoted: bool,
        prefix: set[str] | None = None,
        assignment: bool = False,
    ) -> list[_Seg]:
        """The segments of the text in [start, end) after quote removal and expansions."""
        text = self.text
        segs: list[_Seg] = []
        i = start
        lit: list[str] = []
        lit_offs: list[int] = []

        def flush(q: bool) -> None:
            if lit:
                segs.append(_Seg("".join(lit), tuple(lit_offs), q))
                lit.clear()
                lit_offs.clear()

        while i < end:
            ch = text[i]
            if ch == "\\":
                if i + 1 < end and text[i + 1] == "\n":
                    i += 2
                    continue
                if i + 1 < end:
                    if quoted and text[i + 1] not in '"\\$`':
                        lit.append("\\")
                        lit_offs.append(self.file_off(i))
                    flush(quoted)
                    segs.append(_Seg(text[i + 1], (self.file_off(i + 1),), True))
                    i += 2
                    continue
            if ch == "'" and not quoted:
                j = text.find("'", i + 1)
                j = end if j < 0 else j
                flush(quoted)
                segs.append(_Seg(text[i + 1 : j], tuple(self.file_off(k) for k in range(i + 1, j)), True))
                segs[-1].quoted = True
                i = j + 1
                continue
            if ch == '"' and not quoted:
                j = _skip_dquote(text, i) - 1
                flush(quoted)
                inner = self.expand(i + 1, j, quoted=True, prefix=prefix)
                segs.extend(inner or [_Seg("", (), True)])
                i = j + 1
                continue
            if ch == "$" and i + 1 < end:
                nxt = text[i + 1]
                if nxt == "'" and not quoted:
                    j = text.find("'", i + 2)
                    j = end if j < 0 else j
                    flush(quoted)
                    body = text[i + 2 : j].replace("\\n", "\n").replace("\\t", "\t").replace("\\'", "'")
                    segs.append(_Seg(body, (self.file_off(i),) * len(body), True))
                    i = j + 1
                    continue
                if nxt == "(":
                    j = _skip_parens(text, i + 1)
                    flush(quoted)
                    if text.startswith("((", i + 1) and text[j - 2 : j] == "))":
                        segs.append(self.arith(i, j, quoted))
                    else:
                        segs.append(
                            _unknown_seg(self.written(i, j), i, self, quoted, "is a command's output")
                        )
                    i = j
                    continue
                if nxt == "{":
                    j = _skip_braced(text, i + 2, in_dquote=quoted)
                    flush(quoted)
                    segs.extend(self.param(i, j, quoted, prefix or set()))
                    i = j
                    continue
                m = _NAME.match(text, i + 1, end) or re.compile(r"[0-9@*#?$!-]").match(text, i + 1, end)
                if m:
                    flush(quoted)
                    segs.extend(self.lookup(m.group(0), "", i, m.end(), quoted, prefix or set()))
                    i = m.end()
                    continue
            if ch == "`":
                j = _skip_subst(text, i)
                flush(quoted)
                segs.append(_unknown_seg(self.written(i, j), i, self, quoted, "is a command's output"))
                i = j
                continue
            lit.append(ch)
            lit_offs.append(self.file_off(i))
            i += 1
            if assignment and ch == ":" and not quoted:
                pass  # tilde expansion after `:` would go here; paths are not config values
        flush(quoted)
        return segs

    def written(self, a: int, b: int) -> str:
        return self.text[a:b]

    def param(self, start: int, end: int, quoted: bool, prefix: set[str]) -> list[_Seg]:
        """`${...}` from `$` at `start` to just after `}` at `end`."""
        body_start, body_end = start + 2, end - 1
        body = self.text[body_start:body_end]
        m = _PARAM.match(body)
        if not m:
            return [
                _unknown_seg(
                    self.written(start, end), start, self, quoted, "is not a substitution bash accepts"
                )
            ]
        length, name, index = m.group(1) == "#", m.group(2), m.group(4)
        rest = body[m.end() :]
        if length:
            if rest:
                return [
                    _unknown_seg(
                        self.written(start, end), start, self, quoted, "is not evaluated by the reader"
                    )
                ]
            val = self.env.get(name)
            if val is None or val.unknown:
                return [_unknown_seg(self.written(start, end), start, self, quoted, "has an unknown length")]
            count = (
                len(val.items) if (val.items is not None and index in ("@", "*")) else len(_scalar(val).text)
            )
            return [_Seg(str(count), (self.file_off(start),) * len(str(count)), quoted)]
        op = next((o for o in (":-", ":=", ":+", ":?", "-", "=", "+", "?") if rest.startswith(o)), None)
        if rest and op is None:
            return [
                _unknown_seg(
                    self.written(start, end),
                    start,
                    self,
                    quoted,
                    "uses a string operation the reader does not evaluate",
                )
            ]
        val = self._get(name, index)
        if op is None:
            return self.lookup(name, index or "", start, end, quoted, prefix, val=val)
        word_start = body_start + m.end() + len(op)
        colon = op.startswith(":")
        kind = op[-1]
        is_set = val is not None and not (
            val.unknown == "" and val.items is None and colon and val.text == ""
        )
        if val is not None and val.unknown:
            if kind in "-=" and _unset_in_file(val):
                is_set = (
                    False  # not set in the file: bash would use the default unless the environment has it
                )
            else:
                return self.lookup(name, index or "", start, end, quoted, prefix, val=val)
        if kind in "-=":
            if is_set:
                return self.lookup(name, index or "", start, end, quoted, prefix, val=val)
            segs = self.expand(word_start, body_end, quoted, prefix)
            if kind == "=":
                self.env[name] = self.join(segs)
            return segs
        if kind == "+":
            return self.expand(word_start, body_end, quoted, prefix) if is_set else []
        # `?`: the value, or bash stops the script
        return self.lookup(name, index or "", start, end, quoted, prefix, val=val)

    def _get(self, name: str, index: str | None) -> Val | None:
        val = self.env.get(name)
        if val is None:
            return _special(name)
        return val

    def lookup(
        self,
        name: str,
        index: str,
        start: int,
        end: int,
        quoted: bool,
        prefix: set[str],
        val: Val | None = None,
    ) -> list[_Seg]:
        written = self.written(start, end)
        if name in ("@", "*"):
            return [
                _Seg(
                    written, (self.file_off(start),), quoted, unknown="the script's own arguments", args=True
                )
            ]
        if val is None:
            val = self._get(name, index or None)
        if val is None:
            return [_unknown_seg(written, start, self, quoted, self.unset_reason(name, prefix), unset=True)]
        if val.items is not None:
            if index in ("@", "*"):
                if quoted and index == "@":
                    out: list[_Seg] = []
                    for k, item in enumerate(val.items):
                        if k:
                            out.append(_Seg("", (), True, brk=True))
                        out.append(_val_seg(item, quoted, written, start, self))
                    return out
                joined = Val(text="")
                for k, item in enumerate(val.items):
                    joined = _concat(joined, Val(text=" ")) if k else joined
                    joined = _concat(joined, item)
                return [_val_seg(joined, quoted, written, start, self)]
            try:
                k = int(index or "0")
            except ValueError:
                return [_unknown_seg(written, start, self, quoted, "indexes an array with an expression")]
            if 0 <= k < len(val.items):
                return [_val_seg(val.items[k], quoted, written, start, self)]
            return []
        return [_val_seg(val, quoted, written, start, self)]

    def unset_reason(self, name: str, prefix: set[str]) -> str:
        if name in prefix:
            return (
                f"is not set before this command: `{name}=...` in front of a command only goes into the program's "
                f"environment, and bash expands `${name}` in its arguments before that"
            )
        where = f" (the script sources {', '.join(self.sourced)}, which is not read)" if self.sourced else ""
        return f"is not set in this file: it would come from the environment{where}"

    def arith(self, start: int, end: int, quoted: bool) -> _Seg:
        written = self.written(start, end)
        inner = self.join(self.expand(start + 3, end - 2, quoted=True))
        if inner.unknown and not inner.options:
            return _unknown_seg(
                written, start, self, quoted, f"depends on a value that is unknown ({inner.unknown})"
            )
        exprs = inner.options if inner.unknown else (inner.text,)
        results: list[str] = []
        for expr in exprs:
            value = _arith_eval(expr, self.env)
            if isinstance(value, str):
                return _unknown_seg(written, start, self, quoted, value)
            results.append(str(value))
        if len(set(results)) == 1:
            return _Seg(results[0], (self.file_off(start),) * len(results[0]), quoted)
        return _Seg(
            written,
            tuple(self.file_off(k) for k in range(start, end)),
            quoted,
            unknown=f"`{written}` {inner.unknown.split('` ', 1)[-1] if '` ' in inner.unknown else inner.unknown}",
            options=tuple(dict.fromkeys(results)),
        )

    def join(self, segs: list[_Seg]) -> Val:
        """Segments as one value (an assignment: no word splitting)."""
        val = Val()
        for s in segs:
            if s.brk:
                val = _concat(val, Val(text=" "))
                continue
            val = _concat(val, Val(text=s.text, offs=s.offs, unknown=s.unknown, options=s.options))
        return val

    def split(self, segs: list[_Seg], start: int) -> list[Word]:
        """Word splitting: unquoted known text splits on blanks; quoted text and unknown values do not."""
        fields: list[list[_Seg]] = []
        current: list[_Seg] = []
        started = False

        def end_field() -> None:
            nonlocal current, started
            if started:
                fields.append(current)
            current, started = [], False

        for s in segs:
            if s.brk:
                end_field()
                continue
            if s.unknown or s.quoted:
                current.append(s)
                started = True
                continue
            for ch, off in zip(s.text, s.offs or (self.file_off(start),) * len(s.text), strict=False):
                if ch in " \t\n":
                    end_field()
                else:
                    current.append(_Seg(ch, (off,), False))
                    started = True
        end_field()
        words: list[Word] = []
        for f in fields:
            if len(f) == 1 and f[0].args:
                continue  # "$@": whatever the script is called with; a file is linted as written
            words.append(_word(f, self.file_off(start), self.lines))
        return words


def _word(parts: list[_Seg], fallback: int, lines: _Lines) -> Word:
    text = "".join(p.text for p in parts)
    offs = [o for p in parts for o in p.offs if o >= 0]
    line, col = lines.line_col(offs[0] if offs else fallback)
    unknown = [p for p in parts if p.unknown]
    if not unknown:
        return Word(text, line, col)
    reasons = "; ".join(dict.fromkeys(p.unknown for p in unknown))
    candidates: tuple[str, ...] = ()
    if len(unknown) == 1 and unknown[0].options:
        k = parts.index(unknown[0])
        before = "".join(p.text for p in parts[:k])
        after = "".join(p.text for p in parts[k + 1 :])
        candidates = tuple(before + o + after for o in unknown[0].options)
    return Word(text, line, col, unknown=reasons, candidates=candidates, opaque=len(parts) == 1)


def _unknown_seg(written: str, start: int, r: _Reader, quoted: bool, why: str, unset: bool = False) -> _Seg:
    seg = _Seg(
        written,
        tuple(r.file_off(start + k) for k in range(len(written))),
        quoted,
        unknown=f"`{written}` {why}",
    )
    return seg


def _unset_in_file(val: Val) -> bool:
    """Unset unless the environment (or the script's caller) sets it: bash would use a `${X:-default}`."""
    return (
        val.unknown.endswith("which is not read)")
        or "is not set in this file" in val.unknown
        or "an argument the script is called with" in val.unknown
    )


def _special(name: str) -> Val | None:
    if name.isdigit():
        return Val(unknown=f"`${name}` is an argument the script is called with")
    if name in ("#", "?", "$", "!", "-"):
        return Val(unknown=f"`${name}` is set by bash when the script runs")
    return None


def _val_seg(val: Val, quoted: bool, written: str, start: int, r: _Reader) -> _Seg:
    if val.items is not None:
        val = val.items[0] if val.items else Val()
    if val.unknown:
        why = val.unknown
        offs = tuple(r.file_off(start + k) for k in range(len(written)))
        return _Seg(
            written,
            offs,
            quoted,
            unknown=f"`{written}`: {why}" if not why.startswith("`") else why,
            options=val.options,
        )
    return _Seg(val.text, val.offs or (r.file_off(start),) * len(val.text), quoted)


def _scalar(val: Val) -> Val:
    if val.items is not None:
        return val.items[0] if val.items else Val()
    return val


def _concat(a: Val, b: Val) -> Val:
    a, b = _scalar(a), _scalar(b)
    if not a.unknown and not b.unknown:
        return Val(text=a.text + b.text, offs=a.offs + b.offs)
    options: tuple[str, ...] = ()
    if a.unknown and b.unknown:
        why = f"{a.unknown}; {b.unknown}"
    elif a.unknown:
        why = a.unknown
        options = tuple(o + b.text for o in a.options)
    else:
        why = b.unknown
        options = tuple(a.text + o for o in b.options)
    return Val(text=a.text + b.text, offs=a.offs + b.offs, unknown=why, options=options)


def _merge(outcomes: list[dict[str, Val]], where: str) -> dict[str, Val]:
    """Variables after an `if`: equal in every branch -> that value; otherwise ambiguous with its values."""
    if len(outcomes) == 1:
        return outcomes[0]
    merged: dict[str, Val] = {}
    for name in dict.fromkeys(k for env in outcomes for k in env):
        vals = [env.get(name) for env in outcomes]
        first = vals[0]
        if all(v == first for v in vals):
            if first is not None:
                merged[name] = first
            continue
        known = [v.text for v in vals if v is not None and not v.unknown and v.items is None]
        shown = _alts([("(unset)" if v is None else ("(unknown)" if v.unknown else v.text)) for v in vals])
        # the values are listed only when every branch gives a known one: then they are all it can be
        options = tuple(dict.fromkeys(known)) if len(known) == len(vals) else ()
        merged[name] = Val(unknown=f"`{name}` is {shown} depending on {where}", options=options)
    return merged


def _coalesce(notes: list[str]) -> list[str]:
    """Consecutive "skipped" notes (a `case` block fails line by line) as one note over the line range."""
    out: list[str] = []
    pattern = re.compile(
        r"lines? (\d+)(?:-(\d+))?: bash syntax the reader does not support \((.*)\); skipped$"
    )
    for note in notes:
        m, prev = pattern.match(note), pattern.match(out[-1]) if out else None
        if m and prev and int(m.group(1)) <= int(prev.group(2) or prev.group(1)) + 1:
            last = m.group(2) or m.group(1)
            out[-1] = (
                f"lines {prev.group(1)}-{last}: bash syntax the reader does not support ({prev.group(3)}); skipped"
            )
            continue
        out.append(note)
    return list(dict.fromkeys(out))


def _alts(values: list[str]) -> str:
    unique = list(dict.fromkeys(values))
    return " or ".join(unique) if len(unique) <= 4 else ", ".join(unique[:4]) + ", ..."


def _array_words(text: str, start: int, end: int) -> list[tuple[int, int]]:
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
                j = _skip_dquote(text, j)
            elif c == "$" and text.startswith("{", j + 1):
                j = _skip_braced(text, j + 2)
            elif c == "$" and text.startswith("(", j + 1):
                j = _skip_parens(text, j + 1)
            else:
                j += 1
        spans.append((i, min(j, end)))
        i = j
    return spans


# ----------------------------------------------------------------------------------------------- arithmetic

_ARITH_OPS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: int(a / b) if abs(a) < 2**52 and abs(b) < 2**52 else a // b,
    ast.Mod: lambda a, b: a - b * int(a / b),
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
}


def _arith_eval(expr: str, env: dict[str, Val]) -> int | str:
    """bash integer arithmetic on known values; a string says why it could not be evaluated."""
    if re.search(r"[?:]|\+\+|--|[^=!<>]=[^=]|^=", expr):
        return "uses arithmetic the reader does not evaluate (assignment or `?:`)"
    py = expr.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    try:
        tree = ast.parse(py.strip() or "0", mode="eval")
    except SyntaxError:
        return "is not arithmetic the reader can read"

    def ev(node: ast.AST, depth: int = 0) -> int:
        if depth > 50:
            raise ValueError("too deep")
        if isinstance(node, ast.Expression):
            return ev(node.body, depth + 1)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            return node.value
        if isinstance(node, ast.Name):
            val = env.get(node.id)
            if val is None or val.unknown or val.items is not None:
                raise LookupError(node.id)
            return _int_of(val.text, env, depth)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
            a, b = ev(node.left, depth + 1), ev(node.right, depth + 1)
            if isinstance(node.op, (ast.Div, ast.Mod)) and b == 0:
                raise ZeroDivisionError
            if isinstance(node.op, ast.Pow) and (b < 0 or b > 64):
                raise ValueError("exponent")
            if isinstance(node.op, ast.LShift) and b > 64:
                raise ValueError("shift")
            return int(_ARITH_OPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Invert):
                return ~v
            if isinstance(node.op, ast.Not):
                return int(not v)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            a, b = ev(node.left, depth + 1), ev(node.comparators[0], depth + 1)
            cmp = {
                ast.Lt: a < b,
                ast.LtE: a <= b,
                ast.Gt: a > b,
                ast.GtE: a >= b,
                ast.Eq: a == b,
                ast.NotEq: a != b,
            }
            if type(node.ops[0]) in cmp:
                return int(cmp[type(node.ops[0])])
        if isinstance(node, ast.BoolOp):
            vals = [ev(v, depth + 1) for v in node.values]
            return int(all(vals)) if isinstance(node.op, ast.And) else int(any(vals))
        raise ValueError("unsupported")

    try:
        return ev(tree)
    except LookupError as exc:
        return f"uses `{exc.args[0]}`, which is not set in this file (or not a number)"
    except ZeroDivisionError:
        return "divides by zero"
    except (ValueError, TypeError, OverflowError, RecursionError):
        return "is not arithmetic the reader can evaluate"


def _int_of(text: str, env: dict[str, Val], depth: int) -> int:
    t = text.strip()
    if re.fullmatch(r"[-+]?[0-9]+", t):
        return int(t)
    if t == "":
        return 0
    if _NAME.fullmatch(t) and depth < 10:  # bash follows a variable holding another variable's name
        val = env.get(t)
        if val is None or val.unknown or val.items is not None:
            raise LookupError(t)
        return _int_of(val.text, env, depth + 1)
    raise LookupError(t)


# --------------------------------------------------------------------------------------------- entry point


class _Lines:
    """Offset -> (line, column) in the file being read."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        k = bisect.bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1


@lru_cache(maxsize=8)
def read_script(text: str) -> Script:
    """Every simple command of the script, in the order bash would meet them, with its expanded words.
    Raises GL000 (a positioned ConfigError) for a script bash itself would refuse (an unterminated quote)."""
    reader = _Reader(text, _Lines(text))
    script = reader.run()
    for m in re.finditer(r"\\[ \t]+\n", text):
        line = text.count("\n", 0, m.start()) + 1
        line_text = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
        if not line_text.lstrip().startswith("#"):
            script.notes.append(
                f"line {line}: a space follows the `\\` at the end of the line, so bash does not continue the "
                f"command onto line {line + 1}: the command ends on line {line}"
            )
    return script


@lru_cache(maxsize=8)
def _read_embedded(file_text: str, script: str, offsets: tuple[int, ...]) -> Script:
    return _Reader(script, _Lines(file_text), list(offsets)).run()


def read_embedded(file_text: str, script: str, offsets: list[int]) -> Script:
    """A script held inside another file (a YAML `run: |` block): `offsets[i]` is the file offset of the
    script's character i, so positions point into the file."""
    return _read_embedded(file_text, script, tuple(offsets))
