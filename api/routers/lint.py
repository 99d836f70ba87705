"""POST /lint: the same findings as `grpolab lint --format json`, for any supported format."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, OneThreadRoute
from api.schemas import ErrorBody, LintRequest, LintResponse
from training.lint import lint_text

router = APIRouter(tags=["lint"], route_class=OneThreadRoute)


@router.post(
    "/lint",
    response_model=LintResponse,
    summary="Lint a config",
    responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody, "description": "Body over 1 MB."}},
)
def lint(body: LintRequest, _user: CurrentUser) -> Any:
    """Always 200 for config text: text that cannot be parsed or validated shows up as `GL000` findings with
    line and column."""
    return lint_text(body.config_text, body.input_format, "<config_text>").to_dict()
