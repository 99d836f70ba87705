"""The training process a worker starts for one run: `python -m worker.child <output dir>`.

The only module of the worker that imports torch (through training.pipeline), so an idle worker stays small.
It reads `<output dir>/run-config.json`, runs the pipeline, and reports on stdout: lines starting with the
record separator are JSON events (`metric`, `log`, `summary`, `error`); anything else a library prints is a
plain log line. SIGTERM asks the pipeline to stop after its current step (cancel).
"""

from __future__ import annotations

import json
import math
import os
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


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    report = Reporter(sys.stdout)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        from training.config import RunConfig
        from training.pipeline import train

        config = RunConfig.model_validate_json((out_dir / "run-config.json").read_text())
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
        report.emit("error", message=f"{type(exc).__name__}: {exc}"[:2000])
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
