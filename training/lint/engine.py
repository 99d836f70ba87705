"""Run every rule over a config's concepts and turn hits into located findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.config_io import ConfigError, FieldError
from training.lint.adapters import FORMATS, Mapped, get_adapter
from training.lint.concepts import Concepts
from training.lint.findings import Finding, Rule
from training.lint.rules import RULES
from training.sourcemap import MAX_CONFIG_BYTES, ConfigSyntaxError, parse_text

if TYPE_CHECKING:
    from training.config_io import LoadedConfig

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
    defaults = [o for o in origins if o.default]
    from_default = bool(defaults) and bool(names) and names[0] in c.origins and c.origins[names[0]].default
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
    )


def invalid_findings(errors: list[FieldError]) -> list[Finding]:
    """Validation/syntax problems as GL000 findings, so every reporter shows them like the rest."""
    return [
        Finding(
            rule=INVALID,
            name="config-invalid",
            severity="error",
            message=(f"{e.field}: {e.message}" if e.field else e.message),
            why="The file cannot be used as a config, so nothing else can be checked until this is fixed.",
            fix="Fix the field named in the message (see `grpolab schema` for every field and its type).",
            pointer=e.pointer,
            line=e.line,
            column=e.column,
            doc="docs/rules/GL000.md",
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


def lint_text(text: str | bytes, input_format: str = "auto", path: str | None = None) -> LintResult:
    """Lint config text in any supported format. Never raises for bad input: problems become GL000 findings."""
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
        mapped = adapter.map_text(text, path)
    except ConfigError as exc:
        return LintResult(path=shown, format=fmt, findings=invalid_findings(exc.errors), notes=notes)
    result = lint_mapped(mapped, shown, fmt)
    result.notes = notes
    return result


def _looks_like_shell(text: str, path: str | None) -> bool:
    suffix = Path(path).suffix.lower() if path else ""
    if suffix in (".yaml", ".yml", ".json"):
        return False
    if suffix in (".sh", ".bash", ".zsh"):
        return True
    return text.lstrip().startswith("#!") or bool(_SHELL_FLAG.search(text))


def _invalid(path: str, fmt: str, message: str) -> LintResult:
    return LintResult(
        path=path, format=fmt, findings=invalid_findings([FieldError(pointer="", field="", message=message)])
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
        return _invalid(str(path), input_format, "file not found")
    except IsADirectoryError:
        return _invalid(str(path), input_format, "is a directory, not a file")
    except OSError as exc:
        return _invalid(str(path), input_format, f"cannot read: {exc.strerror}")
    return lint_text(data, input_format, str(path))
