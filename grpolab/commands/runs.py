"""`grpolab runs`: list runs of a running GRPO Lab."""

from __future__ import annotations

import argparse
from typing import Any

from grpolab.commands._client import ApiFailure, Client, add_connection, report_failure
from grpolab.commands._table import print_table, printable, table_line

COLUMNS = (
    ("ID", "<13"),
    ("STATUS", "<10"),
    ("STEP", ">11"),
    ("REWARD", ">8"),
    ("EXECUTOR", "<13"),
    ("OWNER", "<12"),
    ("NAME", ""),
)


def placement(r: dict[str, Any]) -> str:
    """Where the run trains: `local`, or `ray 2×4` (executor, nodes × ranks per node when it spans nodes)."""
    executor = printable(str(r.get("executor") or "local"))
    nodes, ranks = int(r.get("nodes") or 1), int(r.get("ranks") or 1)
    if nodes > 1:
        return f"{executor} {nodes}n/{ranks}r"
    return f"{executor} {ranks}r" if ranks > 1 else executor


def cells(r: dict[str, Any]) -> tuple[str, ...]:
    """A row of `grpolab runs` (each text made printable by the table)."""
    reward = f"{r['last_reward']:.3f}" if r.get("last_reward") is not None else "-"
    step = f"{r['step']}/{r['total_steps']}"
    return (r["id"], r["status"], step, reward, placement(r), str(r.get("owner") or "-"), r["name"])


def format_row(r: dict[str, Any]) -> str:
    """One run as its printed line."""
    return table_line(COLUMNS, cells(r))


HELP = "list runs (GRPOLAB_URL, GRPOLAB_TOKEN)"
# a run's states, as the API names them (service.db.models.RunStatus; the CLI does not import the service)
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--status",
        choices=STATUSES,
        metavar="STATUS",
        help=f"only runs in this state: {', '.join(STATUSES)}",
    )
    p.add_argument("--tag", help="only runs with this tag")
    p.add_argument("--owner", help="only runs of this user")
    p.add_argument("--project", help="only runs of this project")
    p.add_argument("--archived", action="store_true", help="only archived runs (hidden otherwise)")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    add_connection(p)


def run(args: argparse.Namespace) -> int:
    wanted = {"status": args.status, "tag": args.tag, "owner": args.owner, "project": args.project}
    params = {k: v for k, v in {**wanted, "limit": args.limit}.items() if v}
    if args.archived:
        params["archived"] = "true"
    try:
        data = Client(args).request("GET", "/runs", params=params)
    except ApiFailure as exc:
        return report_failure(exc)
    print_table(COLUMNS, (cells(r) for r in data["items"]))
    print(f"({len(data['items'])} of {data['total']})")
    return 0
