"""Findings that depend on a value the linter could not read become infos that say so.

Unknown is not the default: when an adapter had to read a key whose value the file does not let us know (see
`adapters/_source.py`), each finding is checked for whether its verdict depends on that key — directly (one of
its concepts comes from the key) or through the adapter's arithmetic (the adapter is re-run with other values
for the key, e.g. the branch values of an `if`, and the finding comes and goes). A finding that depends on an
unknown never fires as an error or a warning: it becomes an info that says what could not be seen and what the
verdict would be with the default. The engine (engine.py) does the re-runs; this module decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from training.lint.adapters._source import Reading, UnknownRead
from training.lint.concepts import Concepts
from training.lint.findings import Finding

#: The findings when the unknown keys given take those values (None: such a value is invalid there).
Rerun = Callable[[dict[str, Any]], list[Finding] | None]

#: adapter re-runs per trainer command to learn which findings depend on unknown keys
_PROBE_BUDGET = 160
#: the re-runs for one command stop here, whatever is left of the budget
_PROBE_SECONDS = 0.5
_PROBES: dict[str, tuple[Any, ...]] = {
    "bool": (True, False),
    "int": (1, 2, 3, 4, 8, 16, 64, 1024),
    "float": (0.0, 0.001, 0.2, 1.0, 5.0),
}
_FEW_PROBES: dict[str, tuple[Any, ...]] = {"bool": (True, False), "int": (1, 8), "float": (0.0, 1.0)}


def _identity(f: Finding) -> tuple[Any, ...]:
    return (f.rule, f.file, f.line, f.column, f.severity)


def settle_unknowns(findings: list[Finding], r: Reading, c: Concepts, rerun: Rerun) -> list[Finding]:
    """Errors and warnings whose verdict depends on an unknown value become infos that say so.

    Each unknown key is tried with other values, one key at a time: the other values the file can give it when
    it says (the branches of an `if`: then a finding that fires for every one of them keeps its severity, and
    one that fires only for another branch is added as an info), otherwise typical values of its type."""
    if not r.unknown:
        return findings
    depends: dict[int, list[UnknownRead]] = {i: [] for i in range(len(findings))}
    extra: dict[tuple[Any, ...], Finding] = {}
    budget = _PROBE_BUDGET
    deadline = time.perf_counter() + _PROBE_SECONDS
    reads = sorted(r.unknown.values(), key=lambda u: not u.written)  # keys the file writes first
    for u in reads:
        if time.perf_counter() > deadline:
            break  # what is left is settled by the direct check below (a finding from an unknown key is an info)
        if u.candidates:
            values = list(u.candidates[1:])  # the file's own list is complete
        else:
            table = _PROBES if u.written else _FEW_PROBES
            values = [v for v in table.get(u.kind, ()) if v != u.default]
        values = values[: max(budget, 0)]
        budget -= len(values)
        for value in values:
            got = rerun({u.name: value})
            if got is None:
                continue
            seen = {_identity(g) for g in got}
            for i, f in enumerate(findings):
                if _identity(f) not in seen and u not in depends[i]:
                    depends[i].append(u)
            if u.candidates:
                base = {_identity(f) for f in findings}
                for g in got:
                    if _identity(g) not in base and g.severity != "info":
                        extra.setdefault(_identity(g), _as_unknown(g, [u], c, value))
    out: list[Finding] = []
    for i, f in enumerate(findings):
        if f.severity == "info" or (not depends[i] and not f.unknown):
            out.append(f)
            continue
        if not depends[i] and _every_value_tried(f, reads):
            out.append(f)  # e.g. both branches of an `if`: the verdict holds for each value the key can take
            continue
        out.append(_as_unknown(f, depends[i], c))
    return out + list(extra.values())


def _every_value_tried(f: Finding, reads: list[UnknownRead]) -> bool:
    """Each unknown the finding comes from has a complete list of values (all were tried above)."""
    involved = [u for u in reads if any(x.startswith(f"`{u.shown}`: ") for x in f.unknown)]
    return len(involved) == len(f.unknown) and all(u.candidates for u in involved)


def _as_unknown(f: Finding, reads: list[UnknownRead], c: Concepts, value: Any = None) -> Finding:
    """The finding as an info: what could not be seen, and the verdict for the value that stood in."""
    if reads:
        seen = "; ".join(f"`{u.shown}`: {u.reason}" for u in reads[:2])
        if value is not None or any(u.candidates for u in reads[:2]):
            used = [(u, value if value is not None else u.candidates[0]) for u in reads[:2] if u.candidates]
            stand_in = ", ".join(f"`{u.shown}` = {_shown_value(v)}" for u, v in used) + " (one of its values)"
        else:
            defaults = ", ".join(
                f"`{u.shown}` = {_shown_value(u.default)}" for u in reads[:2] if u.default is not None
            )
            version = f" {c.framework_version}" if c.framework_version else ""
            stand_in = f"{c.framework}{version}'s default" + (f" ({defaults})" if defaults else "s")
    else:
        seen = "; ".join(f.unknown[:2])
        version = f" {c.framework_version}" if c.framework_version else ""
        stand_in = f"{c.framework}{version}'s defaults"
    message = (
        f"not checked, a value it depends on is unknown here ({seen}). With {stand_in} this would be "
        f"{f.rule} {f.severity}: {f.message}"
    )
    unknown = tuple(dict.fromkeys((*f.unknown, *(f"`{u.shown}`: {u.reason}" for u in reads))))
    return replace(f, severity="info", message=message, unknown=unknown, from_default=False)


def _shown_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
