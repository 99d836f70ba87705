"""GRPO Lab: lint, launch and watch GRPO runs."""

__version__ = "0.1.0"
