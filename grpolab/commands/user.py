"""`grpolab user`: add users (printing their first token), list them, change a role, disable one."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from grpolab.commands._service import database_actions, on_database
from grpolab.commands._table import print_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.db.models import User

HELP = "add, list, change the role of, or disable users (a new user's first token is printed once)"
DESCRIPTION = """\
Manage the users of the GRPO Lab API. A viewer reads; a member submits runs and changes its own runs; an admin
does anything. `add` prints the new user's first token on stdout (only the token, so it can be captured) and a
notice on stderr. Uses DATABASE_URL when set, else the SQLite file in the data dir.

Examples:
  grpolab user add alice                  # a member
  grpolab user add ci-bot --role viewer
  TOKEN=$(grpolab user add bob --role admin)
  grpolab user list
  grpolab user set-role alice admin
  grpolab user disable bob                # its tokens stop working (within 10 s in a running API)
"""

ROLE_CHOICES = ("admin", "member", "viewer")
COLUMNS = (("NAME", "<24"), ("ROLE", "<8"), ("STATE", "<9"), ("TOKENS", ">6"), ("CREATED", ""))


def add_arguments(p: argparse.ArgumentParser) -> None:
    with database_actions(p) as sub:
        add = sub.add_parser("add", help="add a user and print its first token")
        add.add_argument("name", help="user name: letters, digits and _.@+-")
        add.add_argument("--role", choices=ROLE_CHOICES, default="member", help="default: member")
        sub.add_parser("list", help="list users with role, state and token count")
        role = sub.add_parser("set-role", help="change a user's role")
        role.add_argument("name", help="the user's name")
        role.add_argument("role", choices=ROLE_CHOICES, help=f"the new role: {', '.join(ROLE_CHOICES)}")
        disable = sub.add_parser("disable", help="disable a user: its tokens get 401")
        disable.add_argument("name", help="the user's name")
        sub.add_parser("enable", help="enable a disabled user again").add_argument(
            "name", help="the user's name"
        )


def run(args: argparse.Namespace) -> int:
    return on_database(args, "user", lambda s: _act(s, args))


def _act(s: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from service.db.models import User
    from service.users import add_user, set_disabled, set_role, token_counts

    if args.action == "add":
        user, token_name, token = add_user(s, args.name, args.role)
        print(token)
        print(
            f"user '{user.name}' ({user.role}) added with the token '{token_name}'; the token is shown "
            "only this once",
            file=sys.stderr,
        )
    elif args.action == "list":
        counts = token_counts(s)
        users = s.execute(select(User).order_by(User.name)).scalars()
        print_table(COLUMNS, (_row(u, counts.get(u.id, 0)) for u in users))
    elif args.action == "set-role":
        user = set_role(s, args.name, args.role)
        print(f"user '{user.name}' is now {user.role}", file=sys.stderr)
    else:
        user = set_disabled(s, args.name, args.action == "disable")
        print(f"user '{user.name}' is {args.action}d", file=sys.stderr)


def _row(user: User, tokens: int) -> tuple[object, ...]:
    state = "disabled" if user.disabled else "active"
    return (user.name, user.role, state, tokens, f"{user.created_at:%Y-%m-%d %H:%M} UTC")
