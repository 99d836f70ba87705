"""YAML/JSON configs (and Hydra `key.path=value` overrides) as a position-aware `Source`.

A launch script that names a base config (`--config base.yaml` for AReaL, `--config-path DIR --config-name NAME`
for Hydra entry points) gets that file opened when it is in the same tree as the script; its keys keep their
positions in that file. A base config the reader cannot find makes every key the command line does not set
*unknown* (it may be set there), not the framework default.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.config_io import ConfigError, FieldError
from training.lint.adapters._source import Entry, Source, current_reading, nothing_to_lint

if TYPE_CHECKING:
    from training.lint.adapters._bash import Script
from training.sourcemap import (
    MAX_CONFIG_BYTES,
    ConfigSyntaxError,
    SourceMap,
    escape_pointer_token,
    parse_text,
)

#: flags that name a base config, by what they hold
_CONFIG_FILE_FLAGS = ("--config", "--config-file", "--config_file")
_CONFIG_DIR_FLAGS = ("--config-path", "--config_path", "--config-dir", "--config_dir", "-cp", "-cd")
_CONFIG_NAME_FLAGS = ("--config-name", "--config_name", "-cn")
#: the frameworks' own Hydra configs (verl, SkyRL): the adapters' defaults are these files' values
_FRAMEWORK_CONFIGS = frozenset(
    {
        "ppo_trainer",
        "ppo_megatron_trainer",
        "_generated_ppo_trainer",
        "_generated_ppo_megatron_trainer",
        "ppo_base_config",
    }
)
_HYDRA_MAIN = re.compile(r"@hydra\.main\(([^)]*)\)")
_PY_SCAN = 200_000  # characters of a trainer's .py file searched for its @hydra.main
_TREE_DEPTH = (
    4  # how far above the script a relative config path is looked for (scripts run from a repo root)
)


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
        raise nothing_to_lint("a YAML/JSON mapping of config keys")
    return raw, smap


def try_parse(text: str) -> dict[str, Any] | None:
    """For detect(): the mapping, or None when the text is not a YAML/JSON mapping."""
    got = _parsed(text)
    if isinstance(got, ConfigSyntaxError):
        return None
    return got[0] if isinstance(got[0], dict) else None


def _pointer(name: str) -> str:
    return "".join("/" + escape_pointer_token(p) for p in name.split("."))


def yaml_source(text: str, file: str = "") -> Source:
    """`file`: set when the text is another file than the one linted (a base config), for positions. A config
    read from disk with a Hydra `defaults:` list gets the files it names composed under it."""
    src = _plain_source(text, file)
    raw, _ = parse_mapping(text)
    if isinstance(raw.get("defaults"), list):
        r = current_reading()
        at = Path(file) if file else Path(r.path) if r is not None and r.path else None
        if at is not None:
            _compose_defaults(src, raw["defaults"], at, (at.resolve(),))
    return src


def _plain_source(text: str, file: str) -> Source:
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
                file=file,
            )
            if isinstance(v, dict):
                walk(v, name)

    walk(raw, "")

    def ancestor(name: str) -> tuple[int | None, int | None]:
        pos = smap.locate(_pointer(name))
        return (pos.line, pos.column) if pos else (None, None)

    return Source(entries=entries, ancestor=ancestor, pointer_of=_pointer, file=file)


def _default_names(defaults: list[Any]) -> list[tuple[str, str]]:
    """(file, package) of each config a Hydra `defaults:` list names, in order, `_self_` included: `base` and
    `../config/envs@_here_` merge at the top, `{group: name}` under `group` (Hydra's default package), `@pkg`
    under `pkg`. Overrides of Hydra's own groups, `null` choices and the framework's own configs (which the
    adapter's defaults already describe) are left out."""
    names: list[tuple[str, str]] = []
    for item in defaults:
        if isinstance(item, str):
            name, _, package = item.strip().partition("@")
            names.append((name, package))
        elif isinstance(item, dict) and len(item) == 1:
            [(group, choice)] = item.items()
            group = str(group).strip()
            if choice is None or group.startswith(("override ", "hydra")) or not isinstance(choice, str):
                continue
            group, _, package = group.removeprefix("optional ").strip().partition("@")
            names.append((f"{group}/{choice}", package or group.strip("/").replace("/", ".")))
    return [
        (n, "" if pkg in ("_here_", "_global_") else pkg)
        for n, pkg in names
        if n and Path(n).stem not in _FRAMEWORK_CONFIGS
    ]


def default_files(raw: dict[str, Any], at: Path, depth: int = 0) -> list[Path]:
    """The files a config's Hydra `defaults:` list pulls in (recursively, up to 4 deep), that exist: for
    detect(), which sees only the linted file's own keys."""
    found: list[Path] = []
    defaults = raw.get("defaults")
    if not isinstance(defaults, list) or depth >= _TREE_DEPTH:
        return found
    for name, _ in _default_names(defaults):
        if name == "_self_":
            continue
        path = _default_file(at, name)
        if path is not None and path not in found:
            found.append(path)
            sub = try_parse(_read_small(path))
            if sub:
                found.extend(f for f in default_files(sub, path, depth + 1) if f not in found)
    return found


def _default_file(at: Path, name: str) -> Path | None:
    base = at.resolve().parent
    for suffix in (".yaml", ".yml"):
        candidate = base / (name.lstrip("/") + suffix)
        try:
            if candidate.is_file() and candidate.stat().st_size <= MAX_CONFIG_BYTES:
                return candidate
        except OSError:
            continue
    return None


def _read_small(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _compose_defaults(src: Source, defaults: list[Any], at: Path, seen: tuple[Path, ...]) -> None:
    """Hydra's composition of a config read from disk: each file its `defaults:` list names (next to it) is read,
    in order, and the config's own keys go where `_self_` stands (last when it is not listed), later ones
    winning. A default that cannot be found makes absent keys unknown (they may be set there)."""
    names = _default_names(defaults)
    if ("_self_", "") not in names:
        names.append(("_self_", ""))
    own = dict(src.entries)
    merged: dict[str, Entry] = {}
    read: list[str] = []
    for name, package in names:
        if name == "_self_":
            layer = own
        else:
            path = _default_file(at, name)
            shown = f"`{name}.yaml`, a Hydra default of {at.name},"
            if path is None or path.resolve() in seen or len(seen) > _TREE_DEPTH:
                why = "was not found next to it" if path is None else "is nested too deep or in a loop"
                src.unseen = src.unseen or f"it may be set in {shown} which {why}"
                continue
            shown_path = os.path.relpath(path)
            if shown_path.startswith(".."):
                shown_path = str(path)
            try:
                text = path.read_text(encoding="utf-8")
                raw, _ = parse_mapping(text)
                sub = _plain_source(text, shown_path)
                if isinstance(raw.get("defaults"), list):
                    _compose_defaults(sub, raw["defaults"], path, (*seen, path.resolve()))
            except (OSError, UnicodeDecodeError, ConfigError) as exc:
                why = exc.errors[0].message if isinstance(exc, ConfigError) else str(exc)
                src.unseen = src.unseen or f"it may be set in {shown} which could not be read ({why})"
                continue
            src.unseen = src.unseen or sub.unseen
            layer = sub.entries
            if package:  # the default's keys live under its package
                layer = {f"{package}.{k}": replace(e, key=f"{package}.{e.key}") for k, e in layer.items()}
            read.append(shown_path)
        merged.update(layer)
    src.entries = merged
    r = current_reading()
    if read and r is not None:
        said = f"read the Hydra defaults of {at.name}: {', '.join(read)}"
        if said not in r.notes:
            r.notes.append(said)


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
    """A YAML config, or a launch script whose trainer command carries Hydra overrides (on top of the base
    config it names, when that file can be read)."""

    raw = try_parse(text)
    if raw and _embedded_script(text, raw, entry_points) is None:
        return yaml_source(text)
    r = current_reading()
    key = ("yaml_or_script", entry_points, hash(text))
    if r is not None and key in r.memo:
        cached: Source = r.memo[key]
        r.commands, r.notes = list(r.memo[key, "commands"]), list(r.memo[key, "notes"])
        return cached
    src = _script_source(text, entry_points, what)
    if r is not None:
        r.memo[key], r.memo[key, "commands"], r.memo[key, "notes"] = src, list(r.commands), list(r.notes)
    return src


def trainer_words(
    text: str, raw: dict[str, Any] | None, entry_points: tuple[str, ...]
) -> tuple[Any, list[Any]]:
    """(the trainer command or None, the words that carry its overrides) of a launch script, or of the script
    inside a launcher YAML (`raw`: its parsed mapping)."""
    from training.lint.adapters._shell import find_command, overrides, tokenize

    embedded = _embedded_script(text, raw, entry_points) if raw else None
    statements = [list(c.words) for c in embedded.commands] if embedded else tokenize(text)
    r = current_reading()
    if embedded and r is not None:
        r.notes.extend(n for n in embedded.notes if n not in r.notes)
    cmd = find_command(statements, entry_points)
    if cmd is not None:
        return cmd, cmd.args
    # no known entry point (`python3 $ENTRY a.b=1`, a fork's own `train.py`): each statement that carries
    # Hydra-style dotted overrides stands for a trainer command (several are linted one by one, like known ones);
    # shell assignments (`export NCCL_DEBUG=warn`) and tests (`[[ $# -gt 0 ]]`) are not its arguments
    carrying = [s for s in statements if any("." in key for key, *_ in overrides(s))]
    if len(carrying) < 2:
        return None, [w for s in carrying for w in s]
    found = [_statement_command(s) for s in carrying]
    chosen = found[0]
    if r is not None:
        r.commands = [(c.program.line, c.program.column) for c in found]
        if 0 < r.command < len(found):
            chosen = found[r.command]
    return chosen, chosen.args


def _statement_command(words: list[Any]) -> Any:
    """A statement as a trainer command: its program is the first `.py` word, or the module after `-m`, or its
    first word that is not an assignment; its arguments, the words after that up to an operator."""
    from training.lint.adapters._shell import Command

    at = next((k for k, w in enumerate(words) if w.text.endswith(".py")), None)
    if at is None:
        at = next((k + 1 for k, w in enumerate(words[:-1]) if w.text == "-m"), None)
    if at is None:
        at = next((k for k, w in enumerate(words) if "=" not in w.text), 0)
    args = []
    for w in words[at + 1 :]:
        if w.op:
            break
        args.append(w)
    return Command(program=words[at], args=args, opaque=[a for a in args if a.opaque])


def _script_source(text: str, entry_points: tuple[str, ...], what: str) -> Source:
    from training.lint.adapters._shell import opaque_reason, overrides

    cmd, words = trainer_words(text, try_parse(text), entry_points)
    found = overrides(words)
    if cmd is None and not found:
        raise nothing_to_lint(f"a config or a `{what}` command")
    first = cmd.program if cmd else words[0]
    src, unseen = base_config(words, cmd.program.text if cmd else "")
    src.anchor = (first.line, first.column)
    apply_overrides(src, found)
    src.unseen = unseen or opaque_reason([w for w in words if w.opaque])
    return src


def _embedded_script(text: str, raw: dict[str, Any], entry_points: tuple[str, ...]) -> Script | None:
    """A launcher YAML (SkyPilot's `run: |`) whose script starts the trainer: that script, read with positions
    in the YAML file. None for an ordinary config."""
    from training.lint.adapters._bash import read_embedded

    key = next(
        (k for k, v in raw.items() if isinstance(v, str) and "\n" in v and any(e in v for e in entry_points)),
        None,
    )
    if key is None and isinstance(raw.get("run"), str) and "\n" in raw["run"].strip():
        key = "run"
    if key is None:
        return None
    value: str = raw[key]
    _, smap = parse_mapping(text)
    pos = smap.positions.get(_pointer(str(key)))
    return read_embedded(text, value, _block_offsets(text, value, pos.line if pos else None))


def _block_offsets(text: str, value: str, key_line: int | None) -> list[int]:
    """File offset of each character of a literal block scalar's value (`run: |` on `key_line`); every character
    at the key when the block cannot be lined up with the file (a folded or quoted scalar)."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    if key_line is None or key_line >= len(starts):
        return [0] * (len(value) + 1)
    fallback = [starts[key_line - 1]] * (len(value) + 1)
    lines = value.split("\n")
    first = next((k for k, ln in enumerate(lines) if ln.strip()), 0)
    file_first = key_line + first  # 0-based index of the file line holding the first non-blank value line
    if file_first >= len(starts):
        return fallback
    body = text[starts[file_first] :]
    indent = len(body) - len(body.lstrip(" "))
    offsets: list[int] = []
    for k, ln in enumerate(lines):
        idx = key_line + k
        if idx >= len(starts):
            if ln:
                return fallback
            offsets.extend([len(text)] * (len(ln) + 1))
            continue
        at = starts[idx] + indent
        if ln and text[at : at + len(ln)] != ln:
            return fallback
        offsets.extend(range(at, at + len(ln) + 1))  # the characters and the newline after them
    return offsets


def base_config(words: list[Any], program: str = "") -> tuple[Source, str]:
    """The base config the command names, as a Source of its own (positions in that file), and, when it cannot
    be read, why absent keys are unknown. `program`: the trainer's module or script (Hydra looks for
    `--config-path` next to it). A framework's own config (`--config-name ppo_trainer`) is what the adapter's
    defaults already describe: nothing to read."""
    named, dir_word, name_word = None, None, None
    for k, w in enumerate(words):
        flag, eq, value = w.text.partition("=")
        if flag not in (*_CONFIG_FILE_FLAGS, *_CONFIG_DIR_FLAGS, *_CONFIG_NAME_FLAGS):
            continue
        nxt = words[k + 1] if k + 1 < len(words) else None
        if not eq:
            if nxt is None:
                continue
            value, unknown = nxt.text, nxt.unknown
        else:
            unknown = w.unknown
        if unknown:
            return (
                Source(),
                f"it may be set in the base config `{w.text}` names, which is unknown here: {unknown}",
            )
        if flag in _CONFIG_FILE_FLAGS:
            named = (w, value)
        elif flag in _CONFIG_DIR_FLAGS:
            dir_word = (w, value)
        else:
            name_word = (w, value)
    if named is None and (name_word is None or dir_word is None):
        main_path, main_name = _hydra_main(program)
        if name_word is None and main_name:
            name_word = (None, main_name)
        if dir_word is None and main_path:
            dir_word = (None, main_path)
    if named is None and name_word is None:
        return Source(), ""
    if named is not None:
        word, rel = named
    else:
        assert name_word is not None
        word, name = name_word
        if Path(name).stem in _FRAMEWORK_CONFIGS:
            return Source(), ""
        if not Path(name).suffix:
            name += ".yaml"
        rel = os.path.join(dir_word[1], name) if dir_word else name
    named_by = f"named on line {word.line}" if word is not None else f"named by the @hydra.main of {program}"
    shown = f"`{rel}` ({named_by})"
    r = current_reading()
    if r is None or not r.path:
        return (
            Source(),
            f"it may be set in the base config {shown}, which is not read (the text was not linted from a file on disk)",
        )
    found = _find_in_tree(Path(r.path), rel)
    if found is None and named is None and program:
        found = _find_in_tree(Path(r.path), os.path.join(_program_dir(program), rel))
    if found is None:
        return Source(), f"it may be set in the base config {shown}, which was not found next to the script"
    shown_path = os.path.relpath(found)
    if shown_path.startswith(".."):
        shown_path = str(found)
    try:
        data = found.read_text(encoding="utf-8")
        src = yaml_source(data, file=shown_path)
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        why = exc.errors[0].message if isinstance(exc, ConfigError) else str(exc)
        return Source(), f"it may be set in the base config {shown}, which could not be read ({why})"
    r.notes.append(f"read the base config {shown_path} {named_by}")
    return src, ""


def _hydra_main(program: str) -> tuple[str | None, str | None]:
    """(config_path, config_name) of the `@hydra.main(...)` in the trainer's own `.py` file, when the command runs
    one that is on disk next to the script (a fork's `train.py`): Hydra reads its config from there."""
    r = current_reading()
    if r is None or not r.path or not program.endswith(".py"):
        return None, None
    found = _find_in_tree(Path(r.path), program, (".py",))
    if found is None:
        return None, None
    m = _HYDRA_MAIN.search(_read_small(found)[:_PY_SCAN])
    if m is None:
        return None, None
    args = m.group(1)

    def arg(name: str) -> str | None:
        got = re.search(rf"\b{name}\s*=\s*['\"]([^'\"]*)['\"]", args)
        return got.group(1) if got else None

    return arg("config_path"), arg("config_name")


def _program_dir(program: str) -> str:
    """`verl.trainer.main_ppo` -> `verl/trainer`; `recipe/dapo/main_dapo.py` -> `recipe/dapo`."""
    if program.endswith(".py") or "/" in program:
        return os.path.dirname(program)
    return "/".join(program.split(".")[:-1])


def _find_in_tree(
    script: Path, rel: str, suffixes: tuple[str, ...] = (".yaml", ".yml", ".json")
) -> Path | None:
    """`rel` next to the script, or relative to one of its parent folders (a script run from the repo root)."""
    if Path(rel).is_absolute():
        candidates = [Path(rel)]
    else:
        base = script.resolve().parent
        candidates = [base / rel, *[p / rel for p in list(base.parents)[:_TREE_DEPTH]]]
    for c in candidates:
        try:
            if c.is_file() and c.suffix in suffixes and c.stat().st_size <= MAX_CONFIG_BYTES:
                return c
        except OSError:
            continue
    return None
