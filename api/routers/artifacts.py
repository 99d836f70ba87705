"""A run's outputs: sample episodes, checkpoints (streamed .tar.gz), the merged Hugging Face export, metrics as CSV
and the resolved config.

Files are read from the run's output folder, which the API sees on the disk it shares with the workers (the `runs`
volume in docker compose). The export needs torch, which the API never imports: POST asks a worker of the run's
queue to write it (worker/export_task.py), and GET reports its state (docs/artifacts.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from api import artifacts as A
from api.deps import CurrentUser, MemberUser, OneThreadRoute, SessionDep, SettingsDep, ensure_can_modify
from api.errors import ApiError
from api.queries import get_run
from api.routers.runs import ERRORS, RUN_ID
from api.schemas import ErrorBody
from service import export_state as X
from service.broker import enqueue_export
from service.db.models import MetricPoint
from service.db.session import get_sessionmaker
from service.settings import Settings
from training.config import RunConfig

router = APIRouter(prefix="/runs", tags=["artifacts"], route_class=OneThreadRoute)

STEP = Annotated[int, Path(ge=0, le=10_000_000, description="A checkpoint's step.")]
ARCHIVE = {
    200: {"content": {"application/gzip": {}}, "description": "A .tar.gz of the folder, streamed."},
    **ERRORS,
    409: {"model": ErrorBody, "description": "The folder holds a symbolic link (never archived)."},
}
CSV_PAGE = 5000


class SampleEpisode(BaseModel):
    group: int = Field(description="The episode's group (initial state) within its step.")
    episode: int = Field(description="Its index within the group.")
    seed: int = Field(description="The environment's reset seed (the group's initial state).")
    prompt: str = Field(description="The environment's first observation (capped at 2,000 characters).")
    completion: str = Field(
        description="The policy's actions; on a multi-turn task, later observations start with `» `."
    )
    truncated: bool = Field(description="True when the prompt or completion was cut (head and tail kept).")
    reward: float | None = Field(description="The episode's return.")
    advantage: float | None = Field(description="The estimator's advantage of the episode inside its group.")
    success: bool
    turns: int
    group_rewards: list[float | None] = Field(description="Every return of the episode's group.")


class SampleStep(BaseModel):
    step: int
    episodes: list[SampleEpisode]


class SampleList(BaseModel):
    items: list[SampleStep] = Field(description="Steps, latest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null when there is none."
    )


class FileEntry(BaseModel):
    name: str = Field(description="Path inside the folder.")
    size: int = Field(description="Bytes.")


class CheckpointInfo(BaseModel):
    step: int
    size: int = Field(description="Bytes, all files together (before compression).")
    files: list[FileEntry]
    created_at: str = Field(description="When it was written (ISO 8601, UTC).")


class CheckpointList(BaseModel):
    items: list[CheckpointInfo] = Field(description="Oldest first; the trainer keeps the last two.")


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(
        None, ge=0, le=10_000_000, description="The checkpoint to export; default the latest."
    )


class ExportState(BaseModel):
    status: str = Field(description="`none` (never asked), `queued`, `running`, `succeeded` or `failed`.")
    step: int | None = None
    requested_by: str | None = None
    requested_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    files: list[FileEntry] = Field(default_factory=list, description="The export's files once it succeeded.")


class ResolvedConfig(BaseModel):
    yaml: str = Field(description="The config the trainer ran, every default filled in, as YAML.")
    config: dict[str, Any] = Field(description="The same, as an object.")
    config_text: str = Field(description="The text as submitted.")
    output_dir: str = Field(description="The run's folder on the server.")


def _folder(settings: Settings, session: Any, run_id: str) -> Any:
    run = get_run(session, run_id)
    return A.run_folder(settings.data_dir, run.output_dir, run_id)


@router.get(
    "/{run_id}/samples",
    response_model=SampleList,
    summary="Sample episodes, latest step first",
    responses=ERRORS,
)
def run_samples(
    run_id: RUN_ID,
    settings: SettingsDep,
    session: SessionDep,
    _user: CurrentUser,
    step: Annotated[int | None, Query(ge=0, le=10_000_000, description="Only this step.")] = None,
    before: Annotated[
        int | None, Query(ge=0, le=10_000_000, description="Only steps before this one (paging).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Steps per page.")] = 10,
) -> Any:
    """What the policy wrote: `run.sample_episodes` episodes of each step (prompt, completion, reward,
    advantage, group). An empty list while the run has not logged a step."""
    run = get_run(session, run_id)
    try:
        folder = A.run_folder(settings.data_dir, run.output_dir, run_id)
    except ApiError:
        return {"items": [], "next_before": None}  # not started yet: nothing written
    items = A.read_samples(folder, step, before, limit)
    more = step is None and len(items) == limit and items[-1]["step"] > 1
    return {"items": items, "next_before": items[-1]["step"] if more else None}


@router.get(
    "/{run_id}/checkpoints", response_model=CheckpointList, summary="A run's checkpoints", responses=ERRORS
)
def list_checkpoints(run_id: RUN_ID, settings: SettingsDep, session: SessionDep, _user: CurrentUser) -> Any:
    """The complete checkpoints in the run's folder (the trainer keeps the last two and the final one), with
    their files; an empty list before the first one. A folder holding a symlink is not offered."""
    run = get_run(session, run_id)
    try:
        folder = A.run_folder(settings.data_dir, run.output_dir, run_id)
    except ApiError:
        return {"items": []}
    items = []
    for step, path in A.checkpoints(folder).items():
        try:
            items.append(A.describe(step, path))
        except (OSError, ApiError):
            continue  # rotated away while listed, or holds a link: not offered
    return {"items": items}


def _archive(name: str, folder: Any) -> StreamingResponse:
    opened = A.open_files(A.folder_files(folder))
    return StreamingResponse(
        A.tar_gz_stream(name, opened),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}.tar.gz"'},
    )


@router.get(
    "/{run_id}/checkpoints/{step}/archive", summary="Download a checkpoint (.tar.gz)", responses=ARCHIVE
)
def checkpoint_archive(
    run_id: RUN_ID, step: STEP, settings: SettingsDep, session: SessionDep, _user: CurrentUser
) -> StreamingResponse:
    """The checkpoint folder as a streamed .tar.gz (`<run>-step-NNNNNN/…`): the policy (safetensors + tokenizer,
    or the LoRA adapter), optimizer and RNG state. Resume-ready; for a plain model folder use the export."""
    folder = _folder(settings, session, run_id)
    path = A.checkpoint_folder(folder, step, run_id)
    return _archive(f"{run_id}-{path.name}", path)


def _export_view(folder: Any, state: dict[str, Any] | None) -> dict[str, Any]:
    if state is None:
        return {"status": "none"}
    view = {k: state.get(k) for k in ExportState.model_fields if k != "files"}
    out = X.export_folder(folder, int(state.get("step") or 0))
    if state.get("status") == "succeeded" and out.is_dir():
        view["files"] = [{"name": f.name, "size": f.size} for f in A.folder_files(out)]
    return view


@router.post(
    "/{run_id}/export",
    response_model=ExportState,
    status_code=202,
    summary="Export a checkpoint as a plain Hugging Face model folder",
    responses={
        **ERRORS,
        200: {"model": ExportState, "description": "That export already exists (succeeded) or is under way."},
        403: {"model": ErrorBody, "description": "Only the run's owner or an admin may export it."},
    },
)
def request_export(
    run_id: RUN_ID,
    settings: SettingsDep,
    session: SessionDep,
    user: MemberUser,
    response: Response,
    body: ExportRequest | None = None,
) -> Any:
    """Queues the export on a worker of the run's queue (it needs torch; `grpolab export` runs there): the
    checkpoint with LoRA merged, config and tokenizer, loadable by `from_pretrained` and vLLM. Poll
    `GET /export`; download with `GET /export/archive`."""
    run = get_run(session, run_id)
    ensure_can_modify(user, run.owner_id, f"run {run_id}", run.created_by)
    folder = A.run_folder(settings.data_dir, run.output_dir, run_id)
    found = A.checkpoints(folder)
    step = body.step if body and body.step is not None else (max(found) if found else None)
    if step is None:
        raise ApiError(404, "not_found", f"run {run_id} has no checkpoint yet; export one once it saved one")
    A.checkpoint_folder(folder, step, run_id)  # 404 naming the steps it has
    state = X.read_state(folder)
    if state and state.get("step") == step and not X.is_stale(state):
        done = state.get("status") == "succeeded" and X.export_folder(folder, step).is_dir()
        if done or state.get("status") in ("queued", "running"):
            response.status_code = 200
            return _export_view(folder, state)
    state = {"step": step, "status": "queued", "requested_by": user.name, "requested_at": X.now_iso()}
    X.write_state(folder, state)
    try:
        enqueue_export(settings, run_id, step, run.queue)
    except Exception as exc:  # the broker is down: say so, and leave no queued state behind
        X.write_state(folder, {**state, "status": "failed", "error": f"could not reach the broker: {exc}"})
        raise ApiError(
            503, "unavailable", "the broker is not reachable; try the export again later"
        ) from None
    return _export_view(folder, state)


@router.get("/{run_id}/export", response_model=ExportState, summary="The export's state", responses=ERRORS)
def export_status(run_id: RUN_ID, settings: SettingsDep, session: SessionDep, _user: CurrentUser) -> Any:
    """The latest export of the run: `none` until one is asked for, then `queued` → `running` → `succeeded`
    (with its files) or `failed` (with the end of the export's error output)."""
    run = get_run(session, run_id)
    try:
        folder = A.run_folder(settings.data_dir, run.output_dir, run_id)
    except ApiError:
        return {"status": "none"}
    return _export_view(folder, X.read_state(folder))


@router.get("/{run_id}/export/archive", summary="Download the export (.tar.gz)", responses=ARCHIVE)
def export_archive(
    run_id: RUN_ID, settings: SettingsDep, session: SessionDep, _user: CurrentUser
) -> StreamingResponse:
    """The latest succeeded export as a streamed .tar.gz (`<run>-export-step-NNNNNN/…`)."""
    folder = _folder(settings, session, run_id)
    state = X.read_state(folder)
    step = int(state.get("step") or 0) if state else 0
    out = X.export_folder(folder, step)
    if not state or state.get("status") != "succeeded" or not out.is_dir() or out.is_symlink():
        status = state.get("status") if state else "none"
        raise ApiError(404, "not_found", f"run {run_id} has no finished export (export status: {status})")
    return _archive(f"{run_id}-export-{out.name}", out)


def _metric_pages(settings: Settings, run_id: str, upto: int) -> Iterator[Sequence[Any]]:
    """Metric rows in pages, each read in its own short session (no connection held while the client reads)."""
    after = -1
    maker = get_sessionmaker(settings.db_url, settings.db_tuning)
    while True:
        with maker() as s:
            rows = s.execute(
                select(MetricPoint.step, MetricPoint.metrics)
                .where(MetricPoint.run_id == run_id, MetricPoint.step > after, MetricPoint.step <= upto)
                .order_by(MetricPoint.step)
                .limit(CSV_PAGE)
            ).all()
        if not rows:
            return
        yield rows
        after = rows[-1].step
        if len(rows) < CSV_PAGE:
            return


def _cell(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value).lower()
    return repr(value) if isinstance(value, float) else str(value)


def _csv_rows(settings: Settings, run_id: str, columns: list[str], upto: int) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["step", *columns])
    for rows in _metric_pages(settings, run_id, upto):
        for r in rows:
            metrics = r.metrics or {}
            writer.writerow([r.step, *(_cell(metrics.get(c)) for c in columns)])
        yield buf.getvalue().encode()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


@router.get(
    "/{run_id}/metrics.csv",
    summary="Every metric as CSV",
    responses={200: {"content": {"text/csv": {}}, "description": "Streamed CSV."}, **ERRORS},
)
def metrics_csv(
    run_id: RUN_ID, settings: SettingsDep, session: SessionDep, _user: CurrentUser
) -> StreamingResponse:
    """One row per step, `step` then one column per metric in alphabetical order (stable across calls and
    runs); an empty cell where a step has no value (evaluations run only every `run.eval_every` steps; a
    non-finite value is stored as null). Numbers are written exactly as the metrics API returns them."""
    get_run(session, run_id)
    session.close()  # the pages below use their own short sessions
    columns: set[str] = set()
    upto = -1
    for rows in _metric_pages(settings, run_id, 2**31 - 1):  # first pass: the columns (and a fixed last step)
        for r in rows:
            columns.update((r.metrics or {}).keys())
        upto = rows[-1].step
    return StreamingResponse(
        _csv_rows(settings, run_id, sorted(columns), upto),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{run_id}-metrics.csv"'},
    )


@router.get(
    "/{run_id}/config/resolved",
    response_model=ResolvedConfig,
    summary="The config with every default filled in",
    responses={
        **ERRORS,
        409: {"model": ErrorBody, "description": "The stored config no longer validates."},
        200: {
            "content": {"application/yaml": {}},
            "description": "JSON (`format=json`) or the YAML file (`format=yaml`).",
        },
    },
)
def resolved_config(
    run_id: RUN_ID,
    session: SessionDep,
    _user: CurrentUser,
    format: Annotated[
        Literal["json", "yaml"], Query(description="`json` (default) or `yaml` (a file to download).")
    ] = "json",
) -> Any:
    """The config exactly as the trainer reads it (`RunConfig` with every default), beside the text submitted."""
    run = get_run(session, run_id)
    try:
        resolved = RunConfig.model_validate(run.config).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(
            409, "conflict", f"the stored config no longer validates: {where}: {first['msg']}"
        ) from None
    head = f"# run {run_id}: the config the trainer ran, every default filled in\n# output folder: {run.output_dir}\n"
    text = head + yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True, width=100)
    if format == "yaml":
        return Response(
            text,
            media_type="application/yaml",
            headers={"Content-Disposition": f'attachment; filename="{run_id}-config.yaml"'},
        )
    return {"yaml": text, "config": resolved, "config_text": run.config_text, "output_dir": run.output_dir}
