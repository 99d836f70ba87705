"""Request and response bodies of the REST API (separate from the DB models on purpose)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from service.auth import IDENT_PATTERN

StatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TAG_PATTERN = r"^[A-Za-z0-9_.:/-]{1,64}$"
# control characters (terminal escapes, CR) and bidirectional overrides: a name is shown in terminals and tables,
# where these rewrite what the reader sees (BUG-10)
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
# documented in the schema only: api.strict_json refuses NUL in any body string first, with the field named
NO_NUL_PATTERN = r"^[^\x00]*$"
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _printable_name(name: str | None) -> str | None:
    bad = _NAME_BAD.search(name or "")
    if bad:
        raise ValueError(
            f"the name contains the control character U+{ord(bad.group()):04X} at position {bad.start() + 1}; "
            "names are shown in terminals and tables: use printable text"
        )
    return name


# the tags of a new run and of a sweep (given to each of its runs): the item pattern is published, and
# api.submission.check_tags enforces it with a message naming the tag
Tags = Annotated[
    list[str],
    Field(max_length=20, json_schema_extra={"items": {"type": "string", "pattern": TAG_PATTERN}}),
]

# a user or project name: its pattern is published, service.auth.check_name gives the sentence a person reads
Ident = Annotated[str, Field(min_length=1, max_length=100, pattern=IDENT_PATTERN)]

EXAMPLE_CONFIG_TEXT = "algorithm:\n  estimator: grpo\n  group_size: 8\nrun:\n  steps: 20\n"


class FieldErrorOut(BaseModel):
    pointer: str = Field(description="JSON pointer of the field, e.g. `/algorithm/group_size`.")
    field: str = Field(description="Dotted path, e.g. `algorithm.group_size`.")
    message: str
    line: int | None = Field(None, description="1-based line in config_text, when known.")
    column: int | None = Field(None, description="1-based column in config_text, when known.")


class FindingOut(BaseModel):
    """A lint finding, as `grpolab lint --format json` prints it."""

    model_config = ConfigDict(extra="allow")

    rule: str = Field(examples=["GL001"])
    name: str
    severity: Literal["error", "warning", "info"]
    message: str
    why: str = ""
    fix: str = ""
    pointer: str = ""
    line: int | None = None
    column: int | None = None
    from_default: bool = False
    allowed: bool = False
    allow_reason: str | None = None
    doc: str = ""


class ErrorDetail(BaseModel):
    code: str = Field(examples=["lint_failed"])
    message: str
    errors: list[FieldErrorOut] = Field(default_factory=list)
    findings: list[FindingOut] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    detail: ErrorDetail


class RunCreate(BaseModel):
    """Submit a run: give `config` (an object) or `config_text` (YAML or JSON text), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "grpo-demo", "config_text": EXAMPLE_CONFIG_TEXT, "tags": ["demo"]},
                {"name": "drgrpo", "config": {"algorithm": {"estimator": "drgrpo"}}, "tags": []},
            ],
            # "exactly one of", in the schema too (a body with neither is not schema-valid)
            "oneOf": [{"required": ["config"]}, {"required": ["config_text"]}],
        },
    )

    name: Annotated[str | SkipJsonSchema[None], AfterValidator(_printable_name)] = Field(
        None,
        min_length=1,
        max_length=200,
        description="Display name; default: derived from the config. Printable text (no control characters).",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    config: dict[str, Any] | SkipJsonSchema[None] = Field(
        None, description="The run config as a JSON object (RunConfig)."
    )
    config_text: str | SkipJsonSchema[None] = Field(
        None,
        max_length=1_000_000,
        description="The run config as YAML or JSON text (errors get line/column).",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )
    tags: Tags = Field(
        default_factory=list,
        description="Labels to filter runs by (letters, digits, `_.:/-`, at most 64 characters each).",
    )
    project: Ident = Field(
        "default",
        description="The project the run belongs to; it must exist (`GET /api/v1/projects`; an admin adds one "
        "with `grpolab project add NAME`). Unknown: 422 naming it.",
    )


class RunPatch(BaseModel):
    """Edit a run's name, tags, notes or archived flag (its owner or an admin); fields left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"notes": "lr sweep baseline", "tags": ["baseline"], "archived": False}]
        },
    )

    name: Annotated[str | SkipJsonSchema[None], AfterValidator(_printable_name)] = Field(
        None,
        min_length=1,
        max_length=200,
        description="New display name (printable text).",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    tags: list[str] | SkipJsonSchema[None] = Field(
        None,
        max_length=20,
        description="The new tag list (replaces the old one; letters, digits, `_.:/-`, at most 64 each).",
        # with the None alternative pydantic writes the limit as maxLength, which arrays ignore
        json_schema_extra={"items": {"type": "string", "pattern": TAG_PATTERN}, "maxItems": 20},
    )
    notes: str | SkipJsonSchema[None] = Field(
        None,
        max_length=20_000,
        description="Free-text notes (replaces the old ones).",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )
    archived: bool | SkipJsonSchema[None] = Field(
        None, description="true hides the run from the default runs list; false shows it again."
    )


class RunSummary(BaseModel):
    id: str = Field(examples=["3f9c1a2b4d5e"])
    name: str
    status: StatusName
    tags: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    step: int = Field(description="Last optimizer step reported by the trainer.")
    total_steps: int = Field(description="run.steps of the config.")
    last_reward: float | None = Field(description="Last `rollout/reward_mean`.")
    reward_sparkline: list[float] = Field(description="The last ≤ 50 `rollout/reward_mean` values.")
    attempts: int = Field(description="How many times a worker started this run.")
    error: str | None = Field(description="Why the run failed, or null.")
    cancel_requested: bool = Field(False, description="A cancel was asked for and the worker is stopping it.")
    queue: str = Field("cpu", description="Worker queue: `cpu` or `gpu` (resources.gpus > 0).")
    owner: str | None = Field(None, description="Name of the user who submitted the run.")
    project: str = Field("default", description="The project the run belongs to.")
    sweep_id: str | None = Field(None, description="The sweep this run is an arm of, or null.")
    waiting_reason: str | None = Field(
        None, description="Why a queued run is not starting (e.g. no live worker serves its queue), or null."
    )
    executor: str = Field(
        "local", description="Where the run executes: `local` (worker child process) or `ray`."
    )
    nodes: int = Field(1, description="Hosts the run spans.")
    ranks: int = Field(1, description="Learner processes (ranks) of the run.")
    notes: str = Field("", description="Free-text notes, editable by the owner.")
    archived: bool = Field(False, description="Hidden from the default runs list.")


class HistoryItem(BaseModel):
    status: StatusName
    at: datetime
    reason: str


class RunDetail(RunSummary):
    config: dict[str, Any] = Field(description="The config as submitted, defaults filled in.")
    config_text: str = Field(description="The text as submitted, or a YAML dump of `config`.")
    findings: list[FindingOut]
    history: list[HistoryItem]
    summary: dict[str, Any] | None = Field(description="The trainer's summary.json, once written.")
    sweep_arm: dict[str, Any] | None = Field(
        None, description='For a sweep arm: the overrides it applies, `{"dotted.key": value}`.'
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Submit response only: what the submitter should know, e.g. that no live worker consumes "
        "the run's queue (the same text is the run's `waiting_reason`). Empty elsewhere.",
    )


class RunList(BaseModel):
    items: list[RunSummary]
    total: int


class MetricItem(BaseModel):
    step: int
    metrics: dict[str, float | None]


class MetricList(BaseModel):
    items: list[MetricItem]


class LogItem(BaseModel):
    seq: int
    at: datetime
    line: str


class LogList(BaseModel):
    items: list[LogItem]


class LintRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"config_text": "algorithm:\n  norm_return: true\n"}]},
    )

    config_text: str = Field(
        max_length=1_000_000,
        description="Config text in any supported format (no NUL characters: 422).",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )
    input_format: str = Field(
        "auto",
        pattern=r"^[a-z]{1,20}$",
        description="auto, grpolab, trl, verl, openrlhf, oat, gem, skyrl, roll, areal or easyr1.",
    )


class LintResponse(BaseModel):
    path: str
    format: str
    findings: list[FindingOut]


class RuleOut(BaseModel):
    id: str
    name: str
    severity: str
    title: str
    why: str
    fix: str


class RuleDetail(RuleOut):
    markdown: str


class TemplateOut(BaseModel):
    name: str
    title: str
    description: str
    config_text: str


class Me(BaseModel):
    name: str = Field(description="The caller's user name.")
    role: Literal["admin", "member", "viewer"] = Field(
        description="admin: anything; member: submits and changes its own runs; viewer: reads."
    )
    token_name: str = Field(description="The name of the token used for this request.")
    projects: list[str] = Field(description="Project names (every user reads every project).")


RoleName = Literal["admin", "member", "viewer"]


class UserOut(BaseModel):
    name: str
    role: RoleName = Field(
        description="admin: anything; member: submits and changes its own runs; viewer: reads."
    )
    disabled: bool = Field(description="A disabled user's tokens get 401.")
    created_at: datetime
    tokens: int = Field(0, description="Active (not revoked) tokens of this user.")


class UserList(BaseModel):
    items: list[UserOut]


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "alice", "role": "member"}]}
    )

    name: Ident = Field(description="Unique user name: letters, digits and `_.@+-`.")
    role: RoleName = Field("member", description="admin, member (default) or viewer.")


class UserCreated(UserOut):
    token: str = Field(description="The user's first API token, shown only in this response: hand it over.")
    token_name: str = Field(description="The token's name (the user's name, or `<name>-2`… when taken).")


class ProjectOut(BaseModel):
    name: str
    description: str
    created_at: datetime
    runs: int = Field(0, description="Runs in the project (archived ones included).")


class ProjectList(BaseModel):
    items: list[ProjectOut]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "reasoning", "description": "chain-sum runs"}]},
    )

    name: Ident = Field(description="Unique project name: letters, digits and `_.@+-`.")
    description: str = Field(
        "",
        max_length=2000,
        description="What the project is for.",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    broker: str
