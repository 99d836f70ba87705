"""Outgoing webhooks (Slack-compatible JSON) on run and sweep end, for the caller's own runs or a project's."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, MemberUser, OneThreadRoute, SessionDep
from api.errors import ApiError
from api.schemas import IDENT_PATTERN, ErrorBody
from service.auth import Identity
from service.db.models import Project, User, Webhook, utcnow
from service.webhooks import EVENTS, masked_url, post_with_retries

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=OneThreadRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token."},
    404: {"model": ErrorBody, "description": "No such webhook (or not one the caller may see)."},
}
# what the API accepts, also published in the OpenAPI document: http(s), a host (a name or IPv4; no [IPv6]), an
# optional port 0-65535, then printable ASCII only (RFC 3986: anything else is percent-encoded); no
# `user:password@`. A positive class, not a negated one: schemathesis drops a pattern holding surrogate escapes
# and would then send bodies the API must refuse.
_HOST = r"[A-Za-z0-9._~%!$&'()*+,;=-]+"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
URL_PATTERN = rf"^https?://{_HOST}{_PORT}(?:[/?#][!-~]*)?$"
MAX_PER_USER = 20  # webhooks one user may create: a handful of channels, not a fan-out service
EventName = Literal["run.succeeded", "run.failed", "run.cancelled", "sweep.finished"]
WEBHOOK_ID = Annotated[int, Path(ge=1, le=2**31 - 1, description="Webhook id.")]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://hooks.slack.com/services/T0/B0/XXXX"}]},
    )

    url: str = Field(
        min_length=8,
        max_length=2000,
        description="Where to POST: an http(s) URL (a Slack incoming webhook works as is). Kept secret: the "
        "API shows only its host and last 4 characters back, logs only its host.",
        json_schema_extra={"pattern": URL_PATTERN},
    )
    project: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=IDENT_PATTERN,  # a project's name (api.schemas.Ident): the schema says what can exist
        description="Notify about every run of this project (admins only). Default: the caller's own runs.",
    )
    events: list[EventName] = Field(
        default_factory=lambda: list(get_args(EventName)),
        min_length=1,
        max_length=len(EVENTS),
        description="Which ends to send: run.succeeded, run.failed, run.cancelled, sweep.finished (default all).",
    )


class WebhookOut(BaseModel):
    id: int
    url: str = Field(description="Masked: scheme, host and the last 4 characters.")
    project: str | None = Field(description="The project it watches, or null for a user's own runs.")
    user: str | None = Field(description="The user whose runs it watches, or null for a project webhook.")
    events: list[str]
    created_by: str | None
    created_at: datetime
    last_sent_at: datetime | None = Field(description="When it was last sent (successfully or not).")
    last_error: str | None = Field(description="Why the last delivery failed after 3 tries, or null.")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class WebhookTest(BaseModel):
    delivered: bool
    error: str | None = Field(description="Why the test message was not delivered, or null.")


def _invalid(field: str, message: str) -> ApiError:
    error = {"pointer": f"/{field}", "field": field, "message": message, "line": None, "column": None}
    return ApiError(422, "invalid_request", f"the request is not valid: {field}: {message}", errors=[error])


def _check_url(url: str) -> str:
    """The URL if it matches URL_PATTERN, else a 422 that says what is wrong with it."""
    if re.fullmatch(URL_PATTERN, url):
        return url
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number or out of range
    except ValueError as exc:
        raise _invalid("url", f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise _invalid("url", "use an http:// or https:// URL")
    if parts.username or parts.password:
        raise _invalid(
            "url", "put no user or password in the URL; a secret path or query (as Slack's) is fine"
        )
    if not parts.hostname:
        raise _invalid("url", "the URL has no host")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _invalid("url", "the URL contains spaces or control characters")
    if not url.isascii():
        raise _invalid("url", "the URL holds non-ASCII characters; percent-encode them (RFC 3986)")
    raise _invalid(
        "url", "the host may hold letters, digits and . - _ ~ % only (an [IPv6] address: use a name)"
    )


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def _out(hook: Webhook, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": hook.id,
        "url": masked_url(hook.url),
        "project": hook.project,
        "user": names.get(hook.user_id) if hook.user_id is not None else None,
        "events": list(hook.events or []),
        "created_by": names.get(hook.created_by) if hook.created_by is not None else None,
        "created_at": hook.created_at,
        "last_sent_at": hook.last_sent_at,
        "last_error": hook.last_error,
    }


def _visible(user: Identity) -> Any:
    """Admins see every webhook; others those for their own runs or that they created."""
    if user.is_admin:
        return True
    return or_(Webhook.user_id == user.user_id, Webhook.created_by == user.user_id)


def _get(session: Session, user: Identity, hook_id: int) -> Webhook:
    hook = session.execute(select(Webhook).where(Webhook.id == hook_id, _visible(user))).scalar_one_or_none()
    if hook is None:
        raise ApiError(404, "not_found", f"no webhook with id {hook_id}")
    return hook


@router.post(
    "",
    status_code=201,
    response_model=WebhookOut,
    summary="Add a webhook",
    responses={
        **ERRORS,
        403: {"model": ErrorBody, "description": "A viewer, or a project webhook by a non-admin."},
        404: {"model": ErrorBody, "description": "No project of that name."},
        409: {"model": ErrorBody, "description": f"The caller has {MAX_PER_USER} webhooks already."},
    },
)
def create_webhook(body: WebhookCreate, session: SessionDep, user: MemberUser) -> Any:
    """Send a Slack-compatible message (`{"text", "blocks"}` plus `event`, `run` or `sweep`) when a run of the
    caller's (or, for admins, of a project) ends, and when a sweep's last arm ends."""
    url = _check_url(body.url)
    if body.project is not None:
        if not user.is_admin:
            raise ApiError(403, "forbidden", "only an admin may add a webhook for a whole project")
        if session.get(Project, body.project) is None:
            raise ApiError(
                404,
                "not_found",
                f"project: no project named '{body.project[:100]}' (see GET /api/v1/projects)",
            )
    count = session.execute(
        select(func.count()).select_from(Webhook).where(Webhook.created_by == user.user_id)
    ).scalar_one()
    if count >= MAX_PER_USER:
        raise ApiError(409, "conflict", f"you have {count} webhooks, the limit; delete one first")
    hook = Webhook(
        url=url,
        project=body.project,
        user_id=None if body.project is not None else user.user_id,
        events=list(dict.fromkeys(body.events)),
        created_by=user.user_id,
    )
    session.add(hook)
    session.commit()
    return _out(hook, {user.user_id: user.name})


@router.get("", response_model=WebhookList, summary="List webhooks", responses=ERRORS)
def list_webhooks(session: SessionDep, user: CurrentUser) -> Any:
    """Admins see every webhook; other users the ones for their own runs and the ones they added."""
    hooks = session.execute(select(Webhook).where(_visible(user)).order_by(Webhook.id)).scalars().all()
    names = _names(session, {h.user_id for h in hooks} | {h.created_by for h in hooks})
    return {"items": [_out(h, names) for h in hooks]}


@router.delete(
    "/{hook_id}",
    status_code=204,
    summary="Remove a webhook",
    responses={**ERRORS, 403: {"model": ErrorBody, "description": "A viewer may not remove webhooks."}},
)
def delete_webhook(hook_id: WEBHOOK_ID, session: SessionDep, user: MemberUser) -> Response:
    session.delete(_get(session, user, hook_id))
    session.commit()
    return Response(status_code=204)


@router.post(
    "/{hook_id}/test",
    response_model=WebhookTest,
    summary="Send a test message",
    responses={**ERRORS, 403: {"model": ErrorBody, "description": "A viewer may not send test messages."}},
)
def test_webhook(hook_id: WEBHOOK_ID, session: SessionDep, user: MemberUser) -> Any:
    """POST a short message now (3 tries, 5 s each) and record the outcome like a real delivery."""
    hook = _get(session, user, hook_id)
    url = hook.url
    session.commit()  # no pooled connection is held while a slow receiver is waited for
    text = f"GRPO Lab: test message for webhook {hook_id}, sent by {user.name}"
    payload = {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    error = post_with_retries(url, {**payload, "event": "test"})
    hook = _get(session, user, hook_id)
    hook.last_sent_at = utcnow()
    hook.last_error = error
    session.commit()
    return {"delivered": error is None, "error": error}
