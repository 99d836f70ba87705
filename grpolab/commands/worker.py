"""`grpolab worker`: a Celery worker that runs queued runs (one at a time) and reaps lost ones."""

from __future__ import annotations

import argparse
import os

from grpolab.commands._service import add_data_dir, apply_data_dir

HELP = "run a Celery worker that trains queued runs (queues: cpu, gpu)"
DESCRIPTION = """\
Start a worker. It takes runs from its queues one at a time, trains each in a child process (the worker
itself never imports torch), streams metrics and logs to the database and requeues runs whose worker died.
Uses DATABASE_URL / BROKER_URL when set, else the SQLite files in the data dir.

Executors (docs/ray.md): `local` trains in a child process on this host; `ray` submits each run as a Ray Job
to an existing cluster (placement groups across nodes for `resources.nodes` > 1) and supervises it from here.

Examples:
  grpolab worker                 # cpu queue
  grpolab worker --queues gpu    # a GPU machine
  grpolab worker --queues cpu,gpu --executor ray --ray-address http://ray-head:8265
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--queues", default="cpu", help="comma-separated queues to consume: cpu, gpu (default cpu)"
    )
    p.add_argument("--name", default=None, help="worker node name (default grpolab-<queues>@<host>)")
    p.add_argument("--loglevel", default="INFO", help="Celery log level")
    p.add_argument(
        "--executor",
        choices=["local", "ray"],
        default=None,
        help="where runs train: local (a child process here; default) or ray (a Ray Job on --ray-address)",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="URL",
        help="the Ray cluster's dashboard / Job API, e.g. http://ray-head:8265 (default: RAY_ADDRESS)",
    )
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    bad = [q for q in queues if q not in ("cpu", "gpu")]
    if bad or not queues:
        print(f"grpolab worker: unknown queue(s) {bad or queues}; use cpu and/or gpu")
        return 2
    if args.ray_address and (args.executor or os.environ.get("GRPOLAB_EXECUTOR")) != "ray":
        print("grpolab worker: --ray-address needs --executor ray")
        return 2
    if args.executor:
        os.environ["GRPOLAB_EXECUTOR"] = args.executor  # read by the worker's settings
    if args.ray_address:
        os.environ["GRPOLAB_RAY_ADDRESS"] = args.ray_address
    if os.environ.get("GRPOLAB_EXECUTOR") == "ray" and not _ray_installed():
        print("grpolab worker: --executor ray needs Ray's Job API: pip install 'grpolab[ray]'")
        return 2
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    from worker.celery_app import app

    name = args.name or f"grpolab-{'-'.join(queues)}-{os.getpid()}@%h"
    app.worker_main(
        [
            "worker",
            "--pool=solo",  # the run is a child process; the worker only supervises it
            "--concurrency=1",
            f"--queues={','.join(queues)}",
            f"--hostname={name}",
            f"--loglevel={args.loglevel}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
    return 0


def _ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None
