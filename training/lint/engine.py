"""Run every rule over a config's concepts and turn hits into located findings.

A script with several trainer commands is linted once per command. Findings whose verdict depends on a value the
file does not let us know become infos (unknown_values.py); the engine re-runs the adapter with other values for
those keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from training.config_io import ConfigError, FieldError
from training.lint.adapters import FORMATS, Mapped, get_adapter
from training.lint.adapters._source import Reading, nothing_to_lint, reading
from training.lint.concepts import Concepts
from training.lint.findings import Finding, Rule
from training.lint.rules import RULES
from training.lint.unknown_values import settle_unknowns
from training.sourcemap import MAX_CONFIG_BYTES, ConfigSyntaxError, parse_text

if TYPE_CHECKING:
    from training.config_io import LoadedConfig
    from training.lint.adapters._bash import Passed, ScriptCall

INVALID = "GL000"
_SHELL_FLAG = re.compile(r"(^|\s)--[A-Za-z][\w.-]*")


class FormatUnknown(ValueError):
    """`--input-format auto` could not tell what the file is."""


@dataclass
class LintResult:
    path: str
    format: str
    findings: list[Finding] = field(default_factory=list)
    loaded: LoadedConfig | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "format detected: verl"
    # the path named nothing readable (missing, a folder, no permission): its findings point at no line
    unread: bool = False

    @property
    def invalid(self) -> bool:
        """The file could not be read, parsed or validated."""
        return any(f.rule == INVALID for f in self.findings)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "findings": [f.to_dict() for f in self.findings]}


def run_rules(concepts: Concepts, allow: dict[str, str] | None = None) -> list[Finding]:
    allow = allow or {}
    out: list[Finding] = []
    for rule in RULES.values():
        for hit in rule.check(concepts):
            out.append(_finding(rule, hit.message, hit.concepts, hit.severity, hit.fix, concepts, allow))
    out.sort(key=Finding.sort_key)
    return out


def _finding(
    rule: Rule,
    message: str,
    names: tuple[str, ...],
    severity: Any,
    fix: str | None,
    c: Concepts,
    allow: dict[str, str],
) -> Finding:
    origins = [c.origins[n] for n in names if n in c.origins]
    # point at the first key the user wrote; else at the first concept's nearest written ancestor
    located = next((o for o in origins if not o.default and o.line is not None), None) or next(
        (o for o in origins if o.line is not None), origins[0] if origins else None
    )
    unknown = tuple(dict.fromkeys(f"`{o.key}`: {o.unknown}" for o in origins if o.unknown))
    defaults = [o for o in origins if o.default and not o.unknown]
    first = c.origins.get(names[0]) if names else None
    from_default = bool(defaults) and first is not None and first.default and not first.unknown
    if from_default:
        what = ", ".join(f"`{o.key}`" for o in defaults[:2])
        version = f" {c.framework_version}" if c.framework_version else ""
        message += f" (triggered by a default: {what} not set, {c.framework}{version}'s default applies)"
    return Finding(
        rule=rule.id,
        name=rule.name,
        severity=severity or rule.severity,
        message=message,
        why=rule.why,
        fix=fix or rule.fix,
        pointer=located.pointer if located else "",
        line=located.line if located else None,
        column=located.column if located else None,
        from_default=from_default,
        allowed=rule.id in allow,
        allow_reason=allow.get(rule.id),
        doc=rule.doc,
        file=located.file if located else "",
        unknown=unknown,
    )


FIX_FIELD = "Fix the field named in the message (see `grpolab schema` for every field and its type)."
FIX_PATH = "Check the path: name a config file, launch script or training script that exists and can be read."


def invalid_findings(errors: list[FieldError], fix: str = FIX_FIELD) -> list[Finding]:
    """Validation/syntax problems as GL000 findings, so every reporter shows them like the rest."""
    rule = RULES[INVALID]
    return [
        Finding(
            rule=rule.id,
            name=rule.name,
            severity=rule.severity,
            message=(f"{e.field}: {e.message}" if e.field else e.message),
            why="The file cannot be used as a config, so nothing else can be checked until this is fixed.",
            fix=fix,
            pointer=e.pointer,
            line=e.line,
            column=e.column,
            doc=rule.doc,
        )
        for e in errors
    ]


def detect_format(text: str, path: str | None) -> tuple[str, list[str]]:
    """Pick the format whose adapter is most confident; refuse to guess between close candidates."""
    from training.lint.detect import detect_format as detect  # the detection rules live in lint/detect.py

    return detect(text, path)


def lint_mapped(mapped: Mapped, path: str, fmt: str) -> LintResult:
    return LintResult(
        path=path, format=fmt, findings=run_rules(mapped.concepts, mapped.allow), loaded=mapped.loaded
    )


def lint_loaded(loaded: LoadedConfig) -> LintResult:
    """Lint one of our configs that is already validated (the API and `grpolab train` use this)."""
    from training.lint.adapters import grpolab

    return lint_mapped(grpolab.map_loaded(loaded), loaded.path or "<config>", "grpolab")


def lint_text(
    text: str | bytes, input_format: str = "auto", path: str | None = None, *, on_disk: bool = False
) -> LintResult:
    """Lint config text in any supported format. Never raises for bad input: problems become GL000 findings.

    `on_disk`: `path` is the real file the text was read from, so a base config the script names
    (`--config base.yaml`) may be opened from its folder and the folders above it. Off for text from elsewhere
    (the API, stdin): then such a base config is not read and its keys are unknown."""
    shown = path or "<config>"
    if isinstance(text, bytes):
        if len(text) > MAX_CONFIG_BYTES:
            return _invalid(
                shown, input_format, f"the config is {len(text):,} bytes; the limit is {MAX_CONFIG_BYTES:,}"
            )
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _invalid(shown, input_format, f"the file is not UTF-8 text (byte {exc.start})")
    notes: list[str] = []
    fmt = input_format
    if fmt == "auto":
        try:
            fmt, notes = detect_format(text, path)
        except FormatUnknown as exc:
            # a YAML/JSON file that does not even parse: its syntax error says more than "unknown format"
            try:
                if not _looks_like_shell(text, path):
                    parse_text(text)
            except ConfigSyntaxError as syn:
                err = FieldError(pointer="", field="", message=syn.message, line=syn.line, column=syn.column)
                return LintResult(path=shown, format="unknown", findings=invalid_findings([err]))
            return _invalid(shown, "unknown", str(exc))
    elif fmt not in FORMATS:
        return _invalid(
            shown, fmt, f"unknown input format '{fmt}'; choose one of: auto, {', '.join(FORMATS)}"
        )
    try:
        adapter = get_adapter(fmt)
    except ModuleNotFoundError:
        return _invalid(shown, fmt, f"the {fmt} format is not supported yet")
    try:
        result = _lint_script_or_config(adapter, fmt, text, path, shown, path if on_disk else None)
    except ConfigError as exc:
        return LintResult(path=shown, format=fmt, findings=invalid_findings(exc.errors), notes=notes)
    result.notes = notes + result.notes
    return result


# ---------------------------------------------------------------------------------- one lint per trainer command

_NOTHING = "no trainer command and no config keys"
_NO_COMMAND = re.compile(r"^no `[^`]+` command found in this script$")


def _lint_script_or_config(
    adapter: ModuleType,
    fmt: str,
    text: str,
    path: str | None,
    shown: str,
    disk_path: str | None,
    inherited: Passed = (),
    depth: int = 0,
) -> LintResult:
    """Map and lint each trainer command of the file (one for a config), settling unknown values. A script with
    no trainer command that runs another script next to it on disk is linted as that script (_follow)."""
    memos: dict[int, dict[Any, Any]] = {0: {}}
    with reading(path=disk_path, memo=memos[0], inherited=inherited) as first:
        try:
            mapped = adapter.map_text(text, path)
        except ConfigError as exc:
            if exc.errors and _says_nothing_found(exc.errors[0].message, fmt):
                return _follow(adapter, fmt, text, path, shown, disk_path, inherited, depth)
            raise
    if fmt != "grpolab" and first.hits == 0 and not first.unknown and not first.commands:
        return _follow(adapter, fmt, text, path, shown, disk_path, inherited, depth)
    runs: list[tuple[Mapped | None, Reading, list[Finding]]] = [(mapped, first, [])]
    for k in range(1, len(first.commands)):
        with reading(path=disk_path, command=k, memo=memos.setdefault(k, {}), inherited=inherited) as r:
            try:
                runs.append((adapter.map_text(text, path), r, []))
            except ConfigError as exc:
                runs.append((None, r, invalid_findings(exc.errors)))
    findings: list[Finding] = []
    notes: list[str] = []
    for k, (m, r, invalid) in enumerate(runs):
        if m is None:
            findings.extend(invalid)
            continue
        own = run_rules(m.concepts, m.allow)
        rerun = partial(_rerun, adapter, text, path, disk_path, k, memo=memos.get(k), inherited=inherited)
        findings.extend(settle_unknowns(own, r, m.concepts, rerun))
        notes.extend(n for n in r.notes if n not in notes)
    if len(first.commands) > 1:
        where = ", ".join(f"line {line}" for line, _ in first.commands)
        notes.append(f"{len(first.commands)} trainer commands ({where}): each is linted on its own")
    unique: dict[tuple[Any, ...], Finding] = {}
    for f in findings:
        unique.setdefault((f.rule, f.file, f.line, f.column, f.severity, f.message), f)
    out = sorted(unique.values(), key=Finding.sort_key)
    return LintResult(path=shown, format=fmt, findings=out, loaded=mapped.loaded, notes=notes)


_MAX_FOLLOW = 3  # wrapper → script → script: deeper is a loop or not a launch script


def _follow(
    adapter: ModuleType,
    fmt: str,
    text: str,
    path: str | None,
    shown: str,
    disk_path: str | None,
    inherited: Passed,
    depth: int,
) -> LintResult:
    """A file with nothing to lint that runs another script (`bash "$SCRIPT_DIR/train.sh"`, a thin wrapper that sets
    a few variables): lint that script as bash would run it, with the variables the wrapper passes (prefix
    assignments, exports), its findings pointing into it. Only for a file read from disk (the CLI), and only a
    script found next to the wrapper (or at the known path it gives); otherwise GL000 says which script it runs."""
    call = _script_call(text, inherited) if disk_path is not None and depth < _MAX_FOLLOW else None
    target = _call_target(call, disk_path) if call is not None and disk_path is not None else None
    if call is None or target is None:
        raise _nothing_found(adapter, fmt, text, path)
    try:
        data = target.read_bytes()
        sub_text = data.decode("utf-8") if len(data) <= MAX_CONFIG_BYTES else ""
    except (OSError, UnicodeDecodeError):
        sub_text = ""
    if not sub_text:
        raise _nothing_found(adapter, fmt, text, path)
    where = f"{Path(disk_path or shown).name} (line {call.line})"
    passed = tuple(
        (name, value, f"passed by {where}: {why}" if why else "", options)
        for name, value, why, options in call.passed
    )
    try:
        result = _lint_script_or_config(
            adapter, fmt, sub_text, str(target), shown, str(target), passed, depth + 1
        )
    except ConfigError:
        raise _nothing_found(adapter, fmt, text, path) from None
    names = ", ".join(name for name, *_ in call.passed)
    with_vars = f", with the variables it passes ({names})" if names else ""
    note = (
        f"no trainer command here: this file runs {target} on line {call.line}; that script is linted as it "
        f"would run{with_vars}, and the findings point into it"
    )
    result.findings = [f if f.file else replace(f, file=str(target)) for f in result.findings]
    result.notes = [note, *result.notes]
    result.path = shown
    return result


def _script_call(text: str, inherited: Passed) -> ScriptCall | None:
    from training.lint.adapters._bash import read_script

    try:
        script = read_script(text, inherited)
    except ConfigError:
        return None
    return script.calls[-1] if len(script.calls) == 1 else None  # several: which one trains is a guess


def _call_target(call: ScriptCall, disk_path: str) -> Path | None:
    """The script file a call runs, found as `--input-format auto` finds it (training.lint.detect): next to the
    wrapper or in a folder above it (a repository's root, where such paths start), a leading variable being one
    of those folders (`"$SCRIPT_DIR/train.sh"`)."""
    from training.lint.detect import callee_path, locate_callee

    return locate_callee(callee_path(call.script.text), Path(disk_path))


def _says_nothing_found(message: str, fmt: str) -> bool:
    """An adapter's own words for "nothing to lint here" (a README given to any adapter)."""
    return (
        message.startswith(_NOTHING)
        or bool(_NO_COMMAND.match(message))
        or (fmt == "grpolab" and message.startswith("a config must be a mapping of sections, got a str"))
    )


def _nothing_found(adapter: ModuleType, fmt: str, text: str, path: str | None) -> ConfigError:
    """GL000 for a file with no trainer command and no config keys, naming the script it hands over to, if any."""
    entry = getattr(adapter, "ENTRY_POINTS", ())
    if fmt == "grpolab":
        return nothing_to_lint("a GRPO Lab config: a YAML/JSON mapping of sections")
    err = nothing_to_lint(f"a `{entry[0]} ...` command" if entry else f"a {fmt} config of YAML/JSON keys")
    if _looks_like_yaml(text, path):
        return err
    from training.lint.adapters._shell import tokenize

    try:
        statements = tokenize(text)
    except ConfigError:
        return err
    for words in statements:
        names = [w.text for w in words[:2]]
        script = next((w for w in words[:2] if w.text.endswith(".sh")), None)
        if script is not None and (names[0].endswith(".sh") or names[0].rsplit("/", 1)[-1] in ("bash", "sh")):
            hint = f" It runs the script `{script.text}` (line {script.line}), which is not read here: lint that file."
            return ConfigError([replace(err.errors[0], message=err.errors[0].message + hint)])
    return err


def _looks_like_yaml(text: str, path: str | None) -> bool:
    from training.lint.adapters._yaml import try_parse

    return bool(try_parse(text)) and not _looks_like_shell(text, path)


def _rerun(
    adapter: ModuleType,
    text: str,
    path: str | None,
    disk_path: str | None,
    command: int,
    probe: dict[str, Any],
    memo: dict[Any, Any] | None,
    inherited: Passed = (),
) -> list[Finding] | None:
    """The findings when the unknown keys in `probe` take those values (None: the value is invalid there)."""
    with reading(path=disk_path, command=command, probe=probe, memo=memo, inherited=inherited):
        try:
            m = adapter.map_text(text, path)
        except ConfigError:
            return None
    return run_rules(m.concepts, m.allow)


def _looks_like_shell(text: str, path: str | None) -> bool:
    suffix = Path(path).suffix.lower() if path else ""
    if suffix in (".yaml", ".yml", ".json"):
        return False
    if suffix in (".sh", ".bash", ".zsh"):
        return True
    return text.lstrip().startswith("#!") or bool(_SHELL_FLAG.search(text))


def _invalid(path: str, fmt: str, message: str, fix: str = FIX_FIELD, unread: bool = False) -> LintResult:
    return LintResult(
        path=path,
        format=fmt,
        findings=invalid_findings([FieldError(pointer="", field="", message=message)], fix),
        unread=unread,
    )


def lint_file(path: str | Path, input_format: str = "auto") -> LintResult:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            return _invalid(
                str(path), input_format, f"the file is {size:,} bytes; the limit is {MAX_CONFIG_BYTES:,}"
            )
        data = p.read_bytes()
    except FileNotFoundError:
        return _invalid(str(path), input_format, "file not found", FIX_PATH, unread=True)
    except IsADirectoryError:
        folder = f"is a folder, not a file (to lint the configs in it: grpolab lint {str(path).rstrip('/')}/*.yaml)"
        return _invalid(str(path), input_format, folder, FIX_PATH, unread=True)
    except OSError as exc:
        return _invalid(str(path), input_format, f"cannot read: {exc.strerror}", FIX_PATH, unread=True)
    return lint_text(data, input_format, str(path), on_disk=True)
