"""Lint where the training runs: hooks for the frameworks' own trainers (see `grpolab.integrations.trl`).

Each module here imports its framework, so import the one you use; `grpolab` itself never imports them.
"""
