"""From a POST /runs body to a config that may be stored: validate, refuse hostile values, lint.

Nothing here writes anything: a refused submission leaves no trace in the database or the broker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.env_registry import env_id_problem
from api.errors import ApiError
from api.run_limits import check_run_size
from api.schemas import RunCreate
from api.strict_json import nesting_depth
from service.broker import queue_for
from service.db.models import Project
from service.settings import Settings
from training.config import hub_id_problem
from training.config_io import ConfigError, FieldError, LoadedConfig, load_text, validate_raw
from training.lint import lint_loaded
from training.sourcemap import MAX_NODES

MAX_DEPTH = 64  # same limit as config text (training.sourcemap): no honest config nests deeper
# training.models.BUILTIN_TINY_CHAR (that module imports torch, so it is not imported here; a test keeps them equal)
BUILTIN_MODELS = frozenset({"builtin:tiny-char"})
MAX_KWARGS = 256  # env.kwargs entries: a task takes a handful; 40,000 only cost CPU and a 0.5 MB row
MAX_SEGMENT = 255  # bytes in one path segment (NAME_MAX of Linux file systems)
MAX_STORED_PATH = 1000  # runs.output_dir is a varchar(1000)


@dataclass
class Prepared:
    name: str
    config: dict[str, Any]
    config_text: str
    findings: list[dict[str, Any]]
    queue: str
    tags: list[str]
    output_subdir: str | None


def _count_nodes(value: Any, limit: int) -> int:
    """Values in a parsed object (keys count too, as in config text), counted up to just past `limit`."""
    stack: list[Any] = [value]
    count = 0
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _field_error(pointer: str, message: str, loaded: LoadedConfig | None = None) -> dict[str, Any]:
    pos = loaded.locate(pointer) if loaded else None
    return FieldError(
        pointer=pointer,
        field=pointer.strip("/").replace("/", "."),
        message=message,
        line=pos.line if pos else None,
        column=pos.column if pos else None,
    ).model_dump()


def _invalid(errors: list[dict[str, Any]]) -> ApiError:
    first = errors[0]
    field = first.get("field")
    # a message that starts with its field already ("model.path names a file; …") is not prefixed again
    named = field and re.match(rf"{re.escape(field)}(?![\w.])", first["message"])
    where = f"{field}: " if field and not named else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ApiError(
        422, "invalid_config", f"the config is not valid: {where}{first['message']}{more}", errors=errors
    )


def _unsafe_path(value: str) -> str | None:
    """Why a user-given path may not be used by the service, or None when it stays inside the data dir."""
    if value.startswith("/") or value.startswith("\\") or (len(value) > 1 and value[1] == ":"):
        return f"'{value}' is an absolute path; give a path relative to the service's data dir"
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        return f"'{value}' contains '..'; paths must stay inside the service's data dir"
    if value.startswith("~"):
        return f"'{value}' starts with '~'; give a path relative to the service's data dir"
    return None


def check_hostile(loaded: LoadedConfig, settings: Settings) -> list[dict[str, Any]]:
    cfg = loaded.config
    errors: list[dict[str, Any]] = []
    if cfg.model.trust_remote_code and not settings.allow_trust_remote_code:
        errors.append(
            _field_error(
                "/model/trust_remote_code",
                "this server does not run a model's own code: set model.trust_remote_code to false "
                "(the operator can allow it with GRPOLAB_ALLOW_TRUST_REMOTE_CODE=1)",
                loaded,
            )
        )
    if not cfg.model.path.startswith("builtin:"):
        why = _unsafe_path(cfg.model.path)
        if why:
            errors.append(_field_error("/model/path", f"model.path {why}", loaded))
        elif not _inside(settings, cfg.model.path):
            errors.append(_field_error("/model/path", "model.path resolves outside the data dir", loaded))
    errors += _dataset_hostile(loaded, settings)
    if cfg.run.output_dir is not None:
        why = _unsafe_path(cfg.run.output_dir)
        if why:
            errors.append(_field_error("/run/output_dir", f"run.output_dir {why} (or leave it out)", loaded))
        elif not _inside(settings, cfg.run.output_dir):
            errors.append(
                _field_error("/run/output_dir", "run.output_dir resolves outside the data dir", loaded)
            )
    return errors


def _dataset_hostile(loaded: LoadedConfig, settings: Settings) -> list[dict[str, Any]]:
    """env.dataset: files inside the data dir; a custom reward (the user's own code) only when allowed."""
    ds = loaded.config.env.dataset
    if ds is None:
        return []
    errors: list[dict[str, Any]] = []
    for key, value in (("path", ds.path), ("eval_path", ds.eval_path)):
        if value is None:
            continue
        why = _unsafe_path(value)
        if why or not _inside(settings, value):
            errors.append(
                _field_error(
                    f"/env/dataset/{key}",
                    f"env.dataset.{key} {why or 'resolves outside the data dir'}",
                    loaded,
                )
            )
    if ds.reward == "custom" and not settings.allow_custom_rewards:
        errors.append(
            _field_error(
                "/env/dataset/reward",
                "this server does not run custom reward code: use a built-in reward (math_verify, exact, numeric, "
                "contains, regex); the operator can allow it with GRPOLAB_ALLOW_CUSTOM_REWARDS=1",
                loaded,
            )
        )
    return errors


def _inside(settings: Settings, rel: str) -> bool:
    root = settings.data_dir.resolve()
    target = (root / rel).resolve()  # follows symlinks: a link pointing out is refused too
    return target == root or root in target.parents


def _long_segment(path: str) -> str | None:
    for part in path.replace("\\", "/").split("/"):
        if len(part.encode("utf-8")) > MAX_SEGMENT:
            return f"the path segment '{part[:40]}…' is {len(part.encode('utf-8'))} bytes; the limit is {MAX_SEGMENT}"
    return None


def _is_file(path: Path) -> bool:
    """An existing non-folder (a path the OS refuses to look up is left to the other checks)."""
    try:
        return path.exists() and not path.is_dir()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _dataset_values(loaded: LoadedConfig, settings: Settings) -> list[dict[str, Any]]:
    """env.dataset files the worker could not open (their content is checked by the trainer, before any step)."""
    ds = loaded.config.env.dataset
    errors: list[dict[str, Any]] = []
    for key, value in (("path", ds.path if ds else None), ("eval_path", ds.eval_path if ds else None)):
        if value is None:
            continue
        if why := _long_segment(value):
            errors.append(_field_error(f"/env/dataset/{key}", f"env.dataset.{key}: {why}", loaded))
        elif not _is_file(settings.data_dir / value):
            errors.append(
                _field_error(
                    f"/env/dataset/{key}",
                    f"'{value[:200]}' is not a file in the server's data dir; copy it there as "
                    f"{value[:200]} (dataset paths are relative to the data dir: the --data-dir of "
                    "`grpolab up`, else GRPOLAB_DATA_DIR, default .grpolab; /data in docker compose)",
                    loaded,
                )
            )
    return errors


def check_values(loaded: LoadedConfig, settings: Settings) -> list[dict[str, Any]]:
    """Values that could only fail on a worker, refused at submission instead: unknown environments and
    built-in models, files where a folder is needed, paths no file system or column can hold."""
    cfg = loaded.config
    errors: list[dict[str, Any]] = []
    why = env_id_problem(cfg.env.id)
    if why:
        errors.append(_field_error("/env/id", why, loaded))
    if len(cfg.env.kwargs) > MAX_KWARGS:
        errors.append(
            _field_error(
                "/env/kwargs",
                f"env.kwargs has {len(cfg.env.kwargs):,} entries; the limit is {MAX_KWARGS}",
                loaded,
            )
        )
    model = cfg.model.path
    if model.startswith("builtin:"):
        if model not in BUILTIN_MODELS:
            known = ", ".join(sorted(BUILTIN_MODELS))
            errors.append(
                _field_error("/model/path", f"unknown built-in model '{model[:60]}'; use {known}", loaded)
            )
    elif why := _long_segment(model):
        errors.append(_field_error("/model/path", f"model.path: {why}", loaded))
    elif _is_file(settings.data_dir / model):
        errors.append(
            _field_error(
                "/model/path", "model.path names a file; give a model folder (with config.json)", loaded
            )
        )
    elif (hub := hub_id_problem(model)) and not _exists(settings.data_dir / model):
        # not a folder the worker can open, and not a hub id it could load (syntax only: no network call here)
        errors.append(
            _field_error(
                "/model/path",
                f"model.path is neither a model folder in the data dir nor a hub id: {hub}",
                loaded,
            )
        )
    errors += _dataset_values(loaded, settings)
    out = cfg.run.output_dir
    if out is not None:
        stored = settings.data_dir.resolve() / out / ("x" * 32)  # + the run id folder, at most 32 characters
        if why := _long_segment(out):
            errors.append(_field_error("/run/output_dir", f"run.output_dir: {why}", loaded))
        elif len(str(stored)) > MAX_STORED_PATH:
            errors.append(
                _field_error(
                    "/run/output_dir",
                    f"run.output_dir is {len(out):,} characters; with the data dir it must stay under "
                    f"{MAX_STORED_PATH - len(str(stored)) + len(out):,}",
                    loaded,
                )
            )
        elif _is_file(settings.data_dir / out):
            errors.append(
                _field_error("/run/output_dir", "run.output_dir names a file; give a folder", loaded)
            )
    return errors


def default_name(cfg: Any) -> str:
    return f"{cfg.algorithm.estimator} on {cfg.env.id}"[:200]


def prepare(body: RunCreate, settings: Settings) -> Prepared:
    if (body.config is None) == (body.config_text is None):
        raise ApiError(
            422,
            "invalid_request",
            "give exactly one of `config` (an object) or `config_text` (YAML/JSON text)",
            errors=[_field_error("/config", "give exactly one of config or config_text")],
        )
    try:
        if body.config_text is not None:
            loaded = load_text(body.config_text, "<config_text>")
        else:
            if nesting_depth(body.config, MAX_DEPTH) > MAX_DEPTH:
                raise ApiError(
                    422,
                    "invalid_config",
                    f"the config nests deeper than {MAX_DEPTH} levels; a run config needs only a few",
                    errors=[_field_error("/config", f"nesting deeper than {MAX_DEPTH} levels")],
                )
            if _count_nodes(body.config, MAX_NODES) > MAX_NODES:
                raise ApiError(
                    422,
                    "invalid_config",
                    f"the config has more than {MAX_NODES:,} values; a run config is small",
                    errors=[_field_error("/config", f"more than {MAX_NODES:,} values")],
                )
            loaded = validate_raw(body.config, None, "<config>")
    except ConfigError as exc:
        raise _invalid([e.model_dump() for e in exc.errors]) from None
    errors = check_hostile(loaded, settings)
    errors += check_values(loaded, settings) if not errors else []
    if errors:
        raise _invalid(errors)
    config = loaded.config.model_dump(mode="json")
    _refuse_over_limit(
        loaded, config, settings
    )  # before lint: the operator's limits come first, and cost less
    result = lint_loaded(loaded)
    findings = [f.to_dict() for f in result.findings]
    blocking = result.blocking
    if blocking:
        ids = ", ".join(sorted({f.rule for f in blocking}))
        raise ApiError(
            422,
            "lint_failed",
            f"lint found {len(blocking)} error(s) ({ids}); fix them, or acknowledge one on purpose with "
            "lint.allow: [{rule: GLxxx, reason: ...}]",
            findings=findings,
        )
    cfg = loaded.config
    check_tags(body.tags)
    return Prepared(
        name=body.name or default_name(cfg),
        config=config,
        config_text=body.config_text if body.config_text is not None else _yaml_text(body.config),
        findings=findings,
        queue=queue_for(config),
        tags=list(dict.fromkeys(body.tags)),
        output_subdir=cfg.run.output_dir,
    )


def _yaml_text(config: dict[str, Any] | None) -> str:
    """The stored text of a config sent as an object: made only once it is accepted (dumping a big refused one
    cost seconds), with libyaml when it is there."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(config, Dumper=dumper, sort_keys=False, allow_unicode=True)


def check_tags(tags: list[str]) -> None:
    """422 naming the first tag outside 1-64 letters, digits or `_.:/-` (submit and PATCH)."""
    bad = next((t for t in tags if re.fullmatch(r"[A-Za-z0-9_.:/-]{1,64}", t) is None), None)
    if bad is not None:
        raise ApiError(
            422,
            "invalid_request",
            f"tag {bad[:64]!r} is not allowed: use 1-64 letters, digits or _.:/-",
            errors=[_field_error("/tags", "tags use 1-64 letters, digits or _.:/-")],
        )


# (database URL, project name) pairs seen to exist: projects are never deleted, so a name found once stays valid,
# and a submit into a known project costs no query (this is on POST /runs' hot path)
_known_projects: set[tuple[str, str]] = set()


def check_project(session: Session, project: str) -> None:
    """422 naming the project when it does not exist."""
    key = (str(session.connection().engine.url), project)
    if key in _known_projects:
        return
    found = session.connection().execute(select(Project.name).where(Project.name == project)).first()
    if found is None:
        raise ApiError(
            422,
            "unknown_project",
            f"unknown project {project!r}: use an existing one (GET /api/v1/projects) or ask an admin to add it "
            "(`grpolab project add NAME`)",
            errors=[_field_error("/project", f"no project named {project!r}")],
        )
    _known_projects.add(key)


def _refuse_over_limit(loaded: LoadedConfig, config: dict[str, Any], settings: Settings) -> None:
    """422 `over_limit` naming every field over a run-size limit (api.run_limits), positioned in the text."""
    over = check_run_size(config, settings)
    if over:
        more = f" (and {len(over) - 1} more)" if len(over) > 1 else ""
        raise ApiError(
            422,
            "over_limit",
            f"the run is larger than this server allows: {over[0]['field']}: {over[0]['message']}{more}",
            errors=[{**e, **_position(loaded, e["pointer"])} for e in over],
        )


def _position(loaded: LoadedConfig, pointer: str) -> dict[str, Any]:
    pos = loaded.locate(pointer)
    return {"line": pos.line if pos else None, "column": pos.column if pos else None}
