"""The syntax half of the bash reader: tree-sitter-bash's grammar, turned into the few statement kinds we evaluate.

tree-sitter-bash parses the whole script (statements, lists, pipelines, `if`/`case`/`for`/`while`, functions,
`(( ))`, `[[ ]]`, arrays, redirections, here-documents) into a tree with each node's byte span; here the tree
becomes `Command`, `If`, `For`, `Case`, ... nodes whose words are spans of the original text (character offsets),
from which `_bash.py` expands each word itself. The grammar is error-tolerant: text it cannot parse is an `ERROR`
node, kept here as a `Skip` (the evaluator notes it and makes what it assigns unknown) while the rest of the script
is still read. A quote that is never closed is GL000, as bash would refuse to run the script.

The word-level helpers at the end (`skip_dquote`, `skip_braced`, ...) find where a quote or substitution inside a
word ends; the evaluator uses them while expanding a word's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from training.config_io import ConfigError
from training.lint.adapters._source import unreadable

if TYPE_CHECKING:
    from tree_sitter import Language
    from tree_sitter import Node as TSNode

Span = tuple[int, int]  # [start, end) character offsets in the script


@dataclass
class Command:
    """A simple command: prefix assignments and words (`export`/`local`/`unset`/`[ ]` are commands too)."""

    pos: Span
    assigns: list[Span] = field(default_factory=list)
    words: list[Span] = field(default_factory=list)


@dataclass
class Arith:
    """`(( expr ))` as a command (its span, `((` to `))`), or the header of `for (( ; ; ))`."""

    pos: Span


@dataclass
class Block:
    """Statements run in order: `list` (`a && b || c`, with `ops` between `parts`), `pipeline`, `group` (`{ }`),
    `subshell` (`( )`: its assignments do not outlive it) or `loop` (a `while`/`until`/`for (( ))`: condition and
    body, read once)."""

    kind: str
    pos: Span
    parts: list[Node]
    ops: list[str] = field(default_factory=list)


@dataclass
class If:
    pos: Span
    branches: list[tuple[list[Node] | None, list[Node]]]  # (condition, body); the `else` has no condition


@dataclass
class For:
    pos: Span
    name: Span | None
    items: list[Span] | None  # None: no `in` list (the script's arguments)
    body: list[Node]


@dataclass
class Function:
    pos: Span
    name: Span
    body: Node


@dataclass
class Case:
    pos: Span
    word: Span
    arms: list[tuple[list[Span], list[Node]]]  # (patterns, body)


@dataclass
class Skip:
    """Text the grammar could not parse."""

    pos: Span
    message: str


Node: TypeAlias = Command | Arith | Block | If | For | Function | Case | Skip


@dataclass
class Parsed:
    statements: list[Node]
    arrays: dict[int, list[Span]]  # offset of an array assignment's `(` -> its elements

    def nodes(self) -> Iterator[Node]:
        """Every node, nested ones included, in a branch the reader takes or not."""
        stack = list(reversed(self.statements))
        while stack:
            n = stack.pop()
            yield n
            inner: list[Node] = []
            if isinstance(n, Block):
                inner = n.parts
            elif isinstance(n, If):
                inner = [p for cond, body in n.branches for p in (cond or []) + body]
            elif isinstance(n, For):
                inner = n.body
            elif isinstance(n, Function):
                inner = [n.body]
            elif isinstance(n, Case):
                inner = [p for _, body in n.arms for p in body]
            stack.extend(reversed(inner))

    def skips(self) -> list[Skip]:
        """Every piece of text the grammar could not parse."""
        return [n for n in self.nodes() if isinstance(n, Skip)]


_LANGUAGE: Language | None = None


def _language() -> Language:
    global _LANGUAGE
    if _LANGUAGE is None:
        import tree_sitter_bash
        from tree_sitter import Language

        _LANGUAGE = Language(tree_sitter_bash.language())
    return _LANGUAGE


def parse(text: str) -> Parsed:
    """The script's statements, in order, with character spans into `text`. Raises GL000 for a quote or
    backquote that is never closed."""
    from tree_sitter import Parser

    data = text.encode("utf-8", "surrogatepass")
    tree = Parser(_language()).parse(data)  # a parser per call: API worker threads never share one
    builder = _Builder(text, data)
    if tree.root_node.has_error:
        builder.check_quotes(tree.root_node)
    return Parsed(builder.statements(tree.root_node), builder.arrays)


def command_words(text: str) -> list[list[str]]:
    """The written words of every simple command, nested ones included (for wrapper-script detection)."""
    return [[text[a:b] for a, b in n.words] for n in parse(text).nodes() if isinstance(n, Command)]


# ------------------------------------------------------------------------------------------ tree -> nodes

_SIMPLE = frozenset(
    {
        "command",
        "variable_assignment",
        "variable_assignments",
        "declaration_command",
        "unset_command",
        "test_command",
        "redirected_statement",
    }
)
_TEST_GROUPS = frozenset({"binary_expression", "unary_expression", "parenthesized_expression"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_NOT_STATEMENTS = frozenset({"heredoc_body", "heredoc_redirect", "herestring_redirect", "file_redirect"})
_RESERVED = frozenset({"then", "elif", "else", "fi", "do", "done", "esac", "in", "}"})
_UNCLOSED = {  # (node, its missing closer) -> what bash reports as never closed (GL000)
    ("string", '"'): "double quote",
    ("command_substitution", "`"): "backquote",
    ("command_substitution", ")"): "`$(`",
    ("expansion", "}"): "`${`",
    ("array", ")"): "`(`",
}
_CLOSERS = {
    "if_statement": "fi",
    "for_statement": "done",
    "c_style_for_statement": "done",
    "while_statement": "done",
    "case_statement": "esac",
    "subshell": ")",
    "compound_statement": "}",
    "do_group": "done",
}


class _Builder:
    def __init__(self, text: str, data: bytes) -> None:
        self.text = text
        self.arrays: dict[int, list[Span]] = {}
        if len(data) == len(text):
            self.char_at: list[int] | None = None  # ASCII: byte offsets are character offsets
        else:
            table: list[int] = []
            for k, ch in enumerate(text):
                table.extend([k] * len(ch.encode("utf-8", "surrogatepass")))
            table.append(len(text))
            self.char_at = table

    def span(self, n: TSNode) -> Span:
        if self.char_at is None:
            return n.start_byte, n.end_byte
        return self.char_at[n.start_byte], self.char_at[n.end_byte]

    # -- errors

    def check_quotes(self, root: TSNode) -> None:
        """GL000 for a quote the grammar found unclosed (a MISSING `"`, or an ERROR starting at a lone `'`)."""
        stack = [root]
        while stack:
            n = stack.pop()
            if not n.has_error:
                continue
            unclosed = _UNCLOSED.get((n.parent.type if n.parent else "", n.type)) if n.is_missing else None
            if unclosed and n.parent is not None:
                raise unreadable(f"unterminated {unclosed}", *line_col(self.text, self.span(n.parent)[0]))
            if n.type == "ERROR":
                self._quotes_in(*self.span(n))
            stack.extend(reversed(n.children))

    def _quotes_in(self, start: int, end: int) -> None:
        text = self.text
        i = start
        while i < end:
            ch = text[i]
            if ch == "\\":
                i += 2
            elif ch == "'":
                j = text.find("'", i + 1)
                if j < 0:
                    raise unreadable("unterminated single quote", *line_col(text, i))
                i = j + 1
            elif ch == '"':
                i = skip_dquote(text, i)
            elif ch == "`":
                i = skip_subst(text, i)
            elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
                k = text.find("\n", i)
                i = len(text) if k < 0 else k
            else:
                i += 1

    def skip(self, n: TSNode, message: str = "") -> Skip:
        start, end = self.span(n)
        return Skip(
            (start, end), message or f"no bash grammar rule matches `{_shown(self.text, start, end)}`"
        )

    # -- statements

    def statements(self, parent: TSNode, children: list[TSNode] | None = None) -> list[Node]:
        out: list[Node] = []
        for c in parent.children if children is None else children:
            if c.type == "ERROR" and out and isinstance(out[-1], Command) and out[-1].words:
                cmd, span = out[-1], self.span(c)
                words = _words_in(self.text, *span)
                if words and self.adjacent(cmd.words[-1], words[0]):  # `x a=${oc.env:G}`: a word bash reads
                    cmd.words[-1] = (cmd.words[-1][0], words[0][1])
                    cmd.words.extend(words[1:])
                    cmd.pos = (cmd.pos[0], span[1])
                    continue
            if c.is_named and c.type != "comment":
                node = self.statement(c)
                if node is not None:
                    out.append(node)
            elif c.type in (";;", ";&", ";;&") and parent.type != "case_item":
                out.append(self.skip(c, f"`{c.type}` outside a `case`"))
            elif c.is_missing:
                out.append(self.skip(c, f"a `{c.type}` is missing here"))
            elif parent.type == "ERROR" and c.type not in (";", "&", "\n"):
                out.append(self.skip(c))  # the whole script is an error: its stray tokens
        return self.whole_lines(out) if any(isinstance(n, Skip) for n in out) else out

    def whole_lines(self, nodes: list[Node]) -> list[Node]:
        """A statement sharing a line with text that could not be parsed is skipped with it: bash rejects the
        whole line (`N=8 )` assigns nothing), and the grammar's recovery may have cut it anywhere."""
        out: list[Node] = []
        for n in nodes:
            if isinstance(n, Skip):
                first = self.text.rfind("\n", 0, n.pos[0]) + 1
                while out and out[-1].pos[1] > first:
                    prev = out.pop()
                    n = Skip((min(prev.pos[0], n.pos[0]), n.pos[1]), n.message)
                out.append(n)
            elif out and isinstance(out[-1], Skip) and self.text.find("\n", out[-1].pos[1], n.pos[0]) < 0:
                out[-1] = Skip((out[-1].pos[0], n.pos[1]), out[-1].message)
            else:
                out.append(n)
        return out

    def statement(self, n: TSNode) -> Node | None:
        t = n.type
        if t == "ERROR":
            return self.skip(n)
        if t in _SIMPLE:
            return self.skip(n) if n.has_error and _broken(n) else self.simple(n)
        closer = _CLOSERS.get(t)
        if closer and any(c.is_missing for c in n.children):
            return self.skip(n, f"`{closer}` is missing")
        if t == "list":
            parts: list[Node] = []
            ops: list[str] = []  # ops[k] joins parts[k] and parts[k + 1]
            pending = ";"  # the grammar's recovery may drop an operator
            for c in n.children:
                node = self.statement(c) if c.is_named and c.type != "comment" else None
                if node is not None:
                    if parts:
                        ops.append(pending)
                    parts.append(node)
                    pending = ";"
                elif c.type in ("&&", "||"):
                    pending = c.type
            return Block("list", self.span(n), parts, ops)
        if t == "pipeline":
            return Block("pipeline", self.span(n), self.statements(n))
        if t == "negated_command":  # `! cmd`: run, its status inverted (a test the reader does not decide)
            return Block("pipeline", self.span(n), self.statements(n))
        if t == "compound_statement":
            if n.child_count and n.children[0].type == "((":
                return Arith(self.span(n))
            return Block("group", self.span(n), self.statements(n))
        if t == "subshell":
            return Block("subshell", self.span(n), self.statements(n))
        if t == "if_statement":
            return self.if_(n)
        if t == "for_statement":
            return self.for_(n)
        if t == "c_style_for_statement":
            header = [c for c in n.children if c.type in ("((", "))")]
            parts = [Arith((self.span(header[0])[0], self.span(header[-1])[1]))] if len(header) == 2 else []
            return Block("loop", self.span(n), parts + self.statements(n, _body_children(n)))
        if t == "while_statement":
            return Block("loop", self.span(n), self.statements(n, _body_children(n)))
        if t == "function_definition":
            return self.function(n)
        if t == "case_statement":
            return self.case(n)
        if t == "do_group":
            return Block("group", self.span(n), self.statements(n))
        if t in _NOT_STATEMENTS:
            return None
        return self.skip(n, f"`{t}` is not read")

    def simple(self, n: TSNode) -> Node | None:
        t = n.type
        if t == "redirected_statement":
            body = n.child_by_field_name("body")
            node = self.statement(body) if body is not None else None
            if isinstance(node, Command):
                for r in n.children:  # `cmd >log arg`: the grammar files `arg` under the redirect
                    if r.type == "file_redirect":
                        dest = [c for c in r.children if c.is_named and c.type != "file_descriptor"]
                        node.words.extend(self.span(c) for c in dest[1:])
            # `cat <<EOF | python -m ...`: the grammar files the rest of the line under the here-document
            rest = [
                c
                for r in n.children
                if r.type == "heredoc_redirect"
                for c in r.children
                if c.is_named and not c.type.startswith("heredoc")
            ]
            if rest and node is not None:
                return Block("group", self.span(n), [node, *self.statements(n, rest)])
            return node
        if t == "variable_assignment":
            return Command(self.span(n), assigns=[self.assignment(n)])
        if t == "variable_assignments":
            return Command(
                self.span(n),
                assigns=[self.assignment(c) for c in n.children if c.type == "variable_assignment"],
            )
        if t in ("declaration_command", "unset_command"):
            words = self.glued([self.span(c) for c in n.children if c.type != "comment"])
            for c in n.children:
                if c.type == "variable_assignment":
                    self.assignment(c)
            return Command(self.span(n), words=words)
        if t == "test_command":
            return Command(self.span(n), words=self.glued(self.test_words(n)))
        name = n.child_by_field_name("name")
        if name is not None and self.text[slice(*self.span(name))] in _RESERVED:
            return self.skip(n, f"`{self.text[slice(*self.span(name))]}` without the statement it closes")
        cmd = Command(self.span(n))
        commands = [cmd]
        last: list[Span] | None = None  # the list the previous piece went to (None after a redirect)
        end = self.span(n)[0]
        for c in n.children:
            if c.type == "comment":
                continue
            if c.type == "variable_assignment" and not c.has_error:
                pieces = [self.assignment(c)]
            elif c.is_named and not c.type.endswith("redirect"):
                # the grammar's recovery inside a word (`a=${oc.env:X}`) may cut words anywhere: bash's rules
                pieces = (_words_in(self.text, *self.span(c)) if c.has_error else None) or [self.span(c)]
            else:
                last, end = None, self.span(c)[1]
                continue
            for span in pieces:
                cmd, last, end = self.add_piece(n, commands, cmd, last, end, span, c.type)
        return cmd if len(commands) == 1 else Block("group", self.span(n), list(commands))

    def add_piece(
        self,
        n: TSNode,
        commands: list[Command],
        cmd: Command,
        last: list[Span] | None,
        end: int,
        span: Span,
        kind: str,
    ) -> tuple[Command, list[Span] | None, int]:
        """One word (or assignment) of a command: glued to the previous one when nothing separates them."""
        if _ends_command(self.text[end : span[0]]):
            # the grammar sometimes runs a command on over a newline (after `a |b`); bash ends it there
            cmd = Command((span[0], self.span(n)[1]))
            commands.append(cmd)
            last = None
        if last and self.adjacent(last[-1], span):
            last[-1] = (last[-1][0], span[1])
            return cmd, last, span[1]
        assigning = kind == "variable_assignment" or (
            not cmd.words and _ASSIGNMENT.match(self.text, span[0], span[1]) is not None
        )
        last = cmd.assigns if assigning else cmd.words
        last.append(span)
        return cmd, last, span[1]

    def adjacent(self, a: Span, b: Span) -> bool:
        """Two pieces of one word: nothing between them but line continuations. The grammar splits some words
        bash reads as one (`$A/x/$b`, `L$1`, `'a'\\<newline>'b'`)."""
        gap = self.text[a[1] : b[0]]
        return not gap or not gap.replace("\\\n", "")

    def glued(self, spans: list[Span]) -> list[Span]:
        out: list[Span] = []
        for span in spans:
            if out and self.adjacent(out[-1], span):
                out[-1] = (out[-1][0], span[1])
            else:
                out.append(span)
        return out

    def assignment(self, n: TSNode) -> Span:
        value = n.child_by_field_name("value")
        if value is not None and value.type == "array":
            self.arrays[self.span(value)[0]] = self.glued(
                [self.span(c) for c in value.children if c.is_named and c.type != "comment"]
            )
        return self.span(n)

    def test_words(self, n: TSNode) -> list[Span]:
        """`[ a = b ]` / `[[ -z $x ]]` as the words `[`, `a`, `=`, `b`, `]`."""
        words: list[Span] = []
        for c in n.children:
            if c.type in _TEST_GROUPS:
                words.extend(self.test_words(c))
            elif c.type != "comment":
                words.append(self.span(c))
        return words

    def if_(self, n: TSNode) -> If:
        branches: list[tuple[list[Node] | None, list[Node]]] = []
        cond: list[TSNode] = []
        body: list[TSNode] = []
        in_body = False
        for c in n.children:
            if c.type == "then":
                in_body = True
            elif c.type in ("elif_clause", "else_clause"):
                sub = self.if_(c)
                branches.extend(sub.branches)
            elif c.type not in ("if", "elif", "else", "fi"):
                (body if in_body else cond).append(c)
        head: list[tuple[list[Node] | None, list[Node]]] = []
        if n.type == "else_clause":
            head = [(None, self.statements(n, cond + body))]
        else:
            head = [(self.statements(n, cond), self.statements(n, body))]
        return If(self.span(n), head + branches)

    def for_(self, n: TSNode) -> For:
        name = n.child_by_field_name("variable")
        items: list[Span] | None = None
        seen_in = False
        for c in n.children:
            if c.type == "in":
                seen_in, items = True, []
            elif c.type == "do_group" or c.type in (";", "\n"):
                seen_in = False
            elif seen_in and c.is_named and c.type != "comment" and items is not None:
                items.append(self.span(c))
        return For(
            self.span(n),
            self.span(name) if name is not None else None,
            None if items is None else self.glued(items),
            self.statements(n, _body_children(n)),
        )

    def function(self, n: TSNode) -> Node:
        name = n.child_by_field_name("name")
        body = n.child_by_field_name("body")
        node = self.statement(body) if body is not None else None
        if name is None or node is None:
            return self.skip(n)
        return Function(self.span(n), self.span(name), node)

    def case(self, n: TSNode) -> Node:
        value = n.child_by_field_name("value")
        if value is None:
            return self.skip(n)
        arms: list[tuple[list[Span], list[Node]]] = []
        for item in n.children:
            if item.type == "ERROR":
                return self.skip(n, f"no bash grammar rule matches `{_shown(self.text, *self.span(item))}`")
            if item.type != "case_item":
                continue
            patterns: list[Span] = []
            body: list[TSNode] = []
            in_body = False
            for c in item.children:
                if c.type == ")" and not in_body:
                    in_body = True
                elif not in_body and (c.type == "ERROR" or c.is_missing):
                    return self.skip(n, f"no bash grammar rule matches `{_shown(self.text, *self.span(c))}`")
                elif not in_body and c.is_named and c.type != "comment":
                    patterns.append(self.span(c))
                elif in_body:
                    body.append(c)
            arms.append((patterns, self.statements(item, body)))
        return Case(self.span(n), self.span(value), arms)


def _words_in(text: str, start: int, end: int) -> list[Span] | None:
    """The words of text[start:end] by bash's rules (blanks split; quotes, `${ }`, `$( )` and backquotes hold
    together), or None when it holds an operator (`;`, `|`, `(`, ...): then it is no run of words."""
    spans: list[Span] = []
    i = start
    while i < end:
        ch = text[i]
        if ch in " \t\n":
            i += 1
            continue
        if text.startswith("\\\n", i):
            i += 2
            continue
        j = i
        while j < end and text[j] not in " \t\n":
            c = text[j]
            if c in ";&|()<>":
                return None
            if c == "\\":
                j += 2
            elif c == "'":
                k = text.find("'", j + 1)
                j = end if k < 0 else k + 1
            elif c == '"':
                j = skip_dquote(text, j)
            elif c == "`":
                j = skip_subst(text, j)
            elif c == "$" and text.startswith("{", j + 1):
                j = skip_braced(text, j + 2)
            elif c == "$" and text.startswith("(", j + 1):
                j = skip_parens(text, j + 1)
            else:
                j += 1
        spans.append((i, min(j, end)))
        i = j
    return spans


def _ends_command(gap: str) -> bool:
    """Whether the text between two words of a command ends it: a newline that is not a line continuation, or
    a comment (which runs to the end of its line, `\\` included)."""
    i = 0
    while i < len(gap):
        if gap.startswith("\\\n", i):
            i += 2
        elif gap[i] in "#\n":
            return True
        else:
            i += 1
    return False


def _broken(n: TSNode) -> bool:
    """An error in the statement's own structure. One inside a word is not (the grammar misreads
    `$(( a * (b + 1) ))` inside `${X:=...}`, and `${a.b}` is a word bash rejects only when it runs it): words are
    expanded from the text by `_bash.py`. A piece with an error must still be words by bash's rules."""
    for c in n.children:
        if not c.has_error and not c.is_missing:
            continue
        if c.is_missing:
            return True
        if c.type in _SIMPLE or c.type in _TEST_GROUPS:
            if _broken(c):
                return True
        elif not _error_is_words(c, inner=c.type == "array"):
            return True  # `a(b c)`, a redirect the recovery ran on: operators where the grammar saw words
    return False


def _shown(text: str, start: int, end: int) -> str:
    shown = text[start:end].strip().split("\n", 1)[0]
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _error_is_words(n: TSNode, inner: bool = False) -> bool:
    """Whether the node's text is a run of words by bash's rules (`inner`: inside its brackets)."""
    raw = (n.text or b"").decode("utf-8", "replace")
    if inner:
        raw = raw[1:-1] if raw.endswith(")") else raw[1:]
    try:
        return bool(_words_in(raw, 0, len(raw)))
    except ConfigError:  # a quote the grammar's recovery cut in two
        return False


def _body_children(n: TSNode) -> list[TSNode]:
    """The statements of a loop: its condition (a `while`) and its `do ... done` group."""
    out: list[TSNode] = []
    for c in n.children:
        if c.type == "do_group":
            out.extend(c.children)
        elif c.is_named and c.type not in ("variable_name", "comment") and n.type == "while_statement":
            out.append(c)
    return out


# ------------------------------------------------------------------------------------------ word helpers


def line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def skip_dquote(text: str, i: int) -> int:
    """From the opening `"` to just after its closing one."""
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
            j = skip_subst(text, j)
            continue
        if ch == "$" and text.startswith("{", j + 1):
            j = skip_braced(text, j + 2, in_dquote=True)
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
