"""Sweeps: a base config × a grid of overrides → linked runs; preview, create, list, inspect, edit, summarise,
cancel."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from api.deps import CurrentUser, MemberUser, OneThreadRoute, SessionDep, SettingsDep, ensure_can_modify
from api.errors import ApiError
from api.idempotency import IdempotencyKey, replayed, scoped_key
from api.queries import SUMMARY_COLUMNS, summary_dict
from api.quotas import check_run_quota
from api.schemas import ErrorBody
from api.submission import check_project
from api.sweep_schemas import (
    SweepCreate,
    SweepDetailOut,
    SweepList,
    SweepPatch,
    SweepPreview,
    SweepSummary,
)
from api.sweep_summary import DEFAULT_METRICS, ordered_runs, summarize
from api.sweeps import (
    arm_check,
    check_arms,
    owner_names,
    refuse_if_any,
    replay,
    status_counts,
    store,
    sweep_dict,
)
from service.db.lifecycle import transition
from service.db.models import DEFAULT_PROJECT, Run, RunStatus, Sweep

router = APIRouter(prefix="/sweeps", tags=["sweeps"], route_class=OneThreadRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token."},
    404: {"model": ErrorBody, "description": "No such sweep."},
    422: {"model": ErrorBody, "description": "A malformed parameter (the field is named in `errors`)."},
}
FORBIDDEN: dict[str, Any] = {
    "model": ErrorBody,
    "description": "`forbidden`: a viewer, or a member acting on another user's sweep (the reason is given).",
}
SWEEP_ID = Annotated[
    str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="Sweep id.")
]
METRIC_PATTERN = r"^[A-Za-z0-9_./:-]{1,100}$"


def _get(session: Any, sweep_id: str) -> Sweep:
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        raise ApiError(404, "not_found", f"no sweep with id '{sweep_id[:40]}'")
    return sweep


def _detail(session: Any, sweep: Sweep) -> dict[str, Any]:
    runs = ordered_runs(session, sweep, *SUMMARY_COLUMNS, Run.sweep_arm)
    counts = status_counts(session, [sweep.id])[sweep.id]
    owner = owner_names(session, {sweep.owner_id}).get(sweep.owner_id or -1)
    return {
        **sweep_dict(sweep, counts, owner),
        "config_text": sweep.config_text,
        "items": [{**summary_dict(r), "sweep_arm": r.sweep_arm} for r in runs],
    }


@router.post(
    "/preview",
    response_model=SweepPreview,
    summary="Check every arm of a sweep without storing anything",
    responses={
        **ERRORS,
        422: {
            "model": ErrorBody,
            "description": "`invalid_grid` (the key is named), `invalid_config` (the base text is not YAML) or "
            "`invalid_request` (a malformed body).",
        },
    },
)
def preview_sweep(body: SweepCreate, settings: SettingsDep, _user: CurrentUser) -> Any:
    """Expand the grid and validate and lint each arm as POST /runs would. Always 200 for a well-formed grid:
    each arm says `ok` or why it would be refused (what the UI shows before Submit, and `grpolab sweep
    --dry-run`)."""
    arms = check_arms(body, settings)
    return {
        "count": len(arms),
        "ok": all(a.refusal is None for a in arms),
        "arms": [arm_check(a) for a in arms],
    }


@router.post(
    "",
    status_code=201,
    response_model=SweepDetailOut,
    summary="Create a sweep",
    responses={
        200: {
            "model": SweepDetailOut,
            "description": "Same Idempotency-Key and body as an earlier create by the same user: that sweep.",
        },
        409: {
            "model": ErrorBody,
            "description": "`idempotency_key_reused`: this user used the key for a different body.",
        },
        **ERRORS,
        403: {"model": ErrorBody, "description": "`forbidden`: a viewer may not create sweeps."},
        429: {
            "model": ErrorBody,
            "description": "`quota_exceeded`: the sweep's runs would put the user over a run quota (named).",
        },
        422: {
            "model": ErrorBody,
            "description": "`invalid_grid` (an unknown key with the nearest one, empty or repeated values, over "
            "100 runs), `unknown_project`, `invalid_config` or `lint_failed` (naming each refused arm, its "
            "errors and findings; each finding carries `arm` and `arm_label`), `invalid_request` (a malformed "
            "body). Nothing is stored.",
        },
    },
)
def create_sweep(
    body: SweepCreate,
    settings: SettingsDep,
    session: SessionDep,
    user: MemberUser,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Expand the grid into arms, validate and lint EVERY arm before anything is stored (a refused arm refuses
    the sweep), then store the sweep and its runs in one transaction and queue the runs."""
    arms = check_arms(body, settings)
    refuse_if_any(arms)
    project = body.project or DEFAULT_PROJECT
    check_project(session, project)
    stored_key = scoped_key(user.name, idempotency_key)
    try:
        check_run_quota(session, settings, user.user_id, user.name, adding=len(arms))
    except ApiError as refusal:
        # the first attempt's runs may be what fills the quota: a retry of a stored sweep still gets that sweep
        earlier = replayed(response, replay(session, stored_key, idempotency_key, body), refusal)
        return _replayed(session, earlier)
    try:
        sweep, rows = store(session, settings, body, arms, project, user, idempotency_key=stored_key)
    except IntegrityError as refusal:
        # the key exists (a retry, or a concurrent twin that won): nothing of this attempt was written
        session.rollback()
        earlier = replayed(response, replay(session, stored_key, idempotency_key, body), refusal)
        return _replayed(session, earlier)
    warnings = sorted({r["waiting_reason"] for r in rows if r["waiting_reason"]})
    return {**_detail(session, sweep), "warnings": warnings}


def _replayed(session: Any, sweep: Sweep) -> dict[str, Any]:
    """A retried create's answer: the stored sweep, its runs' current waiting reasons as its warnings."""
    detail = _detail(session, sweep)
    reasons = {r["waiting_reason"] for r in detail["items"] if r.get("waiting_reason")}
    return {**detail, "warnings": sorted(reasons)}


@router.get("", response_model=SweepList, summary="List sweeps", responses=ERRORS)
def list_sweeps(
    session: SessionDep,
    _user: CurrentUser,
    project: Annotated[
        str | None, Query(max_length=100, pattern=r"^[^\x00]*$", description="Only this project.")
    ] = None,
    archived: Annotated[
        Literal["false", "true", "any"],
        Query(
            description="`false` (default): hide archived sweeps; `true`: only archived ones; `any`: both."
        ),
    ] = "false",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Any:
    """Newest first, each with its runs' status counts; archived sweeps are hidden unless `archived` asks for
    them (as for runs)."""
    where = []
    if project:
        where.append(Sweep.project == project)
    if archived != "any":
        where.append(Sweep.archived.is_(archived == "true"))
    total = session.execute(select(func.count()).select_from(Sweep).where(*where)).scalar_one()
    sweeps = list(
        session.execute(
            select(Sweep)
            .where(*where)
            .order_by(Sweep.created_at.desc(), Sweep.id)
            .limit(limit)
            .offset(offset)
        ).scalars()
    )
    counts = status_counts(session, [s.id for s in sweeps])
    owners = owner_names(session, {s.owner_id for s in sweeps})
    return {
        "items": [sweep_dict(s, counts[s.id], owners.get(s.owner_id or -1)) for s in sweeps],
        "total": total,
    }


@router.get("/{sweep_id}", response_model=SweepDetailOut, summary="One sweep with its runs", responses=ERRORS)
def read_sweep(sweep_id: SWEEP_ID, session: SessionDep, _user: CurrentUser) -> Any:
    return _detail(session, _get(session, sweep_id))


@router.patch(
    "/{sweep_id}",
    response_model=SweepDetailOut,
    summary="Rename a sweep, edit its notes, archive or unarchive it",
    responses={**ERRORS, 403: FORBIDDEN},
)
def patch_sweep(sweep_id: SWEEP_ID, body: SweepPatch, session: SessionDep, user: CurrentUser) -> Any:
    """Fields left out stay as they are; `notes` replaces the old notes. Its owner (a member) or an admin only,
    as for `PATCH /runs/{id}`. The grid, the base config and the runs (their names, archived flags and status)
    never change here."""
    sweep = _get(session, sweep_id)
    owner = owner_names(session, {sweep.owner_id}).get(sweep.owner_id or -1)
    ensure_can_modify(user, sweep.owner_id, f"sweep {sweep.id}", owner)
    if body.name is not None:
        sweep.name = body.name
    if body.notes is not None:
        sweep.notes = body.notes
    if body.archived is not None:
        sweep.archived = body.archived
    session.commit()
    return _detail(session, sweep)


@router.get(
    "/{sweep_id}/summary",
    response_model=SweepSummary,
    summary="Curves pooled over seeds and final metrics with confidence intervals",
    responses=ERRORS,
)
def sweep_summary(
    sweep_id: SWEEP_ID,
    session: SessionDep,
    _user: CurrentUser,
    metric: Annotated[
        list[str] | None,
        Query(
            max_length=8,
            description="Metrics to summarise (repeatable, at most 8); default rollout/reward_mean and "
            "rollout/success_rate.",
            json_schema_extra={"items": {"type": "string", "pattern": METRIC_PATTERN}},
        ),
    ] = None,
) -> Any:
    """Runs that differ only by `run.seed` form a group. Per group and metric: for every step, the mean over
    the runs that logged it, the sample std and a 95% Student-t interval of the mean; and a final table over
    the group's succeeded runs (each run's last logged value). One run gives a mean without std or interval
    (said in `note`)."""
    metrics = list(dict.fromkeys(metric or DEFAULT_METRICS))
    bad = next((m for m in metrics if not re.fullmatch(METRIC_PATTERN, m)), None)
    if bad is not None:
        message = f"metric {bad[:100]!r} is not a metric name (letters, digits and _./:- only)"
        raise ApiError(
            422,
            "invalid_request",
            message,
            errors=[
                {"pointer": "/metric", "field": "metric", "message": message, "line": None, "column": None}
            ],
        )
    return summarize(session, _get(session, sweep_id), metrics)


@router.post(
    "/{sweep_id}/cancel",
    response_model=SweepDetailOut,
    summary="Cancel a sweep's unfinished runs",
    responses={**ERRORS, 403: FORBIDDEN},
)
def cancel_sweep(sweep_id: SWEEP_ID, session: SessionDep, user: CurrentUser) -> Any:
    """Queued runs are cancelled at once; running ones are stopped by their workers within seconds
    (`cancel_requested`). Finished runs are left as they are; cancelling a finished sweep changes nothing."""
    sweep = _get(session, sweep_id)
    owner = owner_names(session, {sweep.owner_id}).get(sweep.owner_id or -1)
    ensure_can_modify(user, sweep.owner_id, f"sweep {sweep.id}", owner)
    reason = f"cancelled by {user.name} (sweep {sweep.id})"
    queued = session.execute(
        select(Run.id).where(Run.sweep_id == sweep.id, Run.status == RunStatus.QUEUED.value)
    ).scalars()
    for run_id in list(queued):
        transition(session, run_id, RunStatus.CANCELLED, reason, from_={RunStatus.QUEUED})
    session.execute(
        update(Run)
        .where(Run.sweep_id == sweep.id, Run.status == RunStatus.RUNNING.value)
        .values(cancel_requested=True)
    )
    session.commit()
    return _detail(session, sweep)
