"""`grpolab logs`: print a run's log lines; -f follows them until the run ends."""

from __future__ import annotations

import argparse
import time

from grpolab.commands._client import ApiFailure, Client, add_connection, report_failure

HELP = "print a run's log (-f follows it until the run ends)"
FINISHED = {"succeeded", "failed", "cancelled"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID", help="run id")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until the run ends")
    add_connection(p)


def run(args: argparse.Namespace) -> int:
    client = Client(args)
    since = -1
    try:
        while True:
            # read the status before the lines: once finished, every line is already stored
            status = client.request("GET", f"/runs/{args.id}")["status"] if args.follow else None
            for item in client.request("GET", f"/runs/{args.id}/logs", params={"since": since})["items"]:
                print(item["line"], flush=True)
                since = item["seq"]
            if not args.follow or status in FINISHED:
                return 0
            time.sleep(1.0)
    except ApiFailure as exc:
        return report_failure(exc)
