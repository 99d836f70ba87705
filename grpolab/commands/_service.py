"""Shared by the service commands (up, api, worker, token, user, project): where the data lives, how settings are
found, how a command works on the database itself."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


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


@contextmanager
def database_actions(
    p: argparse.ArgumentParser,
) -> Iterator[argparse._SubParsersAction[argparse.ArgumentParser]]:
    """The ACTION sub-commands of a command that works on the database itself (user, project): add them inside
    the `with`; each then takes --data-dir, listed after its own arguments."""
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    yield sub
    for parser in sub.choices.values():
        add_data_dir(parser)


def on_database(args: argparse.Namespace, command: str, act: Callable[[Session], None]) -> int:
    """`act` in one transaction on the service's database (migrated first). A ValueError is a sentence for the
    person (service.users): printed as `grpolab COMMAND ACTION: sentence`, exit 2."""
    apply_data_dir(args)
    from service.db.session import migrate, session_scope
    from service.settings import Settings

    settings = Settings.from_env()
    missing = _missing_sqlite_file(settings.db_url)
    if missing:
        # migrate() would make an empty database here: `user list` printed no users and `user add` a token that
        # the running server (started with another --data-dir) refused
        print(
            f"grpolab {command} {args.action}: no GRPO Lab database at {missing}: pass the --data-dir that "
            "`grpolab up` uses (or set GRPOLAB_DATA_DIR or DATABASE_URL); `grpolab up` makes the database",
            file=sys.stderr,
        )
        return 2
    migrate(settings.db_url)
    try:
        with session_scope(settings.db_url) as s:
            act(s)
    except ValueError as exc:
        print(f"grpolab {command} {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0


def _missing_sqlite_file(db_url: str) -> str | None:
    """The path of an SQLite database file that does not exist, else None (a server database, or the file)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return None if Path(url.database).exists() else url.database


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
