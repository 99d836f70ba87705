"""`grpolab runs`: list runs of a running GRPO Lab."""

from __future__ import annotations

import argparse
import re
from typing import Any

from grpolab.commands._client import ApiFailure, Client, add_connection, report_failure

# control characters (ESC sequences, CR, BEL, …) and bidirectional overrides: printed raw, a run's name could
# erase or rewrite the rows a reader sees (BUG-10); they are shown as visible escapes instead
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control or bidi character replaced by its escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def placement(r: dict[str, Any]) -> str:
    """Where the run trains: `local`, or `ray 2×4` (executor, nodes × ranks per node when it spans nodes)."""
    executor = printable(str(r.get("executor") or "local"))
    nodes, ranks = int(r.get("nodes") or 1), int(r.get("ranks") or 1)
    if nodes > 1:
        return f"{executor} {nodes}n/{ranks}r"
    return f"{executor} {ranks}r" if ranks > 1 else executor


def format_row(r: dict[str, Any]) -> str:
    reward = f"{r['last_reward']:.3f}" if r.get("last_reward") is not None else "-"
    step = f"{r['step']}/{r['total_steps']}"
    return (
        f"{printable(r['id']):<13} {printable(r['status']):<10} {step:>11} {reward:>8}  "
        f"{placement(r):<13} {printable(str(r.get('owner') or '-')):<12} {printable(r['name'])}"
    )


HELP = "list runs (GRPOLAB_URL, GRPOLAB_TOKEN)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
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
    print(f"{'ID':<13} {'STATUS':<10} {'STEP':>11} {'REWARD':>8}  {'EXECUTOR':<13} {'OWNER':<12} NAME")
    for r in data["items"]:
        print(format_row(r))
    print(f"({len(data['items'])} of {data['total']})")
    return 0
