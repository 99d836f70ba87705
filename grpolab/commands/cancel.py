"""`grpolab cancel`: cancel a queued or running run."""

from __future__ import annotations

import argparse

from grpolab.commands._client import ApiFailure, Client, add_connection, report_failure

HELP = "cancel a run (a running one stops within a few seconds)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="run id")
    add_connection(p)


def run(args: argparse.Namespace) -> int:
    try:
        r = Client(args).request("POST", f"/runs/{args.id}/cancel")
    except ApiFailure as exc:
        return report_failure(exc)
    state = "stopping" if r["status"] == "running" else r["status"]
    print(f"run {r['id']}: {state}")
    return 0
