"""`grpolab token`: create, list and revoke the API's bearer tokens (each belongs to a user)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from grpolab.commands._service import add_data_dir, apply_data_dir
from grpolab.commands._table import print_table, printable

if TYPE_CHECKING:
    from service.db.models import ApiToken

HELP = "create, list or revoke API tokens (a new token is printed once)"
DESCRIPTION = """\
Manage the bearer tokens of the GRPO Lab API. A token acts as its user (`grpolab user`); token names are unique.
Tokens are stored hashed: a new token is printed once on stdout (the notice goes to stderr), keep it (e.g. in
GRPOLAB_TOKEN). Uses DATABASE_URL when set, else the SQLite file in the data dir.

Without --user, `create NAME` makes a token for the user named NAME, and creates that user as an ADMIN if it does
not exist (how tokens worked before users; `grpolab user add NAME --role ...` makes users with other roles).

Examples:
  grpolab token create alice-laptop --user alice
  grpolab token create ops                  # an admin user `ops` and its token
  grpolab token list
  grpolab token revoke alice-laptop
"""

COLUMNS = (("TOKEN", "<24"), ("USER", "<20"), ("ROLE", "<7"), ("STATE", "<8"), ("CREATED", ""))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["create", "list", "revoke"], help="what to do")
    p.add_argument("name", nargs="?", help="token name (create, revoke)")
    p.add_argument("--user", default=None, help="create: the user the token acts for (must exist)")
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    from service.db.session import migrate
    from service.settings import Settings

    settings = Settings.from_env()
    migrate(settings.db_url)
    if args.action in ("create", "revoke") and not args.name:
        print(f"grpolab token {args.action}: give a NAME", file=sys.stderr)
        return 2
    if args.user and args.action != "create":
        print(f"grpolab token {args.action}: --user applies to create only", file=sys.stderr)
        return 2
    try:
        return {"create": _create, "list": _list, "revoke": _revoke}[args.action](settings.db_url, args)
    except ValueError as exc:
        print(f"grpolab token {args.action}: {exc}", file=sys.stderr)
        return 2


def _create(db_url: str, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from service.auth import create_token
    from service.db.models import User
    from service.db.session import session_scope
    from service.users import get_user

    with session_scope(db_url) as s:
        user = get_user(s, args.user) if args.user else None
        existed = user is not None or (
            s.execute(select(User.id).where(User.name == args.name.strip())).first() is not None
        )
        token = create_token(s, args.name, user)
        owner = args.user or args.name.strip()
        role = s.execute(select(User.role).where(User.name == owner)).scalar_one()
    print(token)
    made = "" if existed else " (a new admin user)"
    print(
        f"token '{args.name.strip()}' created for user '{owner}'{made}, role {role}; it is shown only this once",
        file=sys.stderr,
    )
    return 0


def _list(db_url: str, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from service.db.models import ApiToken, User
    from service.db.session import session_scope

    with session_scope(db_url) as s:
        rows = s.execute(
            select(ApiToken, User.name, User.role)
            .outerjoin(User, User.id == ApiToken.user_id)
            .order_by(ApiToken.id)
        ).all()
        print_table(COLUMNS, (_row(t, user, role) for t, user, role in rows))
    return 0


def _row(token: ApiToken, user: str | None, role: str | None) -> tuple[object, ...]:
    state = "revoked" if token.revoked else "active"
    return (token.name, user or "-", role or "-", state, f"{token.created_at:%Y-%m-%d %H:%M} UTC")


def _revoke(db_url: str, args: argparse.Namespace) -> int:
    from sqlalchemy import update

    from service.db.models import ApiToken
    from service.db.session import session_scope

    with session_scope(db_url) as s:
        n = s.execute(
            update(ApiToken)
            .where(ApiToken.name == args.name, ApiToken.revoked.is_(False))
            .values(revoked=True)
        ).rowcount  # type: ignore[attr-defined]
    if n == 0:
        print(f"grpolab token revoke: no active token named '{printable(args.name)}'", file=sys.stderr)
        return 1
    print(f"revoked the token '{printable(args.name)}' (a running API stops accepting it within 10 s)")
    return 0
