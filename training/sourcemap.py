"""Parse YAML/JSON config text safely and remember where every value came from.

Config files are small, hand-written documents. We refuse what no honest config needs (anchors and
aliases, very deep nesting, megabytes of text) *before* building Python objects, so a hostile file is
rejected in milliseconds with a message instead of exhausting memory. Every value keeps its
(line, column) so validation errors and lint findings can point into the user's file.
"""

from __future__ import annotations

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


def _check_events(text: str) -> None:
    depth = 0
    count = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            count += 1
            if count > MAX_NODES:
                raise ConfigSyntaxError(
                    f"the document has more than {MAX_NODES} nodes; a run config is small"
                )
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise ConfigSyntaxError(
                    "YAML anchors and aliases (&name / *name) are not accepted in configs: write the values out",
                    mark.line + 1,
                    mark.column + 1,
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise ConfigSyntaxError(
                        f"nesting deeper than {MAX_DEPTH} levels; a run config needs only a few",
                        mark.line + 1,
                        mark.column + 1,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _syntax_error(exc) from None


def _syntax_error(exc: yaml.YAMLError) -> ConfigSyntaxError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return ConfigSyntaxError(f"not valid YAML/JSON: {problem}", mark.line + 1, mark.column + 1)
    return ConfigSyntaxError(f"not valid YAML/JSON: {problem}")


def parse_text(text: str | bytes) -> tuple[Any, SourceMap]:
    """Parse YAML or JSON text into plain Python values plus a SourceMap.

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
    _check_events(text)
    smap = SourceMap(text=text)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc) from None
    if node is None:
        return {}, smap
    constructor = _Loader(text)
    value = _build(node, "", smap, constructor)
    return value, smap


def _too_big(n: int) -> str:
    return f"the config is {n:,} bytes; the limit is {MAX_CONFIG_BYTES:,} (a run config is a few KB)"


def _build(node: yaml.Node, pointer: str, smap: SourceMap, constructor: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigSyntaxError(
                    "keys must be plain names", key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigSyntaxError(
                    "YAML merge keys (<<) are not accepted in configs",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
            key = str(key_node.value)
            child = f"{pointer}/{escape_pointer_token(key)}"
            if key in out:
                raise ConfigSyntaxError(
                    f"duplicate key '{key}'", key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
            smap.positions[child] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _build(value_node, child, smap, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            child = f"{pointer}/{i}"
            smap.positions[child] = Position(item.start_mark.line + 1, item.start_mark.column + 1)
            items.append(_build(item, child, smap, constructor))
        return items
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc) from None
