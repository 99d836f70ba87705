"""Runs: submit, list, inspect, edit, cancel, retry, metrics and logs.

Who may change a run: its owner (a member) or an admin (api.deps.ensure_can_modify); a viewer only reads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.coalesce import shared_json
from api.deps import CurrentUser, MemberUser, OneThreadRoute, SessionDep, SettingsDep, ensure_can_modify
from api.errors import ApiError
from api.idempotency import IdempotencyKey, replay_for_key, replayed, scoped_key
from api.queries import (
    SUMMARY_COLUMNS,
    RunSort,
    SortOrder,
    detail_dict,
    get_run,
    run_order,
    summary_dict,
    tag_prefix_filter,
)
from api.quotas import check_run_quota
from api.schemas import (
    NAME_PATTERN,
    NO_NUL_PATTERN,
    TAG_PATTERN,
    ErrorBody,
    LogList,
    MetricList,
    RunCreate,
    RunDetail,
    RunList,
    RunPatch,
    StatusName,
)
from api.submission import check_project, check_tags, prepare
from service.auth import Identity
from service.broker import enqueue_run
from service.db.lifecycle import transition
from service.db.models import LogLine, MetricPoint, Run, RunStatus, utcnow
from service.queue_status import waiting_reason_for
from service.runs import insert_new_run, new_run_row

log = logging.getLogger("grpolab.api")
router = APIRouter(prefix="/runs", tags=["runs"], route_class=OneThreadRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token, or a disabled user."},
    404: {"model": ErrorBody, "description": "No such run."},
    422: {"model": ErrorBody, "description": "A malformed parameter (the field is named in `errors`)."},
    429: {"model": ErrorBody, "description": "`rate_limited`: the token's request rate (see Retry-After)."},
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorBody,
        "description": "`forbidden`: a viewer, or a member acting on another user's run (the reason is given).",
    }
}
# a route that changes a run: its owner (a member) or an admin only
CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, **FORBIDDEN}
QUOTA: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "`quota_exceeded`: the user's queued or running runs are at the limit (named), or "
        "`rate_limited`: the token's request rate (see Retry-After).",
    }
}
# run ids are 12 hex digits; anything outside this alphabet (NUL, spaces, ...) is refused before any query
RUN_ID = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="Run id.")]


def _run_to_change(session: Session, run_id: str, user: Identity) -> Run:
    """The run, if `user` may change it: 404 when there is none, 403 for a viewer or another member."""
    run = get_run(session, run_id)
    ensure_can_modify(user, run.owner_id, f"run {run_id}", run.created_by)
    return run


def _settle(session: Session, run: Run, changed: bool, refusal: Callable[[str], str]) -> None:
    """Commit a state change this request made and re-read the run; if another change came first (`changed` is
    false), undo and answer 409 with `refusal(the status the run is in now)`."""
    if not changed:
        session.rollback()
        session.refresh(run)
        raise ApiError(409, "conflict", refusal(run.status))
    session.commit()
    session.refresh(run)


def _send(settings: Any, session: Any, run_id: str, queue: str) -> None:
    try:
        enqueue_run(settings, run_id, queue)
    except Exception:
        # the run stays queued and is marked never-sent: a worker's reaper sends it once the broker is back
        log.exception("could not enqueue run %s; the reaper will send it", run_id)
        session.execute(update(Run).where(Run.id == run_id).values(enqueued_at=None))
        session.commit()


@router.post(
    "",
    status_code=201,
    response_model=RunDetail,
    summary="Submit a run",
    responses={
        200: {
            "model": RunDetail,
            "description": "Same Idempotency-Key and config as an earlier submit by the same user: that run.",
        },
        409: {
            "model": ErrorBody,
            "description": "`idempotency_key_reused`: this user used the key for a different config.",
        },
        **ERRORS,
        **FORBIDDEN,
        **QUOTA,
        400: {"model": ErrorBody, "description": "`bad_request`: the body is not valid JSON."},
        413: {"model": ErrorBody, "description": "Body over 1 MB."},
        422: {
            "model": ErrorBody,
            "description": "`invalid_config` (field errors with line/column), `lint_failed` (findings), "
            "`over_limit` (a run-size limit: the field, the limit and the setting that raises it) or "
            "`unknown_project` or `invalid_request` (a malformed body or header; the field is named).",
        },
    },
)
def create_run(
    body: RunCreate,
    settings: SettingsDep,
    session: SessionDep,
    user: MemberUser,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Validate, lint and queue a run in a project (`default` unless chosen) owned by the caller. A config with
    an error finding not listed in `lint.allow` is refused with 422 `lint_failed`, a config over a run-size limit
    with 422 `over_limit`, and a user at a run quota with 429: nothing is stored or queued."""
    p = prepare(body, settings)
    if session.get_bind().dialect.name == "postgresql":
        # reads one statement at a time, then one atomic INSERT (service.runs.insert_new_run): no transaction
        # needed, so none is opened (BEGIN and COMMIT would be two more round trips per submit)
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    check_project(session, body.project)
    stored_key = scoped_key(user.name, idempotency_key)
    try:
        check_run_quota(session, settings, user.user_id, user.name)
    except ApiError as refusal:
        # at the quota, a retried submit of a stored run still gets that run
        return replayed(response, replay_for_key(session, stored_key, idempotency_key, p.config), refusal)
    now = utcnow()
    values = new_run_row(
        settings,
        p,
        owner_name=user.name,
        owner_id=user.user_id,
        now=now,
        project=body.project,
        idempotency_key=stored_key,
        # never silently forever-queued: a queue no live worker consumes is said at once (service.queue_status)
        waiting_reason=waiting_reason_for(session, settings, p.queue),
    )
    run_id = values["id"]
    reason = f"submitted by {user.name}"
    try:
        # Core on the session's own connection (one pooled connection per request, never two), parameters
        # apart (the compiled statement is cached), no read-back: the least work and round trips per submit
        insert_new_run(session.connection(), values, reason)
        session.commit()
    except IntegrityError as refusal:
        # the Idempotency-Key exists (a retry, or a concurrent twin that won): answer with that run
        session.rollback()
        return replayed(response, replay_for_key(session, stored_key, idempotency_key, p.config), refusal)
    _send(settings, session, run_id, p.queue)
    run = Run(**values)  # transient: only to shape the response
    return {
        **summary_dict(run),
        "config": run.config,
        "config_text": run.config_text,
        "findings": run.findings,
        "history": [{"status": RunStatus.QUEUED.value, "at": now, "reason": reason}],
        "summary": None,
        "warnings": [values["waiting_reason"]] if values["waiting_reason"] else [],
    }


@router.get("", response_model=RunList, summary="List runs", responses=ERRORS)
def list_runs(
    request: Request,
    session: SessionDep,
    _user: CurrentUser,
    status: Annotated[StatusName | None, Query(description="Only runs in this status.")] = None,
    tag: Annotated[
        str | None, Query(max_length=64, pattern=TAG_PATTERN, description="Only runs with this tag.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL_PATTERN, description="Substring of the name or id.")
    ] = None,
    owner: Annotated[
        str | None, Query(max_length=100, pattern=NAME_PATTERN, description="Only runs of this user (name).")
    ] = None,
    project: Annotated[
        str | None, Query(max_length=100, pattern=NAME_PATTERN, description="Only runs of this project.")
    ] = None,
    archived: Annotated[
        Literal["false", "true", "any"],
        Query(description="`false` (default): hide archived runs; `true`: only archived runs; `any`: both."),
    ] = "false",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    sort: Annotated[
        RunSort,
        Query(description="Sort by this column; runs without a value (no reward yet, unfinished) last."),
    ] = "created_at",
    order: Annotated[SortOrder, Query(description="`asc` or `desc` (ties: newest first).")] = "desc",
    tag_prefix: Annotated[
        str | None,
        Query(max_length=64, pattern=TAG_PATTERN, description="Only runs with a tag that starts with this."),
    ] = None,
) -> Any:
    """Newest first; archived runs are hidden unless `archived` asks for them."""
    where = []
    if status:
        where.append(Run.status == status)
    if tag:
        where.append(Run.tags_index.contains(f",{tag},", autoescape=True))
    if q:
        where.append(Run.name.icontains(q, autoescape=True) | Run.id.startswith(q, autoescape=True))
    if tag_prefix:
        where.append(tag_prefix_filter(tag_prefix))
    if owner:
        where.append(Run.created_by == owner)
    if project:
        where.append(Run.project == project)
    if archived != "any":
        where.append(Run.archived.is_(archived == "true"))

    def page() -> dict[str, Any]:
        total = session.execute(select(func.count()).select_from(Run).where(*where)).scalar_one()
        rows = session.execute(
            select(*SUMMARY_COLUMNS)  # plain rows, not the configs, texts and findings a list never shows
            .where(*where)
            .order_by(*run_order(sort, order))
            .limit(limit)
            .offset(offset)
        ).all()
        return {"items": [summary_dict(r) for r in rows], "total": total}

    # identical lists that arrive together share one query (api/coalesce.py); every user reads every run
    key = ("runs", status, tag, q, owner, project, archived, limit, offset, sort, order, tag_prefix)
    return shared_json(request, key, RunList, page)


@router.get(
    "/{run_id}",
    response_model=RunDetail,
    summary="One run with config, findings and history",
    responses=ERRORS,
)
def read_run(run_id: RUN_ID, request: Request, session: SessionDep, _user: CurrentUser) -> Any:
    # a team's open pages of one run share their reads (api/coalesce.py)
    return shared_json(
        request, ("run", run_id), RunDetail, lambda: detail_dict(session, get_run(session, run_id))
    )


@router.patch(
    "/{run_id}",
    response_model=RunDetail,
    summary="Rename a run, edit its tags or notes, archive or unarchive it",
    responses={
        **CHANGE_ERRORS,
        422: {"model": ErrorBody, "description": "A malformed field (named in `errors`)."},
    },
)
def patch_run(run_id: RUN_ID, body: RunPatch, session: SessionDep, user: CurrentUser) -> Any:
    """Fields left out stay as they are; `tags` and `notes` replace the old values. Its owner (a member) or an
    admin only. The run's config, status and history never change here."""
    run = _run_to_change(session, run_id, user)
    if body.tags is not None:
        check_tags(body.tags)
        tags = list(dict.fromkeys(body.tags))
        run.tags = tags
        run.tags_index = "," + ",".join(tags) + ","
    if body.name is not None:
        run.name = body.name
    if body.notes is not None:
        run.notes = body.notes
    if body.archived is not None:
        run.archived = body.archived
    session.commit()
    session.refresh(run)
    return detail_dict(session, run)


@router.post(
    "/{run_id}/cancel",
    response_model=RunDetail,
    summary="Cancel a run",
    responses={**CHANGE_ERRORS, 409: {"model": ErrorBody, "description": "The run already finished."}},
)
def cancel_run(run_id: RUN_ID, session: SessionDep, user: CurrentUser) -> Any:
    """A queued run is cancelled at once; a running one is stopped by its worker within a few seconds
    (`cancel_requested` is true until then)."""
    run = _run_to_change(session, run_id, user)
    reason = f"cancelled by {user.name}"
    changed = transition(session, run_id, RunStatus.CANCELLED, reason, from_={RunStatus.QUEUED})
    if not changed:  # a running run is flagged: its worker stops it and makes the transition
        flagged = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
            .values(cancel_requested=True, cancel_requested_by=user.name)
        )
        changed = flagged.rowcount == 1  # type: ignore[attr-defined]
    _settle(
        session, run, changed, lambda status: f"run {run_id} already finished ({status}); nothing to cancel"
    )
    return detail_dict(session, run)


@router.post(
    "/{run_id}/retry",
    response_model=RunDetail,
    summary="Queue a failed or cancelled run again",
    responses={
        **CHANGE_ERRORS,
        **QUOTA,
        409: {"model": ErrorBody, "description": "The run is not failed or cancelled."},
    },
)
def retry_run(run_id: RUN_ID, settings: SettingsDep, session: SessionDep, user: CurrentUser) -> Any:
    """The run resumes from its last checkpoint; its attempts start again from zero."""
    run = _run_to_change(session, run_id, user)
    retryable = {RunStatus.FAILED, RunStatus.CANCELLED}
    if run.owner_id is not None and run.status in retryable:
        check_run_quota(session, settings, run.owner_id, run.created_by or user.name)
    changed = transition(session, run_id, RunStatus.QUEUED, f"retried by {user.name}", from_=retryable)
    _settle(
        session,
        run,
        changed,
        lambda status: f"run {run_id} is {status}; only failed or cancelled runs can be retried",
    )
    _send(settings, session, run_id, run.queue)
    return detail_dict(session, run)


@router.get(
    "/{run_id}/metrics", response_model=MetricList, summary="Metric points after a step", responses=ERRORS
)
def run_metrics(
    run_id: RUN_ID,
    session: SessionDep,
    _user: CurrentUser,
    since: Annotated[int, Query(ge=-1, le=2**31 - 1, description="Only steps greater than this.")] = -1,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Any:
    get_run(session, run_id)
    rows = session.execute(
        select(MetricPoint.step, MetricPoint.metrics)
        .where(MetricPoint.run_id == run_id, MetricPoint.step > since)
        .order_by(MetricPoint.step)
        .limit(limit)
    ).all()
    return {"items": [{"step": r.step, "metrics": r.metrics} for r in rows]}


@router.get(
    "/{run_id}/logs", response_model=LogList, summary="Log lines after a sequence number", responses=ERRORS
)
def run_logs(
    run_id: RUN_ID,
    session: SessionDep,
    _user: CurrentUser,
    since: Annotated[
        int, Query(ge=-1, le=2**31 - 1, description="Only lines with seq greater than this.")
    ] = -1,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Any:
    get_run(session, run_id)
    rows = session.execute(
        select(LogLine.seq, LogLine.at, LogLine.line)
        .where(LogLine.run_id == run_id, LogLine.seq > since)
        .order_by(LogLine.seq)
        .limit(limit)
    ).all()
    return {"items": [{"seq": r.seq, "at": r.at, "line": r.line} for r in rows]}
