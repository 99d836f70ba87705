"""`grpolab submit`: send a config to a running GRPO Lab; optionally wait for the run with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

from grpolab.commands._client import ApiFailure, Client, add_connection, format_finding, report_failure

HELP = "submit a run config to the service (GRPOLAB_URL, GRPOLAB_TOKEN); --wait shows its progress"
DESCRIPTION = """\
Submit a config file. The server validates and lints it first: a config with an error finding that is not
acknowledged in `lint.allow` is refused (exit 1) with the findings, and nothing is queued.

Examples:
  grpolab submit examples/default.yaml --wait
  GRPOLAB_URL=http://gpu-box:8000 GRPOLAB_TOKEN=glab_... grpolab submit big.yaml --tag sweep1
"""
FINISHED = {"succeeded", "failed", "cancelled"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="run config (YAML or JSON; '-' reads stdin)")
    p.add_argument("--name", help="run name (default: derived from the config)")
    p.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")
    p.add_argument(
        "--project", help="the project the run belongs to (default: default; `grpolab project list`)"
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="show a progress bar until the run ends (not a terminal: a line per status and tenth of the steps)",
    )
    add_connection(p)


def run(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()  # noqa: SIM115
    except OSError as exc:
        print(f"grpolab submit: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    client = Client(args)
    body = {"config_text": text, "tags": args.tag, **({"name": args.name} if args.name else {})}
    if args.project:
        body["project"] = args.project
    try:
        # one key per invocation: a retried request (network hiccup) cannot create the run twice
        run = client.request("POST", "/runs", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    except ApiFailure as exc:
        return report_failure(exc, args.file)
    for f in run.get("findings", []):
        print(format_finding(f, args.file), file=sys.stderr)
    print(run["id"])
    print(f"queued {run['name']!r} → {client.url}/runs/{run['id']}", file=sys.stderr)
    for warning in run.get("warnings", []):  # e.g. no live worker consumes the run's queue
        print(f"warning: {warning}", file=sys.stderr)
    if not args.wait:
        return 0
    return wait(client, run["id"])


def wait(client: Client, run_id: str) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    plain = not sys.stderr.isatty()  # a CI log: rich draws nothing there until the run ends
    seen: tuple[str, int] | None = None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=False,
        disable=plain,
    ) as bar:
        task = bar.add_task("queued", total=None)
        while True:
            try:
                r = client.request("GET", f"/runs/{run_id}")
            except ApiFailure as exc:
                return report_failure(exc)
            if plain:
                if milestone(r) != seen:
                    seen = milestone(r)
                    print(progress_line(r), file=sys.stderr, flush=True)
            else:
                reward = f" reward {r['last_reward']:.3f}" if r.get("last_reward") is not None else ""
                bar.update(
                    task,
                    description=f"{r['status']}{reward}",
                    completed=r["step"],
                    total=r["total_steps"] or None,
                )
            if r["status"] in FINISHED:
                break
            time.sleep(1.0)
    if r["status"] != "succeeded":
        print(f"run {run_id} {r['status']}: {r.get('error') or r['history'][-1]['reason']}", file=sys.stderr)
        return 1
    print(f"run {run_id} succeeded", file=sys.stderr)
    return 0


def milestone(r: dict[str, Any]) -> tuple[str, int]:
    """The status and the tenth of the steps done: a plain log gets a line each time either moves."""
    total = r.get("total_steps") or 0
    return r["status"], (r["step"] * 10 // total if total else 0)


def progress_line(r: dict[str, Any]) -> str:
    total = r.get("total_steps")
    reward = f" reward {r['last_reward']:.3f}" if r.get("last_reward") is not None else ""
    return f"{r['status']} step {r['step']}/{total if total else '?'}{reward}"
