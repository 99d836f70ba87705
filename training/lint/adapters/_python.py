"""TRL training scripts in Python, read from their syntax tree: `GRPOConfig(...)` calls and `TrlParser` scripts.

The script is parsed with the standard library's `ast` and never imported or run. What it gives:
- every keyword of a `GRPOConfig(...)` call whose value is a literal (`loss_type="cispo"`, `epsilon=0.2`,
  `-1`, lists, dicts), or a name bound once in the file to a literal, with the keyword's line and column;
- assignments to the config object afterwards (`training_args.beta = 0.04`), for a `GRPOConfig(...)` variable and
  for the `GRPOConfig` slot of `TrlParser((...)).parse_args_and_config()`.

Anything else a script can compute (a call, an f-string, a name assigned twice, an assignment inside an `if`) is
*unknown* (`_source.Unknown`, with the expression as written), so a rule never reads a value the script did not
state. Keys the script may set where the reader cannot see are unknown too (`Source.unseen`): in a `TrlParser`
script every field comes from the launch command line or its `--config` YAML, and `**kwargs` may set any field.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.lint.adapters._source import Entry, Source, Unknown, current_reading, note, unreadable

CONFIG_CLASS = "GRPOConfig"
PARSER_CLASS = "TrlParser"


@dataclass
class PythonSource(Source):
    """A `Source` read from a script's syntax tree, with what the reader noticed on the way."""

    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Kept here and shown with the findings (the engine's current reading)."""
        self.notes.append(text)
        note(text)

    def may_set_anything(self, why: str) -> None:
        self.unseen = f"{self.unseen}; {why}" if self.unseen else why


def is_python(text: str, path: str | None) -> bool:
    """A `.py` file, or text from a file without a suffix (stdin) that builds a GRPOConfig or a TrlParser."""
    suffix = Path(path).suffix.lower() if path else ""
    if suffix:
        return suffix == ".py"
    if CONFIG_CLASS not in text and PARSER_CLASS not in text:
        return False
    tree = _parse(text)
    return tree is not None and _Finder.run(tree).found


def detect(text: str, path: str | None) -> float:
    tree = _parse(text)
    if tree is None:
        return 0.0
    found = _Finder.run(tree)
    if found.calls:
        return 0.95
    if found.parser_slots:
        return 0.9
    return 0.0


def python_source(text: str) -> PythonSource:
    """The keys a TRL script sets on its GRPOConfig, with positions; raises ConfigError when there are none.

    Built once per file and trainer command: the engine re-runs the adapter to probe unknown values, and the
    source does not depend on the probes."""
    r = current_reading()
    key = ("python_source", hash(text))
    if r is not None and key in r.memo:
        r.commands, r.notes = list(r.memo[key, "commands"]), list(r.memo[key, "notes"])
        cached: PythonSource = r.memo[key]
        return cached
    src = _build(text)
    if r is not None:
        r.memo[key], r.memo[key, "commands"], r.memo[key, "notes"] = src, list(r.commands), list(r.notes)
    return src


def _build(text: str) -> PythonSource:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise unreadable(
            f"not valid Python: {exc.msg} (a TRL script is read from its syntax tree, never run)",
            exc.lineno,
            exc.offset,
        ) from None
    found = _Finder.run(tree)
    if not found.found:
        raise unreadable(
            f"no `{CONFIG_CLASS}(...)` call and no `{PARSER_CLASS}` with {CONFIG_CLASS} in this Python file; "
            "lint the YAML or the command line that configures the trainer instead"
        )
    lines = text.splitlines()
    constants = _module_constants(tree)
    src = PythonSource()
    # each GRPOConfig(...) call (or the TrlParser parse) is a "trainer command": the engine lints each on its own
    r = current_reading()
    places: list[ast.AST] = [c for c, _ in found.calls] or [a for a, _ in found.parser_slots]
    if r is not None:
        r.commands = [(line or 1, col or 1) for line, col in (_pos(lines, p) for p in places)]
    index = r.command if r is not None and r.command < len(places) else 0
    if found.calls:
        call, target = found.calls[index]
        src.anchor = _pos(lines, call)
        _read_call(src, call, lines, constants)
        names = {target} if target else set()
    else:
        first = found.parser_slots[0]
        src.anchor = _pos(lines, first[0])
        names = {name for _, name in found.parser_slots}
        src.may_set_anything(
            f"{PARSER_CLASS} (line {first[0].lineno}) fills the {CONFIG_CLASS} from the launch command line or its "
            "--config YAML, not from this file"
        )
        src.note(
            f"{CONFIG_CLASS} fields come from the launch command line or its --config YAML ({PARSER_CLASS}): only "
            "the script's own assignments are read; lint the launch with `python -m grpolab.preflight -- <command>`"
        )
    if names:
        _read_assignments(src, tree, names, lines, constants)
    return src


# ---- finding the config


@dataclass
class _Found:
    calls: list[tuple[ast.Call, str | None]] = field(default_factory=list)  # GRPOConfig(...) and its variable
    parser_slots: list[tuple[ast.Assign, str]] = field(
        default_factory=list
    )  # (the assignment, config variable)

    @property
    def found(self) -> bool:
        return bool(self.calls or self.parser_slots)


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.out = _Found()
        self.tuples: dict[str, list[str]] = {}  # `dataclass_types = (A, GRPOConfig, B)`
        self.parsers: dict[str, list[str]] = {}  # parser variable -> its dataclass names, in order
        self.seen: set[int] = set()

    @classmethod
    def run(cls, tree: ast.AST) -> _Found:
        finder = cls()
        finder.visit(tree)
        for node in ast.walk(tree):  # calls that are not the value of a plain assignment
            if isinstance(node, ast.Call) and _callee(node) == CONFIG_CLASS and id(node) not in finder.seen:
                finder.out.calls.append((node, None))
        finder.out.calls.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        return finder.out

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        target = node.targets[0] if len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and isinstance(value, ast.Tuple):
            self.tuples[target.id] = [_dotted(e) for e in value.elts]
        if isinstance(value, ast.Call):
            callee = _callee(value)
            if callee == CONFIG_CLASS:
                self.seen.add(id(value))
                self.out.calls.append((value, target.id if isinstance(target, ast.Name) else None))
            elif callee == PARSER_CLASS and isinstance(target, ast.Name) and value.args:
                self.parsers[target.id] = self._classes(value.args[0])
            elif (
                isinstance(value.func, ast.Attribute)
                and value.func.attr in ("parse_args_and_config", "parse_args_into_dataclasses")
                and isinstance(value.func.value, ast.Name)
                and value.func.value.id in self.parsers
                and isinstance(target, ast.Tuple)
            ):
                classes = self.parsers[value.func.value.id]
                index = classes.index(CONFIG_CLASS) if CONFIG_CLASS in classes else len(target.elts)
                slot = target.elts[index] if index < len(target.elts) else None
                if isinstance(slot, ast.Name):
                    self.out.parser_slots.append((node, slot.id))
        self.generic_visit(node)

    def _classes(self, arg: ast.expr) -> list[str]:
        if isinstance(arg, (ast.Tuple, ast.List)):
            return [_dotted(e) for e in arg.elts]
        if isinstance(arg, ast.Name):
            return self.tuples.get(arg.id, [])
        return [_dotted(arg)]


def _dotted(node: ast.expr) -> str:
    """`GRPOConfig` for `GRPOConfig` and `trl.GRPOConfig` alike."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _callee(call: ast.Call) -> str:
    return _dotted(call.func)


# ---- reading values


_UNKNOWN = object()


def _module_constants(tree: ast.Module) -> dict[str, Any]:
    """Names bound exactly once in the whole file, to a literal: `LR = 1e-6` lets `learning_rate=LR` be read."""
    bound: dict[str, list[ast.expr | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                for name in _target_names(t):
                    bound.setdefault(name, []).append(node.value if isinstance(t, ast.Name) else None)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            bound.setdefault(node.target.id, []).extend([None, None])  # modified: never a constant
        elif isinstance(node, (ast.For, ast.With, ast.FunctionDef, ast.Import, ast.ImportFrom)):
            for name in _bound_by(node):
                bound.setdefault(name, []).extend([None, None])
    out: dict[str, Any] = {}
    for name, values in bound.items():
        if len(values) == 1 and values[0] is not None:
            v = _literal(values[0], {})
            if v is not _UNKNOWN:
                out[name] = v
    return out


def _target_names(t: ast.expr) -> list[str]:
    if isinstance(t, ast.Name):
        return [t.id]
    if isinstance(t, (ast.Tuple, ast.List)):
        return [n for e in t.elts for n in _target_names(e)]
    return []


def _bound_by(node: ast.AST) -> list[str]:
    if isinstance(node, ast.For):
        return _target_names(node.target)
    if isinstance(node, ast.With):
        return [n for item in node.items if item.optional_vars for n in _target_names(item.optional_vars)]
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def _literal(node: ast.expr, constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN
    return list(value) if isinstance(value, tuple) else value


def _pos(lines: list[str], node: ast.AST) -> tuple[int | None, int | None]:
    """1-based line and character column (ast gives a UTF-8 byte offset)."""
    line = getattr(node, "lineno", None)
    offset = getattr(node, "col_offset", None)
    if line is None or offset is None:
        return (line, None)
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return (line, len(text.encode("utf-8")[:offset].decode("utf-8", errors="replace")) + 1)


def _set(
    src: PythonSource,
    name: str,
    shown: str,
    value_node: ast.expr,
    at: ast.AST,
    lines: list[str],
    constants: dict[str, Any],
) -> None:
    line, col = _pos(lines, at)
    value = _literal(value_node, constants)
    if value is _UNKNOWN:
        written = ast.unparse(value_node)
        reason = f"`{written}` is computed when the script runs"
        src.entries[name] = Entry(value=Unknown(reason, written), key=shown, line=line, column=col)
        return
    src.entries[name] = Entry(value=value, key=shown, line=line, column=col)


def _read_call(src: PythonSource, call: ast.Call, lines: list[str], constants: dict[str, Any]) -> None:
    for kw in call.keywords:
        if kw.arg is None:  # `**kwargs`: a literal dict is read, anything else may set any field
            spread = _literal(kw.value, constants)
            if isinstance(spread, dict):
                line, col = _pos(lines, kw)
                for k, v in spread.items():
                    src.entries[str(k)] = Entry(value=v, key=str(k), line=line, column=col)
            else:
                src.may_set_anything(
                    f"`**{ast.unparse(kw.value)}` (line {kw.value.lineno}) may set any GRPOConfig field"
                )
            continue
        _set(src, kw.arg, kw.arg, kw.value, kw, lines, constants)
    if call.args:
        src.may_set_anything(f"positional arguments to GRPOConfig (line {call.lineno}) are not read")


def _read_assignments(
    src: PythonSource, tree: ast.Module, names: set[str], lines: list[str], constants: dict[str, Any]
) -> None:
    """`cfg.key = value` after the config exists; an assignment under `if`/`for`/`try` is unknown."""

    def visit(body: list[ast.stmt], conditional: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in names:
                        _assign(t, stmt.value, conditional)
            if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                visit(stmt.body, conditional)  # the script's entry point runs as written
                visit(stmt.orelse, True)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.With)):
                visit(stmt.body, conditional)  # `main()` and `with` bodies run as written
            elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.Try)):
                visit(stmt.body, True)
                visit(stmt.orelse, True)
                if isinstance(stmt, ast.Try):
                    visit(stmt.finalbody, True)
                    for handler in stmt.handlers:
                        visit(handler.body, True)

    def _assign(t: ast.Attribute, value: ast.expr, conditional: bool) -> None:
        shown = f"{ast.unparse(t.value)}.{t.attr}"
        if not conditional:
            _set(src, t.attr, shown, value, t, lines, constants)
            return
        line, col = _pos(lines, t)
        before = src.entries.get(t.attr)
        new = _literal(value, constants)
        # the values it may take: the one set before (when the script states it) or this branch's
        candidates = tuple(
            v
            for v in (before.value if before is not None else _UNKNOWN, new)
            if v is not _UNKNOWN and not isinstance(v, Unknown)
        )
        reason = f"`{shown} = {ast.unparse(value)}` runs only under a condition (line {line})"
        written = ast.unparse(value)
        src.entries[t.attr] = Entry(
            value=Unknown(reason, written, candidates), key=shown, line=line, column=col
        )

    visit(tree.body, False)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None
