"""`grpolab up`: GRPO Lab on this machine — the API (with the web UI) and one worker, until Ctrl-C."""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

from grpolab.commands._service import add_data_dir, apply_data_dir, first_token

HELP = "run the web UI + API + a worker on this machine (embedded: SQLite, no server needed)"
DESCRIPTION = """\
Start GRPO Lab: one API process (REST + web UI) and one Celery worker process. By default everything lives
in the data dir (SQLite database, SQLite-backed broker, run outputs): nothing else to install. Set
DATABASE_URL (postgresql+psycopg://...) and BROKER_URL (redis://...) to use PostgreSQL and Redis instead.

On first start a token is created; the URL printed carries it (#token=...) and it is also written to
<data-dir>/first-token (mode 0600). Ctrl-C stops both processes; a run in progress is put back in the queue
and resumes from its last checkpoint next time.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--queues", default=None, help="worker queues (default: cpu, plus gpu when nvidia-smi is present)"
    )
    add_data_dir(p)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _stop(procs: list[subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is not "in use"
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    from api.db.session import migrate
    from api.settings import Settings

    if not _port_free(args.host, args.port):
        print(
            f"grpolab up: port {args.port} on {args.host} is in use; choose another with --port",
            file=sys.stderr,
        )
        return 2
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    token = first_token(settings.data_dir, settings.db_url)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` of `grpolab up` stops cleanly, like Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    queues = args.queues or ("cpu,gpu" if shutil.which("nvidia-smi") else "cpu")
    py = [sys.executable, "-m", "grpolab"]
    # own process groups: Ctrl-C reaches only us, and we stop the children in order (worker requeues its run)
    api = subprocess.Popen(
        [*py, "api", "--host", args.host, "--port", str(args.port)], start_new_session=True
    )
    worker_cmd = [*py, "worker", "--queues", queues, "--loglevel", "WARNING"]
    worker = subprocess.Popen(worker_cmd, start_new_session=True)
    procs = [api, worker]
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{host}:{args.port}"
    try:
        if not _wait_healthy(base, api):
            print("grpolab up: the API did not become healthy; see the messages above", file=sys.stderr)
            _stop(procs)
            return 1
        mode = (
            "embedded (SQLite)"
            if settings.sqlite_mode
            else "PostgreSQL + broker " + settings.broker.split(":")[0]
        )
        print(f"\nGRPO Lab is up — {mode}, data in {settings.data_dir.resolve()}")
        print(f"  open   {base}/#token={token}")
        print(f"  API    {base}/docs   (token also in {settings.data_dir / 'first-token'})")
        print("  Ctrl-C stops the API and the worker\n", flush=True)
        restarts: list[float] = []
        while api.poll() is None:
            time.sleep(0.5)
            if worker.poll() is None:
                continue
            # a crashed worker is replaced (its run is requeued by the new worker's reaper), unless it keeps dying
            restarts = [t for t in restarts if time.monotonic() - t < 60] + [time.monotonic()]
            if len(restarts) > 3:
                print("grpolab up: the worker keeps exiting; stopping", file=sys.stderr)
                break
            print(f"grpolab up: worker exited ({worker.returncode}); starting a new one", file=sys.stderr)
            worker = subprocess.Popen(worker_cmd, start_new_session=True)
            procs[1] = worker
        else:
            print(f"grpolab up: API exited ({api.returncode}); stopping", file=sys.stderr)
        _stop(procs)
        return 1
    except KeyboardInterrupt:
        print("\nstopping (a run in progress goes back to the queue) …", file=sys.stderr)
        _stop(procs)
        return 0
