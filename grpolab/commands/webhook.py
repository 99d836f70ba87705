"""`grpolab webhook`: add, list, remove and test the webhooks of a running GRPO Lab (Slack-compatible POSTs)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from grpolab.commands._client import ApiFailure, Client, add_connection, report_failure
from grpolab.commands._table import print_table, printable

HELP = "add, list, remove or test webhooks (a Slack message when a run or sweep ends)"
DESCRIPTION = """\
A webhook POSTs a Slack-compatible JSON message ({"text", "blocks"} plus `event` and `run` or `sweep`) when one
of your runs ends, or, added by an admin with --project, when any run of that project ends; and when a sweep's
last arm ends. A Slack incoming-webhook URL works as is. The URL is a secret: the server (and this command) only
ever shows its host and last 4 characters. Viewers cannot add webhooks. Details: docs/queue.md, "Webhooks".

Events: run.succeeded, run.failed, run.cancelled, sweep.finished (default: all).

Examples:
  grpolab webhook add https://hooks.slack.com/services/T0/B0/XXXX --events run.failed,sweep.finished
  grpolab webhook add https://chat.example.org/hook --project reasoning     # admins: every run of a project
  grpolab webhook list
  grpolab webhook test 3                                                   # sends a test message now
  grpolab webhook rm 3
"""

COLUMNS = (("ID", ">5"), ("URL (masked)", "<40"), ("SCOPE", "<24"), ("EVENTS", "<52"), ("LAST", ""))


def _hook_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a webhook id is a number (see `grpolab webhook list`), not {text!r}"
        ) from None
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"a webhook id is a positive number, not {value}")
    return value


def _events(text: str) -> list[str]:
    events = [e.strip() for e in text.split(",") if e.strip()]
    if not events:
        raise argparse.ArgumentTypeError("name at least one event, e.g. run.failed,sweep.finished")
    return events


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="add a webhook; prints its id",
        description="Add a webhook for your own runs (or, for admins with --project, every run of a project). "
        "Prints the new webhook's id on stdout.",
    )
    # its own dest: `--url` (add_connection) is the server's address
    add.add_argument(
        "target", metavar="WEBHOOK_URL", help="where to POST: an http(s) URL, e.g. a Slack incoming webhook"
    )
    add.add_argument(
        "--events",
        type=_events,
        default=None,
        metavar="E1,E2",
        help="comma-separated: run.succeeded, run.failed, run.cancelled, sweep.finished (default: all)",
    )
    add.add_argument("--project", default=None, help="every run of this project (admins only)")
    add.add_argument("--json", action="store_true", help="print the new webhook as JSON (URL masked)")
    ls = sub.add_parser(
        "list",
        help="list webhooks (yours; an admin sees all)",
        description="List the webhooks you may see: yours, or every one for an admin. URLs are masked.",
    )
    ls.add_argument("--json", action="store_true", help="print the list as JSON (as GET /api/v1/webhooks)")
    rm = sub.add_parser(
        "rm", help="remove a webhook", description="Remove a webhook (yours, or any for an admin)."
    )
    rm.add_argument("id", metavar="ID", type=_hook_id, help="webhook id (see `grpolab webhook list`)")
    test = sub.add_parser(
        "test",
        help="send a test message now",
        description="POST a test message to the webhook now (3 tries, 5 s each) and say whether it was delivered; "
        "exit 1 when it was not. The outcome is kept as the webhook's last sent / last error.",
    )
    test.add_argument("id", metavar="ID", type=_hook_id, help="webhook id (see `grpolab webhook list`)")
    for s in sub.choices.values():
        add_connection(s)


def scope(hook: dict[str, Any]) -> str:
    """Whose runs it hears: `project NAME` or `runs of NAME`."""
    if hook.get("project"):
        return f"project {hook['project']}"
    return f"runs of {hook.get('user') or '?'}"


def cells(hook: dict[str, Any]) -> tuple[object, ...]:
    """A row of `grpolab webhook list` (each text made printable by the table)."""
    if hook.get("last_error"):
        last = f"failed {hook['last_sent_at'] or ''}: {hook['last_error']}"
    elif hook.get("last_sent_at"):
        last = f"sent {hook['last_sent_at']}"
    else:
        last = "never sent"
    return (hook["id"], hook["url"], scope(hook), ",".join(hook["events"]), last)


def _print_list(items: list[dict[str, Any]]) -> None:
    if not items:
        print("no webhooks (add one: grpolab webhook add URL)", file=sys.stderr)
        return
    print_table(COLUMNS, (cells(hook) for hook in items))


def run(args: argparse.Namespace) -> int:
    client = Client(args)
    try:
        if args.action == "add":
            body: dict[str, Any] = {"url": args.target}
            if args.events is not None:
                body["events"] = args.events
            if args.project is not None:
                body["project"] = args.project
            hook = client.request("POST", "/webhooks", json=body)
            if args.json:
                print(json.dumps(hook, indent=2))
            else:
                print(hook["id"])
                print(
                    f"webhook {hook['id']} added: {printable(hook['url'])} ({printable(scope(hook))}; "
                    f"{', '.join(hook['events'])}); try it: grpolab webhook test {hook['id']}",
                    file=sys.stderr,
                )
        elif args.action == "list":
            items = client.request("GET", "/webhooks")["items"]
            if args.json:
                print(json.dumps(items, indent=2))
            else:
                _print_list(items)
        elif args.action == "rm":
            client.request("DELETE", f"/webhooks/{args.id}")
            print(f"webhook {args.id} removed")
        else:
            outcome = client.request("POST", f"/webhooks/{args.id}/test")
            if outcome["delivered"]:
                print(f"webhook {args.id}: test message delivered")
                return 0
            print(f"webhook {args.id}: not delivered: {printable(outcome['error'] or '?')}", file=sys.stderr)
            return 1
    except ApiFailure as exc:
        return report_failure(exc)
    return 0
