"""What every foreign adapter reads from: keys with values and positions, whatever the file's syntax.

YAML files (`_yaml.py`) and shell command lines (`_shell.py`) are both turned into a `Source`: canonical dotted
key -> `Entry` (value, the key as the user wrote it, line/column). Adapters then ask typed questions
("`algorithm.gamma` as a float, default 1.0") and get the value plus an `Origin` that says where it came from, or
that the framework default applied. Keeping this in one place lets every adapter report positions and defaults
the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from training.config_io import ConfigError, FieldError
from training.lint.concepts import Origin

_INTERP = re.compile(r"^\$\{([A-Za-z_][\w.]*)\}$")
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$", re.IGNORECASE)
_TRUE = {"true", "True", "TRUE", "yes", "on"}
_FALSE = {"false", "False", "FALSE", "no", "off"}
_NULL = {"null", "None", "none", "~", "Null", "NULL"}


def scalar(text: str) -> Any:
    """A command-line value as the framework's parser would read it (Hydra/argparse/tyro agree on these)."""
    t = text.strip()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    if t in _NULL:
        return None
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    return t


@dataclass(frozen=True)
class Entry:
    value: Any
    key: str  # as written by the user: `--advantage_estimator`, `algorithm.adv_estimator`
    line: int | None = None
    column: int | None = None
    pointer: str = ""


@dataclass
class Source:
    """Canonical dotted key -> Entry, plus where a missing key should point (a YAML ancestor or the command)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    anchor: tuple[int | None, int | None] = (None, None)  # position for defaults (e.g. the command token)
    ancestor: Callable[[str], tuple[int | None, int | None]] | None = None  # nearest written YAML parent
    display: Callable[[str], str] = str  # canonical name -> how the user would spell it in this file
    pointer_of: Callable[[str], str] = lambda name: ""

    def has(self, name: str) -> bool:
        return name in self.entries

    def raw(self, name: str, default: Any = None) -> Any:
        """The value, with `${other.key}` interpolations followed (an unresolvable one counts as absent)."""
        seen = 0
        while name in self.entries and seen < 8:
            v = self.entries[name].value
            if isinstance(v, str) and v.startswith("$") and not v.startswith("${"):
                return default  # `$VAR` set outside the script, `$((...))`, `$(...)`: unknown here
            m = _INTERP.match(v) if isinstance(v, str) else None
            if not m:
                if isinstance(v, str) and v.startswith("${"):
                    return default  # `${oc.env:...}` and other resolvers: unknown here
                return v
            name = m.group(1)
            seen += 1
        return default

    def written(self, name: str) -> bool:
        """The user set the key and it resolves to a value (not an interpolation of a missing key)."""
        return self.has(name) and self.raw(name, _MISSING) is not _MISSING

    def origin(self, name: str, shown: str | None = None) -> Origin:
        e = self.entries.get(name)
        if e is not None and self.written(name):
            return Origin(key=e.key, pointer=e.pointer, line=e.line, column=e.column, default=False)
        if e is not None:  # written, but as something only the shell or Hydra can resolve
            return Origin(
                key=f"{e.key} (its value {e.value} is unknown here)",
                pointer=e.pointer,
                line=e.line,
                column=e.column,
                default=True,
            )
        line, col = self.ancestor(name) if self.ancestor else (None, None)
        if line is None:
            line, col = self.anchor
        return Origin(
            key=shown or self.display(name),
            pointer=self.pointer_of(name),
            line=line,
            column=col,
            default=True,
        )

    def fixed(self, name: str, label: str) -> Origin:
        """A value the framework hard-codes (e.g. the std epsilon): shown as `label`, located at `name`'s key."""
        o = self.origin(name)
        return Origin(key=label, pointer=o.pointer, line=o.line, column=o.column, default=False)

    # ---- typed access; a value of the wrong type is a GL000 with the key and its position

    def _bad(self, name: str, expected: str) -> ConfigError:
        e = self.entries[name]
        return ConfigError(
            [
                FieldError(
                    pointer=e.pointer,
                    field=e.key,
                    message=f"expected {expected}, got {self.raw(name)!r}",
                    line=e.line,
                    column=e.column,
                )
            ]
        )

    def str_(self, name: str, default: str | None) -> str | None:
        v = self.raw(name, default)
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            raise self._bad(name, "a name")
        return str(v)

    def bool_(self, name: str, default: bool) -> bool:
        v = self.raw(name, default)
        if isinstance(v, str):
            v = scalar(v)
        if v is None:
            return default
        if not isinstance(v, bool):
            if isinstance(v, int) and v in (0, 1):
                return bool(v)
            raise self._bad(name, "true or false")
        return v

    def float_(self, name: str, default: float | None) -> float | None:
        v = self.raw(name, default)
        if isinstance(v, str):
            v = scalar(v)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self._bad(name, "a number")
        return float(v)

    def int_(self, name: str, default: int | None) -> int | None:
        v = self.raw(name, default)
        if isinstance(v, str):
            v = scalar(v)
        if v is None:
            return None
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._bad(name, "an integer")
        return v


_MISSING = object()


def unreadable(message: str, line: int | None = None, column: int | None = None) -> ConfigError:
    return ConfigError([FieldError(pointer="", field="", message=message, line=line, column=column)])
