"""`grpolab user`: add users (printing their first token), list them, change a role, disable one."""

from __future__ import annotations

import argparse
import sys

from grpolab.commands._service import add_data_dir, apply_data_dir
from grpolab.commands.runs import printable

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


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a user and print its first token")
    add.add_argument("name", help="user name: letters, digits and _.@+-")
    add.add_argument("--role", choices=ROLE_CHOICES, default="member", help="default: member")
    sub.add_parser("list", help="list users with role, state and token count")
    role = sub.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLE_CHOICES)
    disable = sub.add_parser("disable", help="disable a user: its tokens get 401")
    disable.add_argument("name")
    enable = sub.add_parser("enable", help="enable a disabled user again")
    enable.add_argument("name")
    for s in sub.choices.values():
        add_data_dir(s)


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    from sqlalchemy import select

    from service.db.models import User
    from service.db.session import migrate, session_scope
    from service.settings import Settings
    from service.users import add_user, set_disabled, set_role, token_counts

    settings = Settings.from_env()
    migrate(settings.db_url)
    try:
        with session_scope(settings.db_url) as s:
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
                print(f"{'NAME':<24} {'ROLE':<8} {'STATE':<9} {'TOKENS':>6}  CREATED")
                for u in s.execute(select(User).order_by(User.name)).scalars():
                    state = "disabled" if u.disabled else "active"
                    print(
                        f"{printable(u.name):<24} {u.role:<8} {state:<9} {counts.get(u.id, 0):>6}  "
                        f"{u.created_at:%Y-%m-%d %H:%M} UTC"
                    )
            elif args.action == "set-role":
                user = set_role(s, args.name, args.role)
                print(f"user '{user.name}' is now {user.role}", file=sys.stderr)
            else:
                user = set_disabled(s, args.name, args.action == "disable")
                print(f"user '{user.name}' is {args.action}d", file=sys.stderr)
    except ValueError as exc:
        print(f"grpolab user {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0
