"""worker.executors.trainer_process.start_trainer: the options the local executor and each Ray rank start the
trainer with — one text stream, no stdin, exactly the given environment, its own session, death with its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from worker.executors.trainer_process import start_trainer

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, os, sys
print("to stderr", file=sys.stderr, flush=True)
sys.stdout.buffer.write(b"bad byte \\xff\\n"); sys.stdout.flush()
print(json.dumps({"stdin": sys.stdin.read(), "env": os.environ.get("MARKER"), "home": "HOME" in os.environ,
                  "cwd": os.getcwd(), "own_session": os.getsid(0) == os.getpid()}))
"""


def test_one_text_stream_no_stdin_exact_env_cwd_and_own_session(tmp_path: Path) -> None:
    child = start_trainer([sys.executable, "-c", CHILD], {"MARKER": "m1"}, cwd=tmp_path)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, out
    lines = out.splitlines()
    assert lines[:2] == [
        "to stderr",
        "bad byte \ufffd",
    ]  # stderr merged in order; a bad byte replaced, not fatal
    facts = json.loads(lines[2])
    assert facts == {"stdin": "", "env": "m1", "home": False, "cwd": str(tmp_path), "own_session": True}


PARENT = """
import sys, time
from worker.executors.trainer_process import start_trainer
child = start_trainer([sys.executable, "-c", "import time; time.sleep(600)"], {})
print(child.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has exited (its reaper is init)
    except FileNotFoundError:
        return False


def test_the_trainer_dies_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert parent.stdout is not None
    trainer_pid = int(parent.stdout.readline())
    assert _alive(trainer_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=60)
    for _ in range(600):  # PR_SET_PDEATHSIG delivers SIGKILL at once; poll rather than assume when
        if not _alive(trainer_pid):
            break
        time.sleep(0.05)
    else:
        os.kill(trainer_pid, signal.SIGKILL)
        raise AssertionError("the trainer outlived its killed parent (PR_SET_PDEATHSIG not set)")
