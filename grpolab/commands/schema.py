"""`grpolab schema`: print RunConfig's JSON Schema."""

from __future__ import annotations

import argparse

HELP = "print the JSON Schema of the run config (for editors and the web UI)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    from training.config import dump_schema

    text = dump_schema() + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text, end="")
    return 0
