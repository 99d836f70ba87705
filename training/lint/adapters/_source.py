"""What every foreign adapter reads from: keys with values and positions, whatever the file's syntax.

YAML files (`_yaml.py`) and shell command lines (`_shell.py`) are both turned into a `Source`: canonical dotted
key -> `Entry` (value, the key as the user wrote it, line/column). Adapters then ask typed questions
("`algorithm.gamma` as a float, default 1.0") and get the value plus an `Origin` that says where it came from, or
that the framework default applied. Keeping this in one place lets every adapter report positions and defaults
the same way.

Unknown is not the default. A key the file sets to something the reader cannot resolve (an environment variable,
a command's output, a branch, a Hydra resolver) holds an `Unknown` value; keys a file may set where the reader
cannot see (an unread `--config base.yaml`, an opaque `$EXTRA_ARGS`) are unknown through `Source.unseen`. A typed
read of such a key still returns the adapter's default (so the adapter's code stays a plain description of the
framework), but its `Origin` says *unknown* with the reason, and the read is logged in the current `Reading`: the
engine then re-runs the adapter with other values for that key to see which findings depend on it, and turns
those into infos (see `unknown_values.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


@dataclass(frozen=True)
class Unknown:
    """A value the file sets but the reader cannot know, and why (never replaced by a guess)."""

    reason: str  # e.g. "`$N_SAMPLES` is not set in this file: it would come from the environment"
    written: str = ""  # the value as written
    candidates: tuple[Any, ...] = ()  # the values it may take, when the file says (the branches of an `if`)

    def __str__(self) -> str:
        return self.written or "<unknown>"


@dataclass(frozen=True)
class UnknownRead:
    """An adapter asked for a key whose value is unknown: what it would have used instead."""

    name: str  # canonical key
    shown: str  # the key as the user wrote it (or would write it)
    reason: str
    kind: str  # "bool" | "int" | "float" | "str" | "raw" | "has": how the adapter read it
    default: Any
    candidates: tuple[Any, ...] = ()
    written: bool = True  # False: the key is absent and may be set where the reader cannot see


@dataclass
class Reading:
    """One adapter run over one file: which trainer command to read, what was read and what stayed unknown.

    The engine opens one per run (`with reading(...)`); `_shell`/`_yaml`/`Source` fill it in. Outside a reading
    (an adapter called directly) nothing is recorded and the first trainer command is read."""

    path: str | None = None  # the file on disk, to find a base config next to it
    command: int = 0  # which trainer command of the script to read (0-based)
    probe: dict[str, Any] = field(default_factory=dict)  # key -> value to use for an unknown key
    commands: list[tuple[int, int]] = field(default_factory=list)  # positions of the trainer commands found
    unknown: dict[str, UnknownRead] = field(default_factory=dict)
    hits: int = 0  # reads that found a value the file wrote
    notes: list[str] = field(default_factory=list)
    memo: dict[Any, Any] = field(default_factory=dict)  # Sources already built for this file and command
    # the environment a wrapper script runs this one with (_bash.ScriptCall.passed): (name, text, why, options)
    inherited: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()


_READING: ContextVar[Reading | None] = ContextVar("grpolab_lint_reading", default=None)


def current_reading() -> Reading | None:
    return _READING.get()


def steps_per_rollout(
    src: Source, c: Any, prompts: tuple[str, int, str], mini: tuple[str, int, str], epochs: tuple[str, str]
) -> None:
    """Optimizer steps per rollout batch when both batch sizes count prompts (verl, SkyRL, EasyR1: the mini-batch is
    multiplied by the group size inside): prompts / mini-batch × epochs. Each size is (key, default, label as the
    formula shows it); epochs is (key, label) with a default of 1. Unset or non-positive sizes: nothing is set."""
    n_prompts = src.int_(prompts[0], prompts[1])
    n_mini = src.int_(mini[0], mini[1])
    n_epochs = src.int_(epochs[0], 1) or 1
    if n_prompts and n_mini and n_prompts > 0 and n_mini > 0:
        c.updates_per_rollout = n_prompts / n_mini * n_epochs
        c.updates_formula = f"{prompts[2]} {n_prompts} / {mini[2]} {n_mini} × {epochs[1]} {n_epochs}"
        c.origins["updates_per_rollout"] = src.origin(mini[0])


def note(text: str) -> None:
    """Say `text` once beside this file's findings (a note of the engine's current reading; nothing outside one)."""
    r = _READING.get()
    if r is not None and text not in r.notes:
        r.notes.append(text)


@contextmanager
def reading(
    path: str | None = None,
    command: int = 0,
    probe: dict[str, Any] | None = None,
    memo: dict[Any, Any] | None = None,
    inherited: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (),
) -> Iterator[Reading]:
    """`memo`: shared by the re-runs of one command, so its Source is built once (it does not depend on probes).
    `inherited`: the variables a wrapper script passes to this one (engine: a wrapper is followed)."""
    r = Reading(
        path=path,
        command=command,
        probe=dict(probe or {}),
        memo=memo if memo is not None else {},
        inherited=inherited,
    )
    token = _READING.set(r)
    try:
        yield r
    finally:
        _READING.reset(token)


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
    file: str = ""  # set when the key comes from another file (a base config named by `--config`)


@dataclass
class Source:
    """Canonical dotted key -> Entry, plus where a missing key should point (a YAML ancestor or the command)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    anchor: tuple[int | None, int | None] = (None, None)  # position for defaults (e.g. the command token)
    ancestor: Callable[[str], tuple[int | None, int | None]] | None = None  # nearest written YAML parent
    display: Callable[[str], str] = str  # canonical name -> how the user would spell it in this file
    pointer_of: Callable[[str], str] = lambda name: ""
    unseen: str = ""  # why a key absent here may still be set (an unread base config); "" = absent is default
    file: str = ""  # the file `ancestor` positions point into, when not the linted one

    def has(self, name: str) -> bool:
        if name not in self.entries:
            if self.unseen:
                self._log(name, self.unseen, None, "has", (), written=False)
            return False
        r = current_reading()
        if r is not None:
            r.hits += 1
        return True

    def _resolve(self, name: str) -> tuple[str, Any]:
        """("known", value) | ("unknown", Unknown) | ("absent", None), following `${other.key}` interpolations."""
        seen = 0
        key = name
        while key in self.entries and seen < 8:
            v = self.entries[key].value
            if isinstance(v, Unknown):
                return "unknown", v
            if isinstance(v, str) and v.startswith("$") and not v.startswith("${"):
                return "unknown", Unknown(f"`{v}` is resolved only when the script runs", v)
            m = _INTERP.match(v) if isinstance(v, str) else None
            if not m:
                if isinstance(v, str) and v.startswith("${"):
                    return "unknown", Unknown(
                        f"`{v}` is resolved by Hydra/OmegaConf when the trainer starts", v
                    )
                return "known", v
            key = m.group(1)
            seen += 1
        if key != name:
            written = self.entries[name].value
            return "unknown", Unknown(f"`{written}` points at `{key}`, which is not set here", str(written))
        return "absent", None

    def raw(self, name: str, default: Any = None, _kind: str = "raw") -> Any:
        """The value, with `${other.key}` interpolations followed. An unknown value gives `default` (and is
        logged as an unknown read, so the engine knows the verdict used a stand-in)."""
        status, v = self._resolve(name)
        if status == "known":
            r = current_reading()
            if r is not None:
                r.hits += 1
            return v
        if status == "unknown":
            return self._log(name, v.reason, default, _kind, v.candidates)
        if self.unseen:
            return self._log(name, self.unseen, default, _kind, (), written=False)
        return default

    def _log(
        self,
        name: str,
        reason: str,
        default: Any,
        kind: str,
        candidates: tuple[Any, ...],
        written: bool = True,
    ) -> Any:
        # the file says which values it can take (the branches of an `if`): the first one stands in, the engine
        # tries the others; otherwise the framework default stands in, and the engine tries typical values
        stand_in = candidates[0] if candidates else default
        r = current_reading()
        if r is None:
            return stand_in
        if name not in r.unknown or r.unknown[name].kind in ("raw", "has"):
            e = self.entries.get(name)
            shown = e.key if e is not None else self.display(name)
            r.unknown[name] = UnknownRead(name, shown, reason, kind, default, candidates, written)
        return r.probe.get(name, stand_in)

    def written(self, name: str) -> bool:
        """The user set the key and it resolves to a value (not an unknown or an interpolation of a missing key)."""
        if self.has(name) and self._resolve(name)[0] == "known":
            return True
        r = current_reading()
        return r is not None and name in r.probe and name in r.unknown

    def origin(self, name: str, shown: str | None = None) -> Origin:
        e = self.entries.get(name)
        status, v = self._resolve(name)
        if e is not None and status == "known":
            return Origin(
                key=e.key, pointer=e.pointer, line=e.line, column=e.column, default=False, file=e.file
            )
        if e is not None:  # written, but as something only the shell or Hydra can resolve
            reason = v.reason if isinstance(v, Unknown) else f"`{e.value}` is unknown here"
            return Origin(
                key=e.key,
                pointer=e.pointer,
                line=e.line,
                column=e.column,
                default=True,
                unknown=reason,
                file=e.file,
            )
        line, col = self.ancestor(name) if self.ancestor else (None, None)
        file = self.file if line is not None else ""
        if line is None:
            line, col = self.anchor
        return Origin(
            key=shown or self.display(name),
            pointer=self.pointer_of(name),
            line=line,
            column=col,
            default=True,
            unknown=self.unseen,
            file=file,
        )

    def fixed(self, name: str, label: str) -> Origin:
        """A value the framework hard-codes (e.g. the std epsilon): shown as `label`, located at `name`'s key."""
        o = self.origin(name)
        return Origin(key=label, pointer=o.pointer, line=o.line, column=o.column, default=False, file=o.file)

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

    bad = _bad  # the public name (adapters call `src.bad(key, "one of a, b")`)

    def str_(self, name: str, default: str | None) -> str | None:
        v = self.raw(name, default, "str")
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            raise self._bad(name, "a name")
        return str(v)

    def bool_(self, name: str, default: bool) -> bool:
        v = self.raw(name, default, "bool")
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
        v = self.raw(name, default, "float")
        if isinstance(v, str):
            v = scalar(v)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self._bad(name, "a number")
        return float(v)

    def int_(self, name: str, default: int | None) -> int | None:
        v = self.raw(name, default, "int")
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


def nothing_to_lint(expected: str) -> ConfigError:
    """GL000 for text with no trainer command and no config keys (a README, an unrelated script)."""
    return unreadable(
        f"no trainer command and no config keys were found in this file (expected {expected}); "
        "is it the right file, and the right --input-format?"
    )
