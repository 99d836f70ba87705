"""Shared by the service commands (up, api, worker, token): where the data lives, how settings are found."""

from __future__ import annotations

import argparse
import os


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder for the database, broker, tokens and run outputs (default: $GRPOLAB_DATA_DIR or .grpolab)",
    )


def apply_data_dir(args: argparse.Namespace) -> None:
    """Settings are read from the environment (also by the processes we start): put --data-dir there."""
    if getattr(args, "data_dir", None):
        os.environ["GRPOLAB_DATA_DIR"] = os.path.abspath(args.data_dir)
    os.environ.setdefault("GRPOLAB_DATA_DIR", os.path.abspath(".grpolab"))
