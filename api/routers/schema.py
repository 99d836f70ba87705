"""What the UI's editor needs: the RunConfig JSON Schema, the rule catalogue and the example templates."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, OneThreadRoute
from api.errors import ApiError
from api.schemas import ErrorBody, RuleDetail, RuleOut, TemplateOut
from training.config import json_schema
from training.lint import RULES, explain

router = APIRouter(tags=["schema"], route_class=OneThreadRoute)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_HEADER = re.compile(r"^#\s*(title|description):\s*(.*)$")


@router.get("/schema/run-config", summary="RunConfig's JSON Schema")
def run_config_schema(_user: CurrentUser) -> dict[str, Any]:
    return json_schema()


def _rule(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "severity": rule.severity,
        "title": rule.title,
        "why": rule.why,
        "fix": rule.fix,
    }


@router.get("/rules", response_model=list[RuleOut], summary="The lint rules")
def rules(_user: CurrentUser) -> Any:
    return [_rule(r) for r in RULES.values()]


@router.get(
    "/rules/{rule_id}",
    response_model=RuleDetail,
    summary="One rule with its page (Markdown)",
    responses={404: {"model": ErrorBody}},
)
def rule(rule_id: str, _user: CurrentUser) -> Any:
    rid = rule_id.upper()
    if rid not in RULES:
        raise ApiError(404, "not_found", f"unknown rule '{rule_id[:20]}'; known: {', '.join(RULES)}")
    return {**_rule(RULES[rid]), "markdown": explain(rid)}


@lru_cache(maxsize=1)
def _templates() -> list[dict[str, str]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        meta = {"title": path.stem, "description": ""}
        for line in text.splitlines():
            m = _HEADER.match(line)
            if m:
                meta[m[1]] = m[2].strip()
            elif line.strip() and not line.startswith("#"):
                break
        out.append({"name": path.stem, **meta, "config_text": text})
    # the demo first: it is what a newcomer should start from
    out.sort(key=lambda t: (t["name"] != "default", t["name"]))
    return out


@router.get("/templates", response_model=list[TemplateOut], summary="Example configs to start from")
def templates(_user: CurrentUser) -> Any:
    return _templates()
