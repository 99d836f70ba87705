"""The training process a worker starts for one run: `python -m worker.child <output dir>`.

The only module of the worker that imports torch (through training.pipeline), so an idle worker stays small.
It reads `<output dir>/run-config.json` (or the JSON in GRPOLAB_RUN_CONFIG, which a Ray job carries in its runtime
env), runs the pipeline, and reports on stdout: lines starting with the record separator are JSON events
(`metric`, `log`, `summary`, `error`; the Ray driver adds `lost`); anything else a library prints is a plain log
line. SIGTERM asks the pipeline to stop after its current step (cancel). GRPOLAB_CHILD_MEM_LIMIT_MB caps the
process's address space (RLIMIT_AS) before torch is imported: a run that outgrows it fails with a MemoryError
and that message, instead of the kernel's OOM killer picking a process on the worker's host.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, TextIO

MARK = "\x1e"


class Reporter:
    def __init__(self, stream: TextIO):
        self.stream = stream
        self.lock = threading.Lock()

    def emit(self, kind: str, **data: Any) -> None:
        line = MARK + json.dumps({"type": kind, **data}, default=str, allow_nan=False)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def finite(metrics: dict[str, Any]) -> dict[str, float | None]:
    """JSON (and PostgreSQL's json type) has no NaN: a non-finite value is stored as null."""
    out: dict[str, float | None] = {}
    for k, v in metrics.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = f if math.isfinite(f) else None
    return out


def clean(value: Any) -> Any:
    """The summary with non-finite floats as null and anything else JSON cannot hold as text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


MEM_LIMIT_ENV = "GRPOLAB_CHILD_MEM_LIMIT_MB"


def limit_memory(environ: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """Apply GRPOLAB_CHILD_MEM_LIMIT_MB as this process's RLIMIT_AS (soft and hard); the limit in MiB, or None."""
    raw = environ.get(MEM_LIMIT_ENV, "").strip()
    if not raw:
        return None
    try:
        mb = int(raw)
    except ValueError:
        raise ValueError(f"{MEM_LIMIT_ENV}={raw!r} is not a whole number of MiB") from None
    if mb < 1:
        raise ValueError(f"{MEM_LIMIT_ENV}={mb} must be ≥ 1 (MiB), or unset for no limit")
    limit = mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # an unprivileged process can only lower its hard limit
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return mb


def _out_of_memory(exc: BaseException, limit_mb: int | None) -> str:
    if limit_mb is None:
        return f"{type(exc).__name__}: {exc}"
    return (
        f"{type(exc).__name__}: {exc} — the training process hit its memory limit of {limit_mb} MiB "
        f"({MEM_LIMIT_ENV}); raise the limit on the worker or shrink the run (model, batch size, ranks)"
    )


def read_config(out_dir: Path) -> str:
    return os.environ.get("GRPOLAB_RUN_CONFIG") or (out_dir / "run-config.json").read_text()


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    report = Reporter(sys.stdout)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    limit_mb: int | None = None
    try:
        limit_mb = limit_memory()
        from training.accelerator_env import name_cpu_accelerator

        name_cpu_accelerator()  # before transformers imports DeepSpeed: no "Setting accelerator to CPU" in the log
        from training.config import RunConfig
        from training.pipeline import train

        config = RunConfig.model_validate_json(read_config(out_dir))
        summary = train(
            config,
            out_dir,
            on_metrics=lambda step, m: report.emit("metric", step=int(step), metrics=finite(m)),
            on_log=lambda line: report.emit("log", line=str(line)),
            should_stop=stop.is_set,
            resume=True,
        )
        if int(os.environ.get("RANK", "0")) == 0:  # several ranks (training.distributed): rank 0 reports
            report.emit("summary", summary=clean(summary))
        return 0
    except Exception as exc:
        for line in traceback.format_exc().rstrip().splitlines():
            report.emit("log", line=line)
        text = str(exc).lower()
        memory = isinstance(exc, MemoryError) or (
            limit_mb is not None and any(w in text for w in ("memory", "map segment", "cannot allocate"))
        )
        message = _out_of_memory(exc, limit_mb) if memory else f"{type(exc).__name__}: {exc}"
        report.emit("error", message=message[:2000])
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
