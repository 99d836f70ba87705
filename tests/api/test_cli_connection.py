"""`grpolab sweep` after a transport error: the idempotency key to re-run with is printed only where the request
may have reached the server (connection dropped after sending), not when nothing listens (nothing was sent)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grpolab.cli import main

SWEEP = "name: s\nconfig: {run: {steps: 2}}\ngrid:\n  run.seed: [0, 1]\n"


@pytest.fixture()
def dropping_server() -> Iterator[str]:
    """Accepts a connection, reads the request, closes without an answer (a proxy or server that died mid-call)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    srv.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dropped_connection_prints_the_key(
    dropping_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    argv = [
        "sweep",
        str(tmp_path / "s.yaml"),
        "--url",
        dropping_server,
        "--token",
        "t",
        "--idempotency-key",
        "k1",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "the sweep may have been stored: re-run with --idempotency-key k1" in err


def test_nothing_listening_prints_no_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(["sweep", str(tmp_path / "s.yaml"), "--url", url, "--token", "t"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "Connection refused" in err and "may have been stored" not in err
