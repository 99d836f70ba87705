"""Reading a launch script as bash would, without running anything: the evaluation half.

`_bash_syntax.py` parses the script with tree-sitter-bash into statements whose words are spans of the file; here
the statements are walked in the order bash runs them and every word is expanded from the file's own text (quote
removal, `${...}`, `$(( ))` and word splitting are ours, so each character keeps its file offset). What we
evaluate: assignments, `export`/`declare`/`local`, `${X:-d}` `${X-d}` `${X:=d}` `${X:+a}` `${#X}`, arrays
(`A=(...)`, `"${A[@]}"`, `${A[i]}`), word splitting of unquoted values, `$(( ))` arithmetic (`_bash_arith.py`),
`[ a = b ]`/`[[ ]]` tests on known values, `if`/`elif`/`else`, `case` and `for` (a variable set differently in
two branches is *ambiguous*: its possible values are kept), functions (run where they are called), `bash -c "..."`.

Every value that depends on something outside the file (an environment variable, a command's output, a script
argument, a line the parser skipped, a branch) is *unknown*, with the reason, and never replaced by a guess.
Each word keeps, character by character, the offset in the file it came from, so `ARGS="a=1 b=2"; cmd $ARGS`
gives words that point at `a=1` and `b=2` inside the assignment.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from dataclasses import replace
from functools import lru_cache

from training.config_io import ConfigError
from training.lint.adapters._bash_arith import arith_eval
from training.lint.adapters._bash_syntax import (
    Arith,
    Block,
    Case,
    Command,
    For,
    Function,
    If,
    Node,
    Span,
    parse,
    skip_braced,
    skip_dquote,
    skip_parens,
    skip_subst,
)
from training.lint.adapters._bash_values import (
    Passed,
    Script,
    ScriptCall,
    Seg,
    SimpleCommand,
    Val,
    Word,
    alternatives,
    concat,
    merge_branches,
    scalar_val,
)
from training.lint.adapters._source import unreadable

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=")
_PARAM = re.compile(r"(#?)([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(\[([^\]]*)\])?")
_ARITH_ASSIGN = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)|([A-Za-z_][A-Za-z0-9_]*)\s*(?:\+\+|--)"
    r"|(?:\+\+|--)\s*([A-Za-z_][A-Za-z0-9_]*)"
)
_MAX_STEPS = 5000  # simple commands per script (function calls included)
_MAX_CALLS = 4  # times one function's body is read


class _TooIntricate(Exception):
    def __init__(self, at: int) -> None:
        super().__init__(at)
        self.at = at


_DECLARERS = ("export", "declare", "typeset", "local", "readonly")


# ---------------------------------------------------------------------------------------------- evaluation


class _Reader:
    def __init__(
        self, text: str, lines: _Lines, offmap: list[int] | None = None, env: dict[str, Val] | None = None
    ):
        self.text = text
        self.lines = lines
        self.parsed = parse(text)
        self.offmap = offmap  # local offset -> offset in the file (a `bash -c` string)
        self.env: dict[str, Val] = dict(env or {})
        self.script = Script()
        self.functions: dict[str, Node] = {}
        self.called: set[str] = set()
        self.sourced: list[str] = []
        self.exported: set[str] = set()
        self.steps = 0  # simple commands evaluated (a bound: loops and functions are read, never iterated)
        self.calls: dict[str, int] = {}
        self.depth = 0

    # -- positions

    def file_off(self, local: int) -> int:
        if self.offmap is None:
            return local
        if not self.offmap:
            return 0
        return self.offmap[min(max(local, 0), len(self.offmap) - 1)]

    def known_text(self, name: str) -> str | None:
        """A variable's text when it is known and not an array (for arithmetic)."""
        val = self.env.get(name)
        if val is None or val.unknown or val.items is not None:
            return None
        return val.text

    def line_of(self, local: int) -> int:
        return self.lines.line_col(self.file_off(local))[0]

    # -- driving

    def run(self) -> Script:
        for skip in self.parsed.skips():  # noted even in a branch not taken: bash refuses the whole script
            self.script.notes.append(self.skip_note(skip.pos[0], skip.pos[1], skip.message))
        try:
            for part in self.parsed.statements:
                self.node(part)
            for name, body in list(self.functions.items()):
                if name not in self.called:  # a function never called here still shows its commands
                    self.called.add(name)
                    self.node(body)
        except _TooIntricate as stop:
            line = self.line_of(stop.at)
            self.script.notes.append(
                f"line {line}: the script is too intricate to follow further; read up to here"
            )
        self.script.notes = _coalesce(self.script.notes)
        return self.script

    def skip_note(self, start: int, end: int, message: str) -> str:
        line, last = self.line_of(start), self.line_of(max(start, end - 1))
        where = f"line {line}" if last == line else f"lines {line}-{last}"
        return f"{where}: bash syntax the reader could not parse ({message}); skipped"

    def skipped(self, start: int, end: int, message: str) -> None:
        chunk = self.text[start:end]
        line = self.line_of(start)
        note = self.skip_note(start, end, message)
        if note not in self.script.notes:  # `run` notes every skip up front
            self.script.notes.append(note)
        for m in re.finditer(r"(?:^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*)\+?=", chunk):
            self.env[m.group(1)] = Val(
                unknown=f"`{m.group(1)}` is set on line {line}, which the reader could not parse"
            )

    def node(self, n: Node) -> None:
        if isinstance(n, Command):
            self.command(n)
        elif isinstance(n, Arith):
            self.arith_command(n)
        elif isinstance(n, Block):
            saved = dict(self.env) if n.kind == "subshell" else None
            for p in n.parts:
                self.node(p)
            if saved is not None:
                self.env = saved
        elif isinstance(n, If):
            self.if_(n)
        elif isinstance(n, For):
            self.for_(n)
        elif isinstance(n, Function):
            self.functions[self.text[n.name[0] : n.name[1]]] = n.body
        elif isinstance(n, Case):
            self.case(n)
        else:
            self.skipped(n.pos[0], n.pos[1], n.message)

    def if_(self, n: If) -> None:
        line = self.line_of(n.pos[0])
        for cond, _ in n.branches:  # conditions run too (`[ -z "${X:=1}" ]` assigns)
            for p in cond or ():
                self.node(p)
        base = dict(self.env)
        outcomes: list[dict[str, Val]] = []
        decided = False  # a branch is certainly taken (a known test, or the `else`)
        for cond, body in n.branches:
            verdict = self.test(cond) if cond is not None else True
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
        self.env = merge_branches(outcomes, f"the branches of the `if` on line {line}")

    def test(self, cond: list[Node]) -> bool | None:
        """A condition of `[ ... ]`/`test`/`(( ))` commands joined by `&&`, `||` or `;` on known values:
        True/False, or None when the reader cannot tell (an unknown value, another command, a pipeline)."""
        items: list[Command | Arith | str] = []
        parts: list[Node | str] = []
        for k, stmt in enumerate(cond):  # statements of a condition: `a; b`
            parts.extend([";", stmt] if k else [stmt])
        while parts:
            p = parts.pop(0)
            if isinstance(p, Block) and p.kind == "list":
                joined: list[Node | str] = []
                for k, q in enumerate(p.parts):
                    joined.extend([p.ops[k - 1], q] if k else [q])
                parts[:0] = joined
            elif isinstance(p, (Command, Arith, str)):
                items.append(p)
            else:
                return None
        result: bool | None = None
        joiner = ";"
        for it in items:
            if isinstance(it, str):
                joiner = it
                continue
            right = self.test_command(it)
            if joiner == "&&":
                result = False if False in (result, right) else (None if None in (result, right) else True)
            elif joiner == "||":
                result = True if True in (result, right) else (None if None in (result, right) else False)
            else:  # `a; b`: the status of the last command
                result = right
            joiner = ";"
        return result

    def test_command(self, cmd: Command | Arith) -> bool | None:
        """`[ a = b ]`, `[ a != b ]`, `[ -z a ]`, `[ -n a ]`, `(( expr ))` on known values; anything else: None."""
        if isinstance(cmd, Arith):
            start, end = cmd.pos
            inner = self.join(self.expand(start + 2, end - 2, quoted=True))
            value = None if inner.unknown else arith_eval(inner.text, self.known_text)
            return None if value is None or isinstance(value, str) else value != 0
        texts: list[str] = []
        for w in cmd.words:
            fields = self.fields(w)
            if any(f.unknown for f in fields) or len(fields) != 1:
                return None
            texts.append(fields[0].text)
        if texts and texts[0] in ("[", "[[") and texts[-1] == {"[": "]", "[[": "]]"}[texts[0]]:
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

    def case(self, n: Case) -> None:
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
                self.node(p)
            outcomes.append(self.env)
            if decided and value is not None:
                break
        if not decided:
            outcomes.append(base)
        self.env = merge_branches(outcomes, f"the arms of the `case` on line {line}")

    def for_(self, n: For) -> None:
        name = self.text[n.name[0] : n.name[1]] if n.name else None
        items: list[Word] = []
        for span in n.items or ():
            items.extend(self.fields(span))
        if name:
            line = self.line_of(n.pos[0])
            if len(items) == 1 and not items[0].unknown:
                self.env[name] = Val(text=items[0].text)
            elif items and not any(w.unknown for w in items):
                self.env[name] = Val(
                    unknown=f"`{name}` takes each of {alternatives([w.text for w in items])} in the `for` on line {line}",
                    options=tuple(dict.fromkeys(w.text for w in items)),
                )
            else:
                self.env[name] = Val(unknown=f"`{name}` is the variable of the `for` loop on line {line}")
        for p in n.body:
            self.node(p)

    def arith_command(self, n: Arith) -> None:
        """`(( C = A + 1 ))`: what it assigns is not evaluated."""
        self.count_step(n.pos[0])
        raw = self.text[n.pos[0] + 2 : n.pos[1] - 2]
        line = self.line_of(n.pos[0])
        for m in _ARITH_ASSIGN.finditer(raw):
            name = m.group(1) or m.group(2) or m.group(3)
            self.env[name] = Val(unknown=f"`{name}` is set by the arithmetic on line {line}")

    def count_step(self, at: int) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise _TooIntricate(at)

    def command(self, n: Command) -> None:
        self.count_step(n.pos[0])
        if not n.words:
            for a in n.assigns:
                self.assign(a[0], a[1])
            return
        prefix = {self.text[a[0] : a[1]].split("=", 1)[0].rstrip("+") for a in n.assigns}
        out: list[Word] = []
        for w in n.words:
            out.extend(self.fields(w, prefix))
        if not out:
            return
        program = out[0].text
        if program in _DECLARERS:
            exports = program == "export" or any(w.text.startswith("-") and "x" in w.text for w in out[1:])
            for w in n.words[1:]:
                raw = self.text[w[0] : w[1]]
                if _ASSIGN.match(raw):
                    self.assign(w[0], w[1])
                name = _NAME.match(raw)
                if exports and name:
                    self.exported.add(name.group(0))
        elif program == "unset":
            for word in out[1:]:
                self.env.pop(word.text, None)
        elif program in ("source", ".") and len(out) > 1:
            self.sourced.append(out[1].text)
        elif program in self.functions and self.depth < 8 and self.calls.get(program, 0) < _MAX_CALLS:
            self.calls[program] = self.calls.get(program, 0) + 1
            self.called.add(program)
            self.depth += 1
            self.node(self.functions[program])
            self.depth -= 1
        elif program.rsplit("/", 1)[-1] in ("bash", "sh", "zsh") and len(out) > 2 and out[1].text == "-c":
            self.nested(n.words[2], out[2])
        else:
            self.script_call(n, out)
        self.script.commands.append(SimpleCommand(words=out, line=out[0].line))

    def script_call(self, n: Command, out: list[Word]) -> None:
        """Record `bash other.sh` / `./other.sh` with the variables that reach the other script's environment:
        the command's own prefix assignments and what was exported before it (not plain shell variables)."""
        if out[0].text.rsplit("/", 1)[-1] in ("bash", "sh"):
            script = next((w for w in out[1:] if not w.text.startswith("-")), None)
        else:
            script = out[0]
        if script is None or not script.text.endswith(".sh"):
            return
        saved = dict(self.env)
        for a in n.assigns:
            self.assign(a[0], a[1])
        names = {self.text[a[0] : a[1]].split("=", 1)[0].rstrip("+") for a in n.assigns} | self.exported
        passed = tuple(
            (name, v.text, v.unknown, v.options)
            for name in sorted(names)
            if (v := self.env.get(name)) is not None and v.items is None  # bash exports no arrays
        )
        self.env = saved
        self.script.calls.append(ScriptCall(script=script, line=out[0].line, passed=passed))

    def nested(self, span: Span, word: Word) -> None:
        """`bash -c "..."`: the string is read as a script of its own, positions kept where the string is plain."""
        if word.unknown or self.depth >= 8:
            return
        raw = self.text[span[0] : span[1]]
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and raw[1:-1] == word.text:
            offmap = [self.file_off(span[0] + 1 + k) for k in range(len(word.text) + 1)]
        else:
            offmap = [self.file_off(span[0])] * (len(word.text) + 1)
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
        elements = self.parsed.arrays.get(vstart)
        if elements is not None:
            items = [  # each element is word-split like a command's argument: `A=($ARGS)` makes several
                self.join(f)
                for a, b in elements
                for f in self.fields_of(self.expand(a, b, quoted=False), a)
                if not (len(f) == 1 and f[0].args)
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
            value = concat(old, value)
        self.env[name] = value

    def fields(self, span: Span, prefix: set[str] | None = None) -> list[Word]:
        segs = self.expand(span[0], span[1], quoted=False, prefix=prefix or set())
        return self.split(segs, span[0])

    def expand(
        self,
        start: int,
        end: int,
        quoted: bool,
        prefix: set[str] | None = None,
        assignment: bool = False,
    ) -> list[Seg]:
        """The segments of the text in [start, end) after quote removal and expansions."""
        text = self.text
        segs: list[Seg] = []
        i = start
        lit: list[str] = []
        lit_offs: list[int] = []

        def flush(q: bool) -> None:
            if lit:
                segs.append(Seg("".join(lit), tuple(lit_offs), q))
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
                    segs.append(Seg(text[i + 1], (self.file_off(i + 1),), True))
                    i += 2
                    continue
            if ch == "'" and not quoted:
                j = text.find("'", i + 1)
                j = end if j < 0 else j
                flush(quoted)
                segs.append(Seg(text[i + 1 : j], tuple(self.file_off(k) for k in range(i + 1, j)), True))
                segs[-1].quoted = True
                i = j + 1
                continue
            if ch == '"' and not quoted:
                j = skip_dquote(text, i) - 1
                flush(quoted)
                inner = self.expand(i + 1, j, quoted=True, prefix=prefix)
                segs.extend(inner or [Seg("", (), True)])
                i = j + 1
                continue
            if ch == "$" and i + 1 < end:
                nxt = text[i + 1]
                if nxt == "'" and not quoted:
                    j = text.find("'", i + 2)
                    j = end if j < 0 else j
                    flush(quoted)
                    body = text[i + 2 : j].replace("\\n", "\n").replace("\\t", "\t").replace("\\'", "'")
                    segs.append(Seg(body, (self.file_off(i),) * len(body), True))
                    i = j + 1
                    continue
                if nxt == "(":
                    j = skip_parens(text, i + 1)
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
                    j = skip_braced(text, i + 2, in_dquote=quoted)
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
                j = skip_subst(text, i)
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

    def param(self, start: int, end: int, quoted: bool, prefix: set[str]) -> list[Seg]:
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
                len(val.items)
                if (val.items is not None and index in ("@", "*"))
                else len(scalar_val(val).text)
            )
            return [Seg(str(count), (self.file_off(start),) * len(str(count)), quoted)]
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
    ) -> list[Seg]:
        written = self.written(start, end)
        if name in ("@", "*"):
            return [
                Seg(written, (self.file_off(start),), quoted, unknown="the script's own arguments", args=True)
            ]
        if val is None:
            val = self._get(name, index or None)
        if val is None:
            return [_unknown_seg(written, start, self, quoted, self.unset_reason(name, prefix), unset=True)]
        if val.items is not None:
            if index in ("@", "*"):
                if quoted and index == "@":
                    out: list[Seg] = []
                    for k, item in enumerate(val.items):
                        if k:
                            out.append(Seg("", (), True, brk=True))
                        out.extend(_val_segs(item, quoted, written, start, self))
                    return out
                joined = Val(text="")
                for k, item in enumerate(val.items):
                    joined = concat(joined, Val(text=" ")) if k else joined
                    joined = concat(joined, item)
                return _val_segs(joined, quoted, written, start, self)
            try:
                k = int(index or "0")
            except ValueError:
                return [_unknown_seg(written, start, self, quoted, "indexes an array with an expression")]
            if 0 <= k < len(val.items):
                return _val_segs(val.items[k], quoted, written, start, self)
            return []
        return _val_segs(val, quoted, written, start, self)

    def unset_reason(self, name: str, prefix: set[str]) -> str:
        if name in prefix:
            return (
                f"is not set before this command: `{name}=...` in front of a command only goes into the program's "
                f"environment, and bash expands `${name}` in its arguments before that"
            )
        where = f" (the script sources {', '.join(self.sourced)}, which is not read)" if self.sourced else ""
        return f"is not set in this file: it would come from the environment{where}"

    def arith(self, start: int, end: int, quoted: bool) -> Seg:
        written = self.written(start, end)
        inner = self.join(self.expand(start + 3, end - 2, quoted=True))
        if inner.unknown and not inner.options:
            return _unknown_seg(
                written, start, self, quoted, f"depends on a value that is unknown ({inner.unknown})"
            )
        exprs = inner.options if inner.unknown else (inner.text,)
        results: list[str] = []
        for expr in exprs:
            value = arith_eval(expr, self.known_text)
            if isinstance(value, str):
                return _unknown_seg(written, start, self, quoted, value)
            results.append(str(value))
        if len(set(results)) == 1:
            return Seg(results[0], (self.file_off(start),) * len(results[0]), quoted)
        return Seg(
            written,
            tuple(self.file_off(k) for k in range(start, end)),
            quoted,
            unknown=f"`{written}` {inner.unknown.split('` ', 1)[-1] if '` ' in inner.unknown else inner.unknown}",
            options=tuple(dict.fromkeys(results)),
        )

    def join(self, segs: list[Seg]) -> Val:
        """Segments as one value (an assignment: no word splitting)."""
        if not any(s.unknown for s in segs):  # the common case, in one pass
            text: list[str] = []
            offs: list[int] = []
            for s in segs:
                chunk = " " if s.brk else s.text
                text.append(chunk)
                offs.extend((tuple(s.offs) + (-1,) * len(chunk))[: len(chunk)])
            return Val(text="".join(text), offs=tuple(offs))
        val = Val()
        for s in segs:
            if s.brk:
                val = concat(val, Val(text=" "))
                continue
            piece = Val(text=s.text, offs=s.offs, unknown=s.unknown, options=s.options)
            val = concat(val, replace(piece, segs=(replace(s, quoted=False),)) if s.unknown else piece)
        return val

    def split(self, segs: list[Seg], start: int) -> list[Word]:
        """Word splitting, as the program's arguments (`"$@"` left out)."""
        words: list[Word] = []
        for f in self.fields_of(segs, start):
            if len(f) == 1 and f[0].args:
                continue  # "$@": whatever the script is called with; a file is linted as written
            words.append(_word(f, self.file_off(start), self.lines))
        return words

    def fields_of(self, segs: list[Seg], start: int) -> list[list[Seg]]:
        """Word splitting: unquoted known text splits on blanks; quoted text and unknown values do not."""
        fields: list[list[Seg]] = []
        current: list[Seg] = []
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
            offs = s.offs or (self.file_off(start),) * len(s.text)
            for m in re.finditer(r"[^ \t\n]+|[ \t\n]+", s.text):  # runs of text and of blanks
                if m.group(0)[0] in " \t\n":
                    end_field()
                else:
                    current.append(Seg(m.group(0), tuple(offs[m.start() : m.end()]), False))
                    started = True
        end_field()
        return fields


def _word(parts: list[Seg], fallback: int, lines: _Lines) -> Word:
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
    opaque = len(unknown) == len(parts) and text.startswith(("$", "`"))  # only a reference: any words at all
    return Word(text, line, col, unknown=reasons, candidates=candidates, opaque=opaque)


def _unknown_seg(written: str, start: int, r: _Reader, quoted: bool, why: str, unset: bool = False) -> Seg:
    seg = Seg(
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


def _val_segs(val: Val, quoted: bool, written: str, start: int, r: _Reader) -> list[Seg]:
    """A variable's value where `written` (its reference) stands: known pieces keep their offsets and split when
    unquoted; a value known only in part keeps its unknown pieces (e.g. `$HOME` in `a=1 b=$HOME/x`)."""
    if val.items is not None:
        val = val.items[0] if val.items else Val()
    if val.unknown and val.segs:
        return [replace(seg, quoted=quoted) for seg in val.segs]
    return [_val_seg(val, quoted, written, start, r)]


def _val_seg(val: Val, quoted: bool, written: str, start: int, r: _Reader) -> Seg:
    if val.unknown:
        why = val.unknown
        offs = tuple(r.file_off(start + k) for k in range(len(written)))
        return Seg(
            written,
            offs,
            quoted,
            unknown=f"`{written}`: {why}" if not why.startswith("`") else why,
            options=val.options,
        )
    return Seg(val.text, val.offs or (r.file_off(start),) * len(val.text), quoted)


def _coalesce(notes: list[str]) -> list[str]:
    """Consecutive "skipped" notes (a `case` block fails line by line) as one note over the line range."""
    out: list[str] = []
    pattern = re.compile(
        r"lines? (\d+)(?:-(\d+))?: bash syntax the reader could not parse \((.*)\); skipped$"
    )
    for note in notes:
        m, prev = pattern.match(note), pattern.match(out[-1]) if out else None
        if m and prev and int(m.group(1)) <= int(prev.group(2) or prev.group(1)) + 1:
            last = m.group(2) or m.group(1)
            out[-1] = (
                f"lines {prev.group(1)}-{last}: bash syntax the reader could not parse ({prev.group(3)}); skipped"
            )
            continue
        out.append(note)
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------- entry point


class _Lines:
    """Offset -> (line, column) in the file being read."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        k = bisect.bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1


@lru_cache(maxsize=8)
def read_script(text: str, inherited: Passed = ()) -> Script:
    """Every simple command of the script, in the order bash would meet them, with its expanded words.
    `inherited`: the environment another script runs this one with (ScriptCall.passed); a value from there has no
    position in this file, so it points where this script uses it.
    Raises GL000 (a positioned ConfigError) for a script bash itself would refuse (an unterminated quote)."""
    env = {name: Val(text=text_, unknown=why, options=options) for name, text_, why, options in inherited}
    reader = _Reader(text, _Lines(text), env=env)
    reader.exported = set(env)  # what a script gets in its environment it passes on to the scripts it runs
    script = _run(reader)
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
    return _run(_Reader(script, _Lines(file_text), list(offsets)))


def _run(reader: _Reader) -> Script:
    try:
        return reader.run()
    except ConfigError:
        raise  # a positioned GL000 (an unterminated quote): the script's own problem
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError) as exc:
        # a construct the reader mishandles: say so (GL000) instead of a traceback
        raise unreadable(
            f"the script reader failed on this file ({type(exc).__name__}: {exc}); please report it"
        ) from exc


def read_embedded(file_text: str, script: str, offsets: list[int]) -> Script:
    """A script held inside another file (a YAML `run: |` block): `offsets[i]` is the file offset of the
    script's character i, so positions point into the file."""
    return _read_embedded(file_text, script, tuple(offsets))
