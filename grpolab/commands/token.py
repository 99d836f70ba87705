"""`grpolab token`: create, list and revoke the API's bearer tokens."""

from __future__ import annotations

import argparse
import sys

from grpolab.commands._service import add_data_dir, apply_data_dir

HELP = "create, list or revoke API tokens (a new token is printed once)"
DESCRIPTION = """\
Manage the bearer tokens of the GRPO Lab API. Tokens are stored hashed: a new token is printed once,
keep it (e.g. in GRPOLAB_TOKEN). Uses DATABASE_URL when set, else the SQLite file in the data dir.

Examples:
  grpolab token create alice
  grpolab token list
  grpolab token revoke alice
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["create", "list", "revoke"], help="what to do")
    p.add_argument("name", nargs="?", help="token name (create, revoke)")
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    from sqlalchemy import select, update

    from service.auth import create_token
    from service.db.models import ApiToken
    from service.db.session import migrate, session_scope
    from service.settings import Settings

    settings = Settings.from_env()
    migrate(settings.db_url)
    if args.action in ("create", "revoke") and not args.name:
        print(f"grpolab token {args.action}: give a NAME", file=sys.stderr)
        return 2
    with session_scope(settings.db_url) as s:
        if args.action == "create":
            try:
                token = create_token(s, args.name)
            except ValueError as exc:
                print(f"grpolab token create: {exc}", file=sys.stderr)
                return 2
            print(token)
            print(f"token '{args.name}' created; it is shown only this once", file=sys.stderr)
        elif args.action == "list":
            for t in s.execute(select(ApiToken).order_by(ApiToken.id)).scalars():
                state = "revoked" if t.revoked else "active"
                print(f"{t.name:<24} {state:<8} created {t.created_at:%Y-%m-%d %H:%M} UTC")
        else:
            n = s.execute(
                update(ApiToken)
                .where(ApiToken.name == args.name, ApiToken.revoked.is_(False))
                .values(revoked=True)
            ).rowcount  # type: ignore[attr-defined]
            print(f"revoked {n} token(s) named '{args.name}'")
            if n == 0:
                return 1
    return 0
