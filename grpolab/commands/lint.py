"""`grpolab lint`: check GRPO configs for double normalization and its cousins before a run launches."""

from __future__ import annotations

import argparse
import os
import sys

HELP = "lint run configs (ours, TRL, verl, OpenRLHF, OAT/gem, SkyRL, ROLL, AReaL) before launch"
DESCRIPTION = """\
Lint GRPO run configs before anything launches: YAML/JSON configs, launch scripts, and TRL training
scripts (a `GRPOConfig(...)` call or a TrlParser script, read from the Python syntax tree, never run).

Exit status: 0 when no file has an error finding that is not allowed, 1 when one has,
2 when a file cannot be read or parsed (it is still reported).

Examples:
  grpolab lint examples/seed-buggy.yaml
  grpolab lint --format sarif configs/*.yaml > lint.sarif
  grpolab lint --input-format gem run.sh
  grpolab lint --input-format verl --framework-version 2026-01-29 run_grpo.sh
  grpolab lint train_grpo.py
  grpolab lint --explain GL001

To lint the exact command of a launch and then run it: python -m grpolab.preflight -- <command ...>
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="config files ('-' reads stdin)")
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="output format")
    p.add_argument(
        "--input-format",
        default="auto",
        metavar="FORMAT",
        help="auto (default), grpolab, trl, verl, openrlhf, oat, gem, skyrl, roll, areal, easyr1",
    )
    p.add_argument(
        "--framework-version",
        metavar="VERSION",
        help="the framework version the files target (a release such as 0.9.1 or a date such as 2026-01-29); "
        "defaults and meanings that changed are read for that version (default: the version each adapter models)",
    )
    p.add_argument("--explain", metavar="RULE", help="print the page of a rule (e.g. GL001) and exit")
    p.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    p.add_argument("-o", "--output", help="write the report to this file")
    p.add_argument("-v", "--verbose", action="store_true", help="show the fix of every finding")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="colour text output")


def run(args: argparse.Namespace) -> int:
    from training.lint import RULES, explain, lint_file, lint_text
    from training.lint.adapters import FORMATS
    from training.lint.concepts import set_requested_version
    from training.lint.reporters import json_report, sarif_report, text_report

    if args.explain:
        try:
            print(explain(args.explain), end="")
        except KeyError:
            print(f"unknown rule '{args.explain}'; known: {', '.join(RULES)}", file=sys.stderr)
            return 2
        return 0
    if args.list_rules:
        for r in RULES.values():
            print(f"{r.id}  {r.severity:<7}  {r.name:<32} {r.title}")
        return 0
    if not args.files:
        print("grpolab lint: give at least one FILE (or '-' for stdin); see --help", file=sys.stderr)
        return 2
    if args.input_format != "auto" and args.input_format not in FORMATS:
        # one usage error, not a GL000 finding per file that blames the files
        print(
            f"grpolab lint: unknown --input-format '{args.input_format}'; choose one of: auto, {', '.join(FORMATS)}",
            file=sys.stderr,
        )
        return 2
    set_requested_version(args.framework_version)
    results = []
    for path in args.files:
        if path == "-":
            results.append(lint_text(sys.stdin.buffer.read(), args.input_format, "<stdin>"))
        else:
            results.append(lint_file(path, args.input_format))
    if args.format == "json":
        out = json_report(results)
    elif args.format == "sarif":
        out = sarif_report(results)
    else:
        stream = open(args.output, "w") if args.output else sys.stdout  # noqa: SIM115
        color = args.color == "always" or (
            args.color == "auto" and stream.isatty() and not os.environ.get("NO_COLOR")
        )
        if args.output:
            stream.close()
        out = text_report(results, color=color, verbose=args.verbose)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    else:
        sys.stdout.write(out)
    if any(r.invalid for r in results):
        return 2
    return 1 if any(r.blocking for r in results) else 0
