"""`grpolab project`: add and list projects (runs name theirs at submission; `default` unless chosen)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from grpolab.commands._service import database_actions, on_database
from grpolab.commands._table import print_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

HELP = "add or list projects"
DESCRIPTION = """\
Projects group runs (`grpolab submit --project NAME`, the `project` field of POST /api/v1/runs); every run is in
`default` unless it names another. Uses DATABASE_URL when set, else the SQLite file in the data dir.

Examples:
  grpolab project add reasoning --description "chain-sum runs"
  grpolab project list
"""


COLUMNS = (("NAME", "<24"), ("RUNS", ">6"), ("DESCRIPTION", ""))


def add_arguments(p: argparse.ArgumentParser) -> None:
    with database_actions(p) as sub:
        add = sub.add_parser("add", help="add a project")
        add.add_argument("name", help="project name: letters, digits and _.@+-")
        add.add_argument("--description", default="", help="what the project is for")
        sub.add_parser("list", help="list projects with their run counts")


def run(args: argparse.Namespace) -> int:
    return on_database(args, "project", lambda s: _act(s, args))


def _act(s: Session, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from service.db.models import Project
    from service.users import add_project, run_counts

    if args.action == "add":
        project = add_project(s, args.name, args.description)
        print(f"project '{project.name}' added", file=sys.stderr)
    else:
        counts = run_counts(s)
        projects = s.execute(select(Project).order_by(Project.name)).scalars()
        print_table(COLUMNS, ((p.name, counts.get(p.name, 0), p.description) for p in projects))
