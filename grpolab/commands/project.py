"""`grpolab project`: add and list projects (runs name theirs at submission; `default` unless chosen)."""

from __future__ import annotations

import argparse
import sys

from grpolab.commands._service import add_data_dir, apply_data_dir
from grpolab.commands.runs import printable

HELP = "add or list projects"
DESCRIPTION = """\
Projects group runs (`grpolab submit --project NAME`, the `project` field of POST /api/v1/runs); every run is in
`default` unless it names another. Uses DATABASE_URL when set, else the SQLite file in the data dir.

Examples:
  grpolab project add reasoning --description "chain-sum runs"
  grpolab project list
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a project")
    add.add_argument("name", help="project name: letters, digits and _.@+-")
    add.add_argument("--description", default="", help="what the project is for")
    sub.add_parser("list", help="list projects with their run counts")
    for s in sub.choices.values():
        add_data_dir(s)


def run(args: argparse.Namespace) -> int:
    apply_data_dir(args)
    from sqlalchemy import func, select

    from service.db.models import Project, Run
    from service.db.session import migrate, session_scope
    from service.settings import Settings
    from service.users import add_project

    settings = Settings.from_env()
    migrate(settings.db_url)
    try:
        with session_scope(settings.db_url) as s:
            if args.action == "add":
                project = add_project(s, args.name, args.description)
                print(f"project '{project.name}' added", file=sys.stderr)
            else:
                counts = dict(s.execute(select(Run.project, func.count()).group_by(Run.project)).all())
                print(f"{'NAME':<24} {'RUNS':>6}  DESCRIPTION")
                for p in s.execute(select(Project).order_by(Project.name)).scalars():
                    print(f"{printable(p.name):<24} {counts.get(p.name, 0):>6}  {printable(p.description)}")
    except ValueError as exc:
        print(f"grpolab project {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0
