"""`grpolab sweep FILE.yaml`: send a base config and a grid of overrides to a running GRPO Lab as one sweep."""

from __future__ import annotations

import argparse
import difflib
import sys
import uuid
from pathlib import Path
from typing import Any

from grpolab.commands._client import ApiFailure, Client, add_connection, format_finding, report_failure

HELP = "submit a sweep (a base config × a grid of overrides) to the service; --dry-run lints every arm"
DESCRIPTION = """\
A sweep file names the sweep, gives the base config (inline under `config`, or a path under `config_file`,
relative to the sweep file) and the grid: dotted config keys and the values each takes. Every combination is
one run; runs that differ only by `run.seed` are pooled into one curve with a band on the sweep's page.
The server lints every arm first: if one has an error finding not acknowledged (`allow`), nothing is queued.

  name: estimator x seed
  config_file: examples/default.yaml      # or `config:` with the config inline
  grid:
    algorithm.estimator: [grpo, rloo]
    run.seed: [0, 1, 2]
  tags: [study-1]                          # optional, on every run
  project: default                         # optional
  allow:                                   # optional, added to every arm's lint.allow
    - {rule: GL001, reason: ablation of the second normalization}

Each call sends an Idempotency-Key, so a retried request never makes the sweep twice; after a dropped connection
the error prints the key to re-run with (--idempotency-key).

Examples:
  grpolab sweep sweep.yaml --dry-run
  grpolab sweep sweep.yaml --url http://lab:8000
  grpolab sweep sweep.yaml --idempotency-key 5f0c...   # after "the sweep may have been stored"
"""
KEYS = {"name", "config", "config_file", "grid", "tags", "project", "allow"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="sweep file (YAML)")
    p.add_argument("--dry-run", action="store_true", help="lint every arm on the server; store nothing")
    p.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="the Idempotency-Key to send (default: a new one per call). After a dropped connection, re-run "
        "with the key the error printed: the server answers with the sweep the first call made, if it made one, "
        "instead of a second sweep",
    )
    add_connection(p)


class SweepFileError(ValueError):
    pass


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, sorted(KEYS), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The POST /sweeps body a sweep file describes (SweepFileError naming the key when it is malformed)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepFileError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SweepFileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SweepFileError(f"{path}: a sweep file is a mapping with name, config (or config_file) and grid")
    unknown = sorted(set(map(str, data)) - KEYS)
    if unknown:
        named = ", ".join(f"'{key}'{_did_you_mean(key)}" for key in unknown)
        raise SweepFileError(
            f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {named}; "
            f"a sweep file has {', '.join(sorted(KEYS))}"
        )
    if ("config" in data) == ("config_file" in data):
        raise SweepFileError(f"{path}: give exactly one of `config` (inline) or `config_file` (a path)")
    if "config_file" in data:
        base = path.parent / str(data["config_file"])
        try:
            config_text = base.read_text(encoding="utf-8")
        except OSError as exc:
            raise SweepFileError(f"{path}: config_file {base}: {exc.strerror}") from None
    elif isinstance(data["config"], str):
        config_text = data["config"]
    else:
        config_text = yaml.safe_dump(data["config"] or {}, sort_keys=False)
    if not isinstance(data.get("grid"), dict):
        raise SweepFileError(
            f"{path}: `grid` must map dotted keys to lists of values, e.g. run.seed: [0, 1, 2]"
        )
    grid = {str(k): v if isinstance(v, list) else [v] for k, v in data["grid"].items()}
    body: dict[str, Any] = {
        "name": str(data.get("name") or path.stem),
        "config_text": config_text,
        "grid": grid,
    }
    for key in ("tags", "project", "allow"):
        if key in data:
            body[key] = data[key]
    return body


def print_preview(preview: dict[str, Any], path: str) -> None:
    for arm in preview["arms"]:
        mark = "ok     " if arm["ok"] else "REFUSED"
        print(f"{mark} arm {arm['index']}: {arm['label']}")
        for e in arm.get("errors") or []:
            print(f"    {e.get('field') or '(top level)'}: {e['message']}")
        for f in arm.get("findings") or []:
            print("    " + format_finding(f, path))
    refused = sum(not a["ok"] for a in preview["arms"])
    print(
        f"{preview['count']} runs; {refused} arm(s) refused"
        if refused
        else f"{preview['count']} runs; all ok"
    )


def report_refusal(exc: ApiFailure, path: str) -> int:
    """Like report_failure, with each finding under the arm it belongs to."""
    findings = exc.detail.get("findings") or []
    if not any("arm" in f for f in findings):
        return report_failure(exc, path)
    print(f"error: {exc.detail.get('message')}", file=sys.stderr)
    for f in findings:
        print(f"  arm {f['arm']} ({f.get('arm_label', '')}): " + format_finding(f, path), file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        body = read_sweep_file(path)
    except SweepFileError as exc:
        print(f"grpolab sweep: {exc}", file=sys.stderr)
        return 2
    client = Client(args)
    if args.dry_run:
        try:
            preview = client.request("POST", "/sweeps/preview", json=body)
        except ApiFailure as exc:
            return report_refusal(exc, args.file)
        print_preview(preview, args.file)
        return 0 if preview["ok"] else 1
    # one key per invocation, as `grpolab submit`: a retried request cannot make the sweep (up to 100 runs) twice
    key = args.idempotency_key or uuid.uuid4().hex
    try:
        sweep = client.request("POST", "/sweeps", json=body, headers={"Idempotency-Key": key})
    except ApiFailure as exc:
        rc = report_refusal(exc, args.file)
        if exc.status == 0 and exc.sent:  # it may have reached the server before the connection broke
            print(
                f"  the sweep may have been stored: re-run with --idempotency-key {key} to get it "
                "without making a second one",
                file=sys.stderr,
            )
        return rc
    for item in sweep["items"]:
        arm = ", ".join(f"{k}={v}" for k, v in (item.get("sweep_arm") or {}).items())
        print(f"{item['id']}  {arm}")
    print(sweep["id"])
    print(
        f"queued {sweep['runs']} runs of {sweep['name']!r} → {client.url}/sweeps/{sweep['id']}",
        file=sys.stderr,
    )
    return 0
