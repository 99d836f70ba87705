"""Shared by the service commands (up, api, worker, token): where the data lives, how settings are found."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder for the database, broker, tokens and run outputs (default: $GRPOLAB_DATA_DIR or .grpolab)",
    )


def apply_data_dir(args: argparse.Namespace) -> None:
    """Settings are read from the environment (also by the processes we start): put --data-dir there."""
    if getattr(args, "data_dir", None):
        os.environ["GRPOLAB_DATA_DIR"] = os.path.abspath(args.data_dir)
    os.environ.setdefault("GRPOLAB_DATA_DIR", os.path.abspath(".grpolab"))


def first_token(data_dir: Path, db_url: str) -> str:
    """The token in <data-dir>/first-token if it still works, else a new one written there (0600)."""
    from service.auth import create_token, verify_token
    from service.db.session import session_scope

    path = data_dir / "first-token"
    with session_scope(db_url) as s:
        if path.is_file():
            token = path.read_text().strip()
            if verify_token(s, token):
                return token
        from sqlalchemy import select

        from service.db.models import ApiToken

        taken = set(s.execute(select(ApiToken.name).where(ApiToken.name.like("first-run%"))).scalars())
        name = next(n for n in ("first-run", *(f"first-run-{k}" for k in range(2, 10_000))) if n not in taken)
        token = create_token(s, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token
