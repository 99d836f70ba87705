"""A sweep's summary: its runs grouped by arm without the seed, per-step bands and a final-metrics table."""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.sweep_grid import SEED_KEY, arm_label, expand, group_key
from api.sweep_stats import CONFIDENCE, band, describe
from service.db.models import MetricPoint, Run, RunStatus, Sweep

DEFAULT_METRICS = ("rollout/reward_mean", "rollout/success_rate")


def arm_order(sweep: Sweep) -> dict[str, int]:
    """Each arm's overrides (as sorted JSON) → its position in the grid's expansion."""
    return {json.dumps(o, sort_keys=True): i for i, o in enumerate(expand(sweep.grid or {}))}


def ordered_runs(session: Session, sweep: Sweep, *columns: Any) -> list[Any]:
    rows = session.execute(select(*columns).where(Run.sweep_id == sweep.id)).all()
    order = arm_order(sweep)
    return sorted(rows, key=lambda r: (order.get(json.dumps(r.sweep_arm, sort_keys=True), len(order)), r.id))


def _series(
    session: Session, run_ids: list[str], metrics: list[str]
) -> dict[str, dict[str, dict[int, float]]]:
    """run id → metric → {step: value}, finite numbers only (a NaN logged by a diverging run is not averaged)."""
    out: dict[str, dict[str, dict[int, float]]] = {r: {m: {} for m in metrics} for r in run_ids}
    if not run_ids:
        return out
    points = session.execute(
        select(MetricPoint.run_id, MetricPoint.step, MetricPoint.metrics).where(
            MetricPoint.run_id.in_(run_ids)
        )
    ).all()
    for run_id, step, values in points:
        for m in metrics:
            v = (values or {}).get(m)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                out[run_id][m][step] = float(v)
    return out


def _final(series: list[dict[int, float]]) -> dict[str, Any]:
    """The last logged value of each run, summarised; no interval from fewer than two runs, and why."""
    values = [s[max(s)] for s in series if s]
    d = describe(values)
    note = None
    if d is None:
        note = "no succeeded run logged this metric yet"
    elif d.n == 1:
        note = "one seed: no spread and no interval (add seeds with a run.seed grid key)"
    stats = d.as_dict() if d else {"n": 0, "mean": None, "std": None, "ci_low": None, "ci_high": None}
    return {**stats, "values": values, "note": note}


def summarize(session: Session, sweep: Sweep, metrics: list[str]) -> dict[str, Any]:
    runs = ordered_runs(session, sweep, Run.id, Run.status, Run.sweep_arm)
    series = _series(session, [r.id for r in runs], metrics)
    groups: dict[str, dict[str, Any]] = {}
    for r in runs:
        key = group_key(r.sweep_arm)
        rest = {k: v for k, v in (r.sweep_arm or {}).items() if k != SEED_KEY}
        g = groups.setdefault(
            key,
            {
                "key": key,
                "label": arm_label(rest) or "(base config)",
                "overrides": rest,
                "run_ids": [],
                "seeds": [],
                "statuses": [],
            },
        )
        g["run_ids"].append(r.id)
        g["seeds"].append((r.sweep_arm or {}).get(SEED_KEY))
        g["statuses"].append(r.status)
    for g in groups.values():
        succeeded = [
            rid
            for rid, st in zip(g["run_ids"], g["statuses"], strict=True)
            if st == RunStatus.SUCCEEDED.value
        ]
        g["bands"] = {m: band(series[rid][m] for rid in g["run_ids"]) for m in metrics}
        g["final"] = {m: _final([series[rid][m] for rid in succeeded]) for m in metrics}
    return {
        "sweep_id": sweep.id,
        "metrics": metrics,
        "confidence": CONFIDENCE,
        "groups": list(groups.values()),
    }
