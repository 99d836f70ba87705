"""Text (compiler-style), JSON and SARIF 2.1.0 output of lint results."""

from __future__ import annotations

import json
from typing import Any

from training.lint.engine import LintResult
from training.lint.findings import Finding
from training.lint.rules import RULES

_COLORS = {"error": "\033[31;1m", "warning": "\033[33;1m", "info": "\033[36m"}
_RESET = "\033[0m"
_BOLD = "\033[1m"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_INFO_URI = "https://github.com/grpolab/grpolab/blob/main/"


def text_report(results: list[LintResult], color: bool = False, verbose: bool = False) -> str:
    lines: list[str] = []
    counts = {"error": 0, "warning": 0, "info": 0}
    for res in results:
        for note in res.notes:
            lines.append(f"{res.path}: note: {note}")
        for f in res.findings:
            counts[f.severity] += 1
            lines.append(_text_line(res.path, f, color, res.unread))
            if verbose or f.blocking:
                lines.append(f"    fix: {f.fix}")
                lines.append(f"    see: grpolab lint --explain {f.rule}")
    n_files = len(results)
    summary = f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info in {n_files} file(s)"
    lines.append(summary if any(counts.values()) else f"no findings in {n_files} file(s)")
    return "\n".join(lines) + "\n"


def _text_line(path: str, f: Finding, color: bool, unread: bool = False) -> str:
    # f.file: a base config the script names; a path that could not be read (a folder) has no line to point at
    where = path if unread else f"{f.file or path}:{f.line or 1}:{f.column or 1}"
    sev = f.severity
    allowed = f" (allowed: {f.allow_reason})" if f.allowed else ""
    if color:
        return f"{_BOLD}{where}:{_RESET} {_COLORS[sev]}{f.rule} {sev}{_RESET}: {f.message}{allowed}"
    return f"{where}: {f.rule} {sev}: {f.message}{allowed}"


def json_report(results: list[LintResult]) -> str:
    return json.dumps({"files": [r.to_dict() for r in results]}, indent=2) + "\n"


def _tool_version() -> str:
    """The installed grpolab version (read from the package metadata: reporters never import the CLI package)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("grpolab")
    except PackageNotFoundError:
        return "0+unknown"


def _sarif_uri(path: str) -> str:
    return path.lstrip("./") if path.startswith("./") else path


def sarif_report(results: list[LintResult]) -> str:
    from training.lint.explain import explain

    rules_meta: list[dict[str, Any]] = []
    for rid, r in RULES.items():
        name, title, sev, page = r.name, r.title, r.severity, explain(rid)
        rules_meta.append(
            {
                "id": rid,
                "name": name,
                "shortDescription": {"text": title},
                "fullDescription": {"text": title},
                "help": {"text": page, "markdown": page},
                "helpUri": f"{_INFO_URI}docs/rules/{rid}.md",
                "defaultConfiguration": {"level": _SARIF_LEVEL[sev]},
            }
        )
    index = {rid: i for i, rid in enumerate(RULES)}
    sarif_results = []
    for res in results:
        for f in res.findings:
            region: dict[str, int] = {"startLine": f.line or 1}
            if f.column:
                region["startColumn"] = f.column
            where: dict[str, Any] = {"artifactLocation": {"uri": _sarif_uri(f.file or res.path)}}
            if not res.unread:  # a folder or a missing file has no region
                where["region"] = region
            item: dict[str, Any] = {
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule, 0),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f"{f.message}\nFix: {f.fix}"},
                "locations": [{"physicalLocation": where}],
                "properties": {"format": res.format, "pointer": f.pointer, "fromDefault": f.from_default},
            }
            if f.allowed:
                item["suppressions"] = [{"kind": "inSource", "justification": f.allow_reason or ""}]
            sarif_results.append(item)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "grpolab",
                        "version": _tool_version(),
                        "informationUri": _INFO_URI,
                        "rules": rules_meta,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
