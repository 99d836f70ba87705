"""Reading a RunConfig: YAML/JSON text, a file or already-parsed data → a validated `LoadedConfig`, or a
`ConfigError` listing every problem with its field, line and column and how to fix it (unknown keys with a
"did you mean", NaN/infinity anywhere, unreadable files). Pure pydantic + stdlib, like training/config.py.

pydantic and the RunConfig schema are imported only when a config is validated: the error types and
`LoadedConfig` are plain dataclasses, so `grpolab lint` on a TRL or verl file never pays for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.sourcemap import ConfigSyntaxError, Position, SourceMap, loc_to_pointer, parse_text

if TYPE_CHECKING:
    from training.config import RunConfig


@dataclass(frozen=True)
class FieldError:
    """One validation problem, located in the source text when possible."""

    pointer: str  # JSON pointer of the offending field, e.g. `/algorithm/group_size`
    field: str  # dotted path of the field, e.g. `algorithm.group_size`
    message: str
    line: int | None = None
    column: int | None = None

    def model_dump(self) -> dict[str, Any]:
        """The error as a plain dict (the API's `FieldErrorOut` shape)."""
        return asdict(self)


class ConfigError(ValueError):
    """A config that cannot be used, with every problem found (not only the first)."""

    def __init__(self, errors: list[FieldError], path: str | None = None):
        self.errors = errors
        self.path = path
        super().__init__(self.render())

    def render(self) -> str:
        where = self.path or "<config>"
        lines = []
        for e in self.errors:
            pos = f"{e.line}:{e.column}:" if e.line is not None else ""
            # no field: the file itself (not found, a folder) or its syntax, where "(top level)" misled
            field = f"{e.field}: " if e.field else ""
            lines.append(f"{where}:{pos} {field}{e.message}")
        return "\n".join(lines)


@dataclass
class LoadedConfig:
    """A validated config with its source text and positions."""

    config: RunConfig
    raw: dict[str, Any]
    source: SourceMap | None = None
    path: str | None = None

    def locate(self, pointer: str) -> Position | None:
        return self.source.locate(pointer) if self.source else None


def _friendly(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        return f"unknown key '{name}'{_suggest(loc)}; remove it or check its spelling"
    if kind == "finite_number":
        return "must be a finite number (NaN and infinity are not accepted)"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{err.get('input')!r} is not one of {expected}"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def _suggest(loc: tuple[Any, ...]) -> str:
    import difflib

    from training.config import RunConfig

    model: Any = RunConfig
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return ""
        model = fields[part].annotation
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(fields), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validate_raw(raw: Any, source: SourceMap | None = None, path: str | None = None) -> LoadedConfig:
    """Validate already-parsed data (e.g. a JSON body) into a LoadedConfig, or raise ConfigError."""
    from pydantic import ValidationError

    from training.config import RunConfig

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            [
                FieldError(
                    pointer="", field="", message=f"a config must be a mapping of sections, got {_kind(raw)}"
                )
            ],
            path,
        )
    errors: list[FieldError] = []
    _collect_nonfinite(raw, "", source, errors)
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as exc:
        seen = {e.pointer for e in errors}
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            pointer = loc_to_pointer(loc)
            if pointer in seen:
                continue
            pos = source.locate(pointer) if source else None
            errors.append(
                FieldError(
                    pointer=pointer,
                    field=".".join(str(p) for p in loc),
                    message=_friendly(err),
                    line=pos.line if pos else None,
                    column=pos.column if pos else None,
                )
            )
        raise ConfigError(errors, path) from None
    if errors:
        raise ConfigError(errors, path)
    return LoadedConfig(config=cfg, raw=raw, source=source, path=path)


def _kind(v: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(v), type(v).__name__
    )


def _collect_nonfinite(value: Any, pointer: str, source: SourceMap | None, errors: list[FieldError]) -> None:
    """NaN/inf anywhere (also in free-form env kwargs) is refused with the field named."""
    if isinstance(value, float) and not math.isfinite(value):
        pos = source.locate(pointer) if source else None
        errors.append(
            FieldError(
                pointer=pointer,
                field=pointer.strip("/").replace("/", "."),
                message=f"must be a finite number, got {value}",
                line=pos.line if pos else None,
                column=pos.column if pos else None,
            )
        )
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect_nonfinite(v, f"{pointer}/{k}", source, errors)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _collect_nonfinite(v, f"{pointer}/{i}", source, errors)


def load_text(text: str | bytes, path: str | None = None) -> LoadedConfig:
    """Parse YAML/JSON text and validate it. Raises ConfigError (syntax problems included)."""
    try:
        raw, smap = parse_text(text)
    except ConfigSyntaxError as exc:
        raise ConfigError(
            [FieldError(pointer="", field="", message=exc.message, line=exc.line, column=exc.column)], path
        ) from None
    return validate_raw(raw, smap, path)


def load_file(path: str | Path) -> LoadedConfig:
    """Read and validate a config file. Raises ConfigError for unreadable, malformed or invalid files."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([FieldError(pointer="", field="", message="file not found")], str(path)) from None
    except IsADirectoryError:
        raise ConfigError(
            [FieldError(pointer="", field="", message="is a directory, not a file")], str(path)
        ) from None
    except OSError as exc:
        raise ConfigError(
            [FieldError(pointer="", field="", message=f"cannot read: {exc.strerror}")], str(path)
        ) from None
    return load_text(data, str(path))
