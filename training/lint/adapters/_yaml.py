"""YAML/JSON configs (and Hydra `key.path=value` overrides) as a position-aware `Source`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from training.config_io import ConfigError, FieldError
from training.lint.adapters._source import Entry, Source
from training.sourcemap import ConfigSyntaxError, SourceMap, escape_pointer_token, parse_text


@lru_cache(maxsize=4)
def _parsed(text: str) -> tuple[Any, SourceMap] | ConfigSyntaxError:
    """One parse per text: with `--input-format auto` every YAML adapter's detect() and then the chosen
    adapter's map_text() read the same text. Callers must not mutate the returned values."""
    try:
        return parse_text(text)
    except ConfigSyntaxError as exc:
        return exc


def parse_mapping(text: str) -> tuple[dict[str, Any], SourceMap]:
    """Parse with our safe parser; a syntax problem or a non-mapping document becomes GL000."""
    got = _parsed(text)
    if isinstance(got, ConfigSyntaxError):
        raise ConfigError(
            [FieldError(pointer="", field="", message=got.message, line=got.line, column=got.column)]
        )
    raw, smap = got
    if not isinstance(raw, dict):
        raise ConfigError(
            [FieldError(pointer="", field="", message="expected a mapping of keys at the top level")]
        )
    return raw, smap


def try_parse(text: str) -> dict[str, Any] | None:
    """For detect(): the mapping, or None when the text is not a YAML/JSON mapping."""
    got = _parsed(text)
    if isinstance(got, ConfigSyntaxError):
        return None
    return got[0] if isinstance(got[0], dict) else None


def _pointer(name: str) -> str:
    return "".join("/" + escape_pointer_token(p) for p in name.split("."))


def yaml_source(text: str) -> Source:
    raw, smap = parse_mapping(text)
    entries: dict[str, Entry] = {}

    def walk(node: Any, prefix: str) -> None:
        for k, v in node.items():
            name = f"{prefix}.{k}" if prefix else str(k)
            ptr = _pointer(name)
            pos = smap.positions.get(ptr)
            entries[name] = Entry(
                value=v,
                key=name,
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                pointer=ptr,
            )
            if isinstance(v, dict):
                walk(v, name)

    walk(raw, "")

    def ancestor(name: str) -> tuple[int | None, int | None]:
        pos = smap.locate(_pointer(name))
        return (pos.line, pos.column) if pos else (None, None)

    return Source(entries=entries, ancestor=ancestor, pointer_of=_pointer)


def apply_overrides(src: Source, overrides: list[tuple[str, Any, int, int]]) -> None:
    """Hydra overrides (`a.b=v`, `+a.b=v`, `++a.b=v`) win over the YAML; `~a.b` deletes."""
    for key, value, line, col in overrides:
        name = key.lstrip("+~")
        if key.startswith("~"):
            for k in [k for k in src.entries if k == name or k.startswith(name + ".")]:
                del src.entries[k]
            continue
        src.entries[name] = Entry(value=value, key=name, line=line, column=col, pointer="")


def yaml_or_script(text: str, entry_points: tuple[str, ...], what: str) -> Source:
    """A YAML config, or a launch script whose trainer command carries Hydra overrides."""
    from training.lint.adapters._shell import find_command, overrides, tokenize
    from training.lint.adapters._source import unreadable

    raw = try_parse(text)
    if raw:
        return yaml_source(text)
    statements = tokenize(text)
    cmd = find_command(statements, entry_points)
    words = cmd.args if cmd else [w for s in statements for w in s]
    found = overrides(words)
    if not found:
        raise unreadable(f"neither a YAML config nor a `{what}` command with key=value overrides")
    first = cmd.program if cmd else words[0]
    src = Source(anchor=(first.line, first.column))
    apply_overrides(src, found)
    return src
