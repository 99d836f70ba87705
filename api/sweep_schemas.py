"""Request and response bodies of the sweeps endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from api.schemas import (
    NAME_PATTERN,
    NO_NUL_PATTERN,
    FieldErrorOut,
    FindingOut,
    RunSummary,
    Tags,
    _printable_name,
)
from api.sweep_grid import GRID_KEY_PATTERN, MAX_ARMS

EXAMPLE_SWEEP: dict[str, Any] = {
    "name": "estimator x seed",
    "config_text": "run:\n  steps: 20\n",
    "grid": {"algorithm.estimator": ["grpo", "rloo"], "run.seed": [0, 1, 2]},
}


class AllowItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str = Field(pattern=r"^GL\d{3}$", description="Rule id, e.g. `GL001`.")
    reason: str = Field(
        min_length=3,
        max_length=2000,
        description="Why this sweep deliberately breaks the rule.",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )


class SweepCreate(BaseModel):
    """A base config and a grid of overrides: one run per combination of the grid's values."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_SWEEP]})

    name: Annotated[str, AfterValidator(_printable_name)] = Field(
        min_length=1,
        max_length=200,
        description="Display name of the sweep; each run is named `<name> · <its overrides>`.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    config_text: str = Field(
        max_length=1_000_000,
        description="The base run config as YAML or JSON text; every arm starts from it.",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )
    grid: dict[str, list[Any]] = Field(
        description='Dotted RunConfig keys and the values each takes, e.g. `{"algorithm.estimator": ["grpo", '
        '"rloo"], "run.seed": [0, 1, 2]}`: the cartesian product is the set of arms (at most 100 runs). Arms '
        "that differ only by `run.seed` are pooled into one curve with a band in the summary.",
        max_length=8,
        # what the API checks itself (with a message naming the key): in the document too, so a client (and
        # schemathesis) knows a well-formed grid; a well-formed grid can still name an unknown key (`invalid_grid`)
        json_schema_extra={
            "minProperties": 1,
            "propertyNames": {"pattern": GRID_KEY_PATTERN, "maxLength": 200},
            "additionalProperties": {"type": "array", "minItems": 1, "maxItems": MAX_ARMS},
        },
    )
    project: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Project of the sweep and its runs (default: `default`).",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    tags: Tags = Field(default_factory=list, description="Tags given to every run of the sweep.")
    allow: list[AllowItem] = Field(
        default_factory=list,
        max_length=50,
        description="Findings acknowledged on purpose for every arm (added to each arm's `lint.allow`), as "
        "`lint.allow` does for one run.",
    )


class SweepPatch(BaseModel):
    """Rename a sweep, edit its notes, archive or unarchive it (its owner or an admin); fields left out stay."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "estimator x seed (final)", "notes": "rloo wins", "archived": True}]
        },
    )

    name: Annotated[str | SkipJsonSchema[None], AfterValidator(_printable_name)] = Field(
        None,
        min_length=1,
        max_length=200,
        description="New display name of the sweep (printable text). Its runs keep their names.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    notes: str | SkipJsonSchema[None] = Field(
        None,
        max_length=20_000,
        description="Free-text notes, e.g. what the sweep showed (replaces the old ones).",
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    )
    archived: bool | SkipJsonSchema[None] = Field(
        None,
        description="true hides the sweep from the default sweeps list (its runs stay as they are); false shows "
        "it again.",
    )


class ArmCheck(BaseModel):
    # a response: every field is always present, so the generated TypeScript type says so
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    index: int = Field(description="0-based position of the arm in the expansion (last grid key fastest).")
    overrides: dict[str, Any] = Field(description='What this arm sets, `{"dotted.key": value}`.')
    label: str = Field(description='The overrides as text, e.g. `algorithm.estimator="rloo", run.seed=1`.')
    ok: bool = Field(description="Whether this arm would be accepted (valid and no unacknowledged error).")
    code: str | None = Field(None, description="`invalid_config` or `lint_failed` when not ok.")
    message: str | None = Field(None, description="Why the arm is refused, when not ok.")
    errors: list[FieldErrorOut] = Field(default_factory=list, description="Config errors of this arm.")
    findings: list[FindingOut] = Field(default_factory=list, description="Lint findings of this arm.")


class SweepPreview(BaseModel):
    count: int = Field(description="How many runs the sweep would create.")
    ok: bool = Field(description="Whether every arm would be accepted.")
    arms: list[ArmCheck]


class SweepRun(RunSummary):
    sweep_arm: dict[str, Any] | None = Field(None, description="The arm's overrides.")


class SweepOut(BaseModel):
    id: str = Field(examples=["a1b2c3d4e5f6"])
    name: str
    project: str
    owner: str | None = Field(None, description="Name of the user who created the sweep.")
    created_at: datetime
    archived: bool = Field(description="Hidden from the default sweeps list (`GET /sweeps?archived=`).")
    notes: str = Field(description="Free-text notes, editable by the owner (`PATCH /sweeps/{id}`).")
    grid: dict[str, list[Any]]
    runs: int = Field(description="How many runs the sweep has.")
    counts: dict[str, int] = Field(description='Runs per status, e.g. `{"queued": 2, "succeeded": 4}`.')
    status: str = Field(description="`queued`, `running` or `finished` (every run finished).")


class SweepList(BaseModel):
    items: list[SweepOut]
    total: int


class SweepDetailOut(SweepOut):
    config_text: str = Field(description="The base config as submitted.")
    items: list[SweepRun] = Field(description="The sweep's runs, in arm order.")
    warnings: list[str] = Field(
        default_factory=list,
        description="Create response only: what the submitter should know, e.g. that no live worker consumes the "
        "runs' queue (each run's `waiting_reason`). Empty elsewhere.",
    )


class BandPoint(BaseModel):
    step: int
    n: int = Field(description="Seeds that logged this step.")
    mean: float
    std: float | None = Field(description="Sample standard deviation (n − 1); null for n = 1.")
    ci_low: float | None = Field(description="Lower end of the 95% Student-t interval of the mean.")
    ci_high: float | None = Field(description="Upper end of the 95% Student-t interval of the mean.")


class FinalStat(BaseModel):
    n: int = Field(description="Succeeded runs (seeds) with this metric.")
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None
    values: list[float] = Field(description="Each run's final value, in run order.")
    note: str | None = Field(None, description="Why there is no interval (n < 2), when so.")


class SweepGroup(BaseModel):
    key: str = Field(description="The group's overrides without `run.seed`, as sorted JSON.")
    label: str = Field(description="The overrides without `run.seed`, as text (`(base config)` when none).")
    overrides: dict[str, Any]
    run_ids: list[str]
    seeds: list[Any] = Field(description="The `run.seed` of each run, in `run_ids` order.")
    statuses: list[str]
    bands: dict[str, list[BandPoint]] = Field(description="Per metric: mean, std and interval per step.")
    final: dict[str, FinalStat] = Field(
        description="Per metric: the last logged value of each succeeded run, summarised."
    )


class SweepSummary(BaseModel):
    sweep_id: str
    metrics: list[str]
    confidence: float = Field(0.95, description="Confidence level of the intervals (Student t over seeds).")
    groups: list[SweepGroup]
