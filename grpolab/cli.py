"""The `grpolab` command: thin dispatch to one module per subcommand, imported only when used.

Each module in `grpolab/commands/` defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Heavy imports (torch, the service) live inside `run`, so `grpolab lint` starts in milliseconds.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from grpolab import __version__

# name -> module under grpolab.commands (kept explicit: one place lists every command)
COMMANDS: dict[str, str] = {
    "lint": "lint",
    "schema": "schema",
    "train": "train",
    "ablate": "ablate",
    "export": "export",
    "up": "up",
    "api": "api",
    "worker": "worker",
    "submit": "submit",
    "sweep": "sweep",
    "runs": "runs",
    "logs": "logs",
    "cancel": "cancel",
    "token": "token",
    "user": "user",
    "project": "project",
    "cluster": "cluster",
    "webhook": "webhook",
}

DESCRIPTION = """\
GRPO Lab — catch double normalization (and its cousins) before a GRPO run launches, then train
with the fixed pipeline and watch it learn.

Start here:
  grpolab lint config.yaml        lint a config (ours, TRL, verl, OpenRLHF, OAT/gem, SkyRL, ROLL, AReaL)
  python -m grpolab.preflight -- CMD ...   lint a training launch command, then run it
  grpolab train                   train the tiny CPU demo (guess-the-number, ~0.1M-parameter model)
  grpolab up                      run the web UI + API + a worker on this machine
"""


def _load(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"grpolab.commands.{COMMANDS[name]}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grpolab", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"grpolab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else [only]:
        try:
            mod = _load(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("grpolab.commands"):
                continue  # command not built yet
            raise
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
