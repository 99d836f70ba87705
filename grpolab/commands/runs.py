"""`grpolab runs`: list runs of a running GRPO Lab."""

from __future__ import annotations

import argparse

from grpolab.commands._client import ApiFailure, Client, add_connection, report_failure

HELP = "list runs (GRPOLAB_URL, GRPOLAB_TOKEN)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    p.add_argument("--tag", help="only runs with this tag")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    add_connection(p)


def run(args: argparse.Namespace) -> int:
    params = {k: v for k, v in {"status": args.status, "tag": args.tag, "limit": args.limit}.items() if v}
    try:
        data = Client(args).request("GET", "/runs", params=params)
    except ApiFailure as exc:
        return report_failure(exc)
    print(f"{'ID':<13} {'STATUS':<10} {'STEP':>11} {'REWARD':>8}  NAME")
    for r in data["items"]:
        reward = f"{r['last_reward']:.3f}" if r.get("last_reward") is not None else "-"
        step = f"{r['step']}/{r['total_steps']}"
        print(f"{r['id']:<13} {r['status']:<10} {step:>11} {reward:>8}  {r['name']}")
    print(f"({len(data['items'])} of {data['total']})")
    return 0
