"""The trainer as a child process: how the local executor and each Ray rank (ray_driver.RankActor) start it.

Both read its stdout and stderr as one stream of text lines (worker/child.py's events among plain output), give it
no stdin, and make it die with its parent (PR_SET_PDEATHSIG): a `kill -9` of the worker or the loss of a Ray actor
leaves no trainer behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path


def die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent dies (kill -9 must not leave a trainer behind)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()  # own process group: a Ctrl-C in the terminal reaches the worker, which stops us cleanly


def start_trainer(argv: list[str], env: Mapping[str, str], cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start `argv` with exactly `env`, its output (stderr merged, undecodable bytes replaced) line-buffered text."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        env=env,
        cwd=cwd,
        preexec_fn=die_with_parent,
    )
