"""Parse YAML/JSON config text safely and remember where every value came from.

Config files are small, hand-written documents. We refuse what no honest config needs (anchors and
aliases, very deep nesting, megabytes of text) *before* building Python objects, so a hostile file is
rejected in milliseconds with a message instead of exhausting memory. Every value keeps its
(line, column) so validation errors and lint findings can point into the user's file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000


class ConfigSyntaxError(ValueError):
    """The text cannot be read as a config. Carries a position when one is known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}, column {self.column}: {self.message}"
        return self.message


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceMap:
    """JSON pointer -> position of the key (for mappings) or value (for list items)."""

    text: str
    positions: dict[str, Position] = field(default_factory=dict)

    def locate(self, pointer: str) -> Position | None:
        """Position of `pointer`, or of its nearest ancestor that the file spells out."""
        p = pointer
        while True:
            if p in self.positions:
                return self.positions[p]
            if not p:
                return None
            p = p.rsplit("/", 1)[0]

    def has(self, pointer: str) -> bool:
        return pointer in self.positions


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def loc_to_pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    return "".join("/" + escape_pointer_token(str(part)) for part in loc)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps 'yes'/'no'/'on'/'off' as strings (YAML 1.2 booleans only)."""


# YAML 1.1 turns `on`/`off`/`yes`/`no` into booleans, which surprises users of key names like `on`.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_RESOLVER = _Loader("")


def _syntax_error(exc: yaml.YAMLError) -> ConfigSyntaxError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return ConfigSyntaxError(f"not valid YAML/JSON: {problem}", mark.line + 1, mark.column + 1)
    return ConfigSyntaxError(f"not valid YAML/JSON: {problem}")


def _events(text: str) -> Iterator[yaml.Event]:
    """YAML events, from libyaml when it is available (about 20x faster than the pure-Python parser)."""
    c_parser = getattr(getattr(yaml, "_yaml", None), "CParser", None)
    if c_parser is None:
        yield from yaml.parse(text, Loader=_Loader)
        return
    parser = c_parser(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def _scalar(event: yaml.ScalarEvent) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
    node = yaml.ScalarNode(tag, event.value, None, None, event.style)  # marks unused by the constructors
    build = _RESOLVER.yaml_constructors.get(tag)
    if build is None:
        p = _pos(event)
        raise ConfigSyntaxError(f"the YAML tag {tag} is not accepted in configs", p.line, p.column)
    try:
        return build(_RESOLVER, node)
    except ValueError as exc:  # e.g. an integer of over 4,300 digits (Python's int conversion limit)
        p = _pos(event)
        raise ConfigSyntaxError(
            f"the value '{event.value[:40]}' cannot be read ({exc})", p.line, p.column
        ) from None


_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _pos(event: yaml.Event) -> Position:
    mark = event.start_mark
    return Position(mark.line + 1, mark.column + 1) if mark is not None else Position(1, 1)


def parse_text(text: str | bytes) -> tuple[Any, SourceMap]:
    """Parse YAML or JSON text into plain Python values plus a SourceMap, in one pass over the events.

    Raises ConfigSyntaxError (with line/column where known) for anything that is not a sane config.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigSyntaxError(_too_big(len(text)))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigSyntaxError(f"the file is not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigSyntaxError(_too_big(len(text)))
    if "\x00" in text:
        raise ConfigSyntaxError("the text contains NUL bytes; is this a binary file?")
    smap = SourceMap(text=text)
    try:
        value = _build(_events(text), smap)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc) from None
    return ({} if value is None else value), smap


def _too_big(n: int) -> str:
    return f"the config is {n:,} bytes; the limit is {MAX_CONFIG_BYTES:,} (a run config is a few KB)"


class _Frame:
    __slots__ = ("container", "key", "pointer")

    def __init__(self, container: dict[str, Any] | list[Any], pointer: str):
        self.container = container
        self.pointer = pointer
        self.key: str | None = None  # mapping: the key waiting for its value


def _build(events: Iterator[yaml.Event], smap: SourceMap) -> Any:
    stack: list[_Frame] = []
    result: Any = None
    documents = 0
    count = 0

    def attach(value: Any, event: yaml.Event) -> str | None:
        """Put a finished value into the open container; returns the pointer of a new container."""
        nonlocal result
        if not stack:
            result = value
            return ""
        top = stack[-1]
        if isinstance(top.container, list):
            pointer = f"{top.pointer}/{len(top.container)}"
            smap.positions[pointer] = _pos(event)
            top.container.append(value)
            return pointer
        assert top.key is not None
        pointer = f"{top.pointer}/{escape_pointer_token(top.key)}"
        top.container[top.key] = value
        top.key = None
        return pointer

    for event in events:
        count += 1
        if count > MAX_NODES:
            raise ConfigSyntaxError(f"the document has more than {MAX_NODES} nodes; a run config is small")
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            p = _pos(event)
            raise ConfigSyntaxError(
                "YAML anchors and aliases (&name / *name) are not accepted in configs: write the values out",
                p.line,
                p.column,
            )
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                p = _pos(event)
                raise ConfigSyntaxError(
                    "more than one YAML document (---); a config is one document", p.line, p.column
                )
            continue
        top = stack[-1] if stack else None
        awaiting_key = top is not None and isinstance(top.container, dict) and top.key is None
        if isinstance(event, yaml.ScalarEvent):
            if awaiting_key:
                assert top is not None
                key = event.value
                if event.tag not in (None, "!", "tag:yaml.org,2002:str"):
                    p = _pos(event)
                    raise ConfigSyntaxError(
                        f"the YAML tag {event.tag} is not accepted on a key", p.line, p.column
                    )
                if event.tag is None and event.implicit[0]:
                    tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
                    if tag == "tag:yaml.org,2002:merge":
                        p = _pos(event)
                        raise ConfigSyntaxError(
                            "YAML merge keys (<<) are not accepted in configs", p.line, p.column
                        )
                if key in top.container:
                    p = _pos(event)
                    raise ConfigSyntaxError(f"duplicate key '{key}'", p.line, p.column)
                top.key = key
                smap.positions[f"{top.pointer}/{escape_pointer_token(key)}"] = _pos(event)
            else:
                attach(_scalar(event), event)
        elif isinstance(event, yaml.CollectionStartEvent):
            if event.tag not in _COLLECTION_TAGS:  # a custom tag (`!foo {…}`) would otherwise be dropped
                p = _pos(event)
                raise ConfigSyntaxError(
                    f"the YAML tag {event.tag} is not accepted in configs", p.line, p.column
                )
            if awaiting_key:
                p = _pos(event)
                raise ConfigSyntaxError("keys must be plain names", p.line, p.column)
            if len(stack) >= MAX_DEPTH:
                p = _pos(event)
                raise ConfigSyntaxError(
                    f"nesting deeper than {MAX_DEPTH} levels; a run config needs only a few", p.line, p.column
                )
            container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
            pointer = attach(container, event)
            stack.append(_Frame(container, pointer or ""))
        elif isinstance(event, yaml.CollectionEndEvent):
            stack.pop()
    return result
