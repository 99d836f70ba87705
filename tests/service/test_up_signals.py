"""`grpolab up` never leaves its API and worker (nor the worker's trainer) running after it exits: a second
signal during the shutdown, a SIGKILL of `up`, a closed stdout/stderr pipe. Real processes, real signals."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from infra import ROOT, free_port, service_env, tiny_config, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process, None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)"
    return fields[0], fields[19]


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid` (children, grandchildren …): pid -> start time, to tell a reused pid apart."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for c in map(int, children):
                st = _stat(c)
                if st and c not in found:
                    found[c] = st[1]
                    todo.append(c)
    return found


def alive(procs: dict[int, str]) -> list[int]:
    """Those still running (a zombie waiting for its new parent to reap it counts as gone)."""
    out = []
    for pid, start in procs.items():
        st = _stat(pid)
        if st and st[1] == start and st[0] not in ("Z", "X"):
            out.append(pid)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


class Up:
    def __init__(self, tmp: Path, stdout: int | None = None, stderr: int | None = None):
        self.data = tmp / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "up.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grpolab", "up", "--port", str(self.port), "--data-dir", str(self.data)],
            cwd=ROOT,
            env=service_env("", "", self.data),
            stdout=self._log if stdout is None else stdout,
            stderr=self._log if stderr is None else stderr,
            start_new_session=True,  # like a terminal job: signals reach `up` only when we send them
        )
        self.seen: dict[int, str] = {}  # every descendant ever recorded, killed at teardown if still alive

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> dict[int, str]:
        """Wait for /healthz and for the worker process; return the children of `up`."""

        def ready() -> bool:
            assert self.proc.poll() is None, f"up exited ({self.proc.returncode}):\n{self.output()[-3000:]}"
            try:
                if httpx.get(self.base + "/api/v1/healthz", timeout=2).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
            return any("celeryd" in cmdline(p) or " worker " in cmdline(p) for p in self.children())

        wait_for(ready, 60, "up did not become ready")
        return self.children()

    def children(self) -> dict[int, str]:
        found = descendants(self.proc.pid)
        self.seen.update(found)
        return found

    def wait(self, timeout: float) -> int:
        self.proc.wait(timeout)
        return int(self.proc.returncode)

    def cleanup(self) -> None:
        for pid in [self.proc.pid, *alive(self.seen)]:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[Callable[..., Up]]:
    started: list[Up] = []

    def start(stdout: int | None = None, stderr: int | None = None) -> Up:
        started.append(Up(tmp_path, stdout, stderr))
        return started[-1]

    yield start
    for up in started:
        up.cleanup()


def test_a_repeated_signal_during_shutdown_does_not_abort_it(start_up: Callable[..., Up]) -> None:
    up = start_up()
    kids = up.wait_ready()
    assert len(kids) == 2, {p: cmdline(p) for p in kids}  # the API and the worker
    up.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "stopping" in up.output(), 20, "up did not start stopping")
    # during _stop: the same request delivered again (`timeout make up` does this) and a Ctrl-C
    up.proc.send_signal(signal.SIGTERM)
    up.proc.send_signal(signal.SIGINT)
    rc = up.wait(40)
    assert alive(kids) == [], "children outlived `grpolab up`"
    assert rc == 0, up.output()[-3000:]
    assert "Traceback" not in up.output().split("stopping", 1)[1]
    assert "Warm shutdown" in up.output()  # the worker stopped in order (and would requeue a run)


def test_a_later_signal_kills_the_children_at_once(start_up: Callable[..., Up]) -> None:
    up = start_up()
    kids = up.wait_ready()
    worker = next(p for p in kids if "celeryd" in cmdline(p) or " worker " in cmdline(p))
    os.kill(worker, signal.SIGSTOP)  # a worker that does not react to SIGTERM: only SIGKILL gets it now
    up.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "stopping" in up.output(), 20, "up did not start stopping")
    time.sleep(1.5)  # past the window in which a second signal counts as the same request
    assert up.proc.poll() is None  # still waiting (up to 20 s) for the stopped worker
    up.proc.send_signal(signal.SIGINT)
    rc = up.wait(10)  # well under the 20 s an orderly stop would wait for the worker
    assert alive(kids) == [], "children outlived `grpolab up`"
    assert rc == 0, up.output()[-3000:]
    assert "killing the API and the worker now" in up.output()


def test_sigkill_of_up_stops_the_api_the_worker_and_its_trainer(start_up: Callable[..., Up]) -> None:
    up = start_up()
    up.wait_ready()
    token = (up.data / "first-token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    run = httpx.post(
        up.base + "/api/v1/runs", json={"config_text": tiny_config(steps=500, every=2)}, headers=headers
    ).json()

    def trainer_started() -> bool:
        return any("worker.child" in cmdline(p) for p in up.children())

    wait_for(trainer_started, 60, "the worker did not start a trainer")
    tree = up.children()
    assert len(tree) >= 3, {p: cmdline(p) for p in tree}  # API, worker, trainer (and whatever it forked)
    os.kill(up.proc.pid, signal.SIGKILL)
    up.wait(10)
    wait_for(lambda: not alive(tree), 60, f"left running: {[cmdline(p) for p in alive(tree)]}")
    # the worker got SIGTERM (not SIGKILL): it stopped its trainer and put the run back in the queue
    with sqlite3.connect(up.data / "grpolab.db", timeout=10) as db:
        status = db.execute("SELECT status FROM runs WHERE id = ?", (run["id"],)).fetchone()[0]
    assert status == "queued"


def test_a_closed_stdout_and_stderr_pipe_does_not_orphan_the_children(start_up: Callable[..., Up]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `grpolab up 2>&1 | head` once head has gone: every write gets EPIPE
    try:
        up = start_up(stdout=write_end, stderr=write_end)
    finally:
        os.close(write_end)
    kids = up.wait_ready()
    time.sleep(2)  # up prints its banner (to the closed pipe) right after /healthz answers
    assert up.proc.poll() is None, "up died writing to the closed pipe"
    # the children got /dev/null instead of the dead pipe: the worker would die writing its banner to it
    assert {os.readlink(f"/proc/{p}/fd/{fd}") for p in kids for fd in (1, 2)} == {"/dev/null"}
    assert up.children() == kids
    up.proc.send_signal(signal.SIGTERM)  # up now writes "stopping …" to the closed stderr
    rc = up.wait(40)
    assert alive(kids) == [], "children outlived `grpolab up`"
    assert rc == 0
