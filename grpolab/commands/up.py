"""`grpolab up`: GRPO Lab on this machine — the API (with the web UI) and one worker, until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from grpolab.commands._service import add_data_dir, apply_data_dir, first_token

if TYPE_CHECKING:
    from service.settings import Settings

HELP = "run the web UI + API + a worker on this machine (embedded: SQLite, no server needed)"
DESCRIPTION = """\
Start GRPO Lab: one API process (REST + web UI) and one Celery worker process. By default everything lives
in the data dir (SQLite database, SQLite-backed broker, run outputs): nothing else to install. Set
DATABASE_URL (postgresql+psycopg://...) and BROKER_URL (redis://...) to use PostgreSQL and Redis instead.

On first start a token is created; the URL printed carries it (#token=...) and it is also written to
<data-dir>/first-token (mode 0600). Ctrl-C (or SIGTERM) stops both processes; a run in progress is put back
in the queue and resumes from its last checkpoint next time. A second Ctrl-C while they stop kills them at
once; if `grpolab up` itself is killed, they get SIGTERM and stop as after a Ctrl-C.

Hub models (`model.path: org/name`) are read from the Hugging Face cache in HF_HOME, which defaults to
<data-dir>/hf here (an HF_HOME already set is kept). Offline, put models there with
`HF_HOME=<data-dir>/hf huggingface-cli download org/name` on a machine with network.
"""

#: how long the API and the worker get to stop after SIGTERM before they are killed
STOP_TIMEOUT_S = 20.0
#: a signal this soon after the first is the same request delivered twice (`timeout make up` sends SIGTERM to
#: the process group and make relays it): it does not escalate to killing the children
REPEAT_WINDOW_S = 1.0
PR_SET_PDEATHSIG = 1

Procs = list[subprocess.Popen[bytes]]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--queues", default=None, help="worker queues (default: cpu, plus gpu when nvidia-smi is present)"
    )
    add_data_dir(p)


class _Signals:
    """SIGINT/SIGTERM/SIGHUP handler that never raises: an exception thrown at an arbitrary point (inside
    Popen, inside the shutdown) is what used to leave the children running. The first signal asks for an
    orderly stop; a later one (after REPEAT_WINDOW_S) asks to kill the children now."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.kill_now = False

    @property
    def stop(self) -> bool:
        return self.first is not None

    def __call__(self, signum: int, _frame: object) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = now
        elif now - self.first >= REPEAT_WINDOW_S:
            self.kill_now = True


def _say(text: str, stream: TextIO | None = None) -> None:
    """print that cannot fail: a closed pipe (`grpolab up | head`) must not crash us before the children are
    stopped. A broken stream is pointed at /dev/null so later writes (and the flush at exit) are silent too."""
    stream = stream or sys.stdout
    try:
        print(text, file=stream, flush=True)
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            _to_devnull(stream.fileno())


def _to_devnull(fd: int) -> None:
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def _drop_closed_pipes() -> None:
    """stdout/stderr that is a pipe nobody reads any more (`grpolab up | head`) becomes /dev/null: the children
    inherit it, and the worker would die writing its banner to it (and be replaced, and die again)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            poller = select.poll()
            poller.register(stream.fileno(), select.POLLOUT)
            if any(ev & select.POLLERR for _, ev in poller.poll(0)):
                _to_devnull(stream.fileno())


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def _spawn(cmd: list[str]) -> subprocess.Popen[bytes]:
    """A child in its own session (a Ctrl-C in the terminal reaches only us, and we stop the children in order:
    the worker requeues its run) that gets SIGTERM when we die, even by SIGKILL (Linux: PR_SET_PDEATHSIG).
    SIGTERM, not SIGKILL: the worker then stops its trainer and requeues the run as after a Ctrl-C."""
    _drop_closed_pipes()
    prctl = _libc_prctl()
    if prctl is None:
        return subprocess.Popen(cmd, start_new_session=True)
    parent = os.getpid()

    def die_with_parent() -> None:  # in the child, between fork and exec
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # we died before prctl took effect: no signal will come
            os._exit(1)

    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=die_with_parent)


def _wait_healthy(
    url: str, proc: subprocess.Popen[bytes], stop: Callable[[], bool], timeout: float = 60.0
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop():
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


def _stop(procs: Procs, sigs: _Signals, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every child, wait for all of them (up to `timeout`, or until a further signal), kill the rest.
    Returns only when every child has exited and been reaped."""
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(OSError):
                p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in procs):
        if sigs.kill_now or time.monotonic() > deadline:
            if sigs.kill_now:
                _say("grpolab up: killing the API and the worker now", sys.stderr)
            for p in procs:
                if p.poll() is None:
                    with contextlib.suppress(OSError):
                        p.kill()
            for p in procs:
                p.wait()
            return
        time.sleep(0.1)


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is not "in use"
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    from service.db.session import migrate
    from service.settings import Settings

    if not _port_free(args.host, args.port):
        _say(f"grpolab up: port {args.port} on {args.host} is in use; choose another with --port", sys.stderr)
        return 2
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # the API and the worker inherit it: hub models are cached next to the runs unless HF_HOME is set
    os.environ.setdefault("HF_HOME", str((settings.data_dir / "hf").resolve()))
    migrate(settings.db_url)
    token = first_token(settings.data_dir, settings.db_url)
    sigs = _Signals()
    # from here on no signal raises (even when started with SIGINT ignored); a hangup stops us like Ctrl-C
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, sigs)
    procs: Procs = []
    try:
        return _serve(args, settings, token, procs, sigs)
    finally:
        _stop(procs, sigs)  # whatever happened above: no child outlives us


def _serve(args: argparse.Namespace, settings: Settings, token: str, procs: Procs, sigs: _Signals) -> int:
    queues = args.queues or ("cpu,gpu" if shutil.which("nvidia-smi") else "cpu")
    py = [sys.executable, "-m", "grpolab"]
    if sigs.stop:  # asked to stop before anything started
        return 0
    api = _spawn([*py, "api", "--host", args.host, "--port", str(args.port)])
    procs.append(api)
    worker_cmd = [*py, "worker", "--queues", queues, "--loglevel", "WARNING"]
    worker = _spawn(worker_cmd)
    procs.append(worker)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{host}:{args.port}"
    stopping = "\nstopping (a run in progress goes back to the queue; Ctrl-C again kills it now) …"
    if not _wait_healthy(base, api, lambda: sigs.stop):
        if sigs.stop:
            _say(stopping, sys.stderr)
            return 0
        _say("grpolab up: the API did not become healthy; see the messages above", sys.stderr)
        return 1
    mode = (
        "embedded (SQLite)"
        if settings.sqlite_mode
        else "PostgreSQL + broker " + settings.broker.split(":")[0]
    )
    _say(f"\nGRPO Lab is up — {mode}, data in {settings.data_dir.resolve()}")
    _say(f"  open   {base}/#token={token}")
    _say(f"  API    {base}/docs   (token also in {settings.data_dir / 'first-token'})")
    _say(f"  models hub cache in {os.environ['HF_HOME']} (HF_HOME)")
    unserved = "" if "gpu" in queues.split(",") else " (runs with resources.gpus > 0 wait: see /queue)"
    _say(f"  worker queues {queues}{unserved}")
    _say("  Ctrl-C stops the API and the worker\n")
    restarts: list[float] = []
    while not sigs.stop:
        time.sleep(0.2)
        if api.poll() is not None:
            _say(f"grpolab up: API exited ({api.returncode}); stopping", sys.stderr)
            return 1
        if worker.poll() is None or sigs.stop:
            continue
        # a crashed worker is replaced (its run is requeued by the new worker's reaper), unless it keeps dying
        restarts = [t for t in restarts if time.monotonic() - t < 60] + [time.monotonic()]
        if len(restarts) > 3:
            _say("grpolab up: the worker keeps exiting; stopping", sys.stderr)
            return 1
        _say(f"grpolab up: worker exited ({worker.returncode}); starting a new one", sys.stderr)
        worker = _spawn(worker_cmd)
        procs[1] = worker
    _say(stopping, sys.stderr)
    return 0
