"""`grpolab:dataset`: a user's own prompts and reference answers as single-turn episodes.

A run names the file and its fields in `env.dataset` (training.config.DatasetConfig). The rows are read and
checked once, when the run starts and before any step: a malformed line, a missing field, an empty file or an
unsupported extension fails with the file, the line (or row) and the field named. Every env instance of the run
then shares the loaded rows.

An episode: reset(seed) picks row `Random(seed)` (a group's G resets share it), the observation is the prompt
(the system prompt, if any, goes through the chat template: `ConversationFormat(system=...)`), the response is
scored against the row's answer by `env.dataset.reward` (training.envs.rewards), and the episode ends.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gem.core import Env

from training.config import DATASET_SUFFIXES, DatasetConfig
from training.envs.rewards import RewardFn, make_reward

#: Rows read per file are kept for the process: the env pool builds one env per episode slot.
_CACHE: dict[tuple[str, float, int, str, str], list[dict[str, Any]]] = {}


class DatasetError(ValueError):
    """A dataset file that cannot be used, with the file, the line or row and the field in the message."""


@dataclass(frozen=True)
class DatasetTask:
    """The loaded rows of one split and the reward that scores them."""

    rows: list[dict[str, Any]]
    prompt_field: str
    answer_field: str
    reward: RewardFn
    source: str


def read_rows(path: Path, where: str) -> list[tuple[int, Any]]:
    """(line or row number, parsed row) for every row of a .jsonl/.json/.parquet/.csv file."""
    suffix = path.suffix.lower()
    if suffix not in DATASET_SUFFIXES:
        raise DatasetError(
            f"{where}: {str(path)!r} has no supported extension; use one of {', '.join(DATASET_SUFFIXES)}"
        )
    if not path.is_file():
        raise DatasetError(f"{where}: {str(path)!r} does not exist (relative paths start at {Path.cwd()})")
    if suffix == ".jsonl":
        rows = []
        with path.open(encoding="utf-8-sig", errors="strict") as f:  # -sig: a leading BOM is not JSON
            try:
                for n, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        rows.append((n, json.loads(line)))
                    except json.JSONDecodeError as exc:
                        raise DatasetError(
                            f"{where}: {path} line {n}: bad JSON ({exc.msg} at column {exc.colno}); each line "
                            "must be one JSON object"
                        ) from None
            except UnicodeDecodeError as exc:
                raise DatasetError(f"{where}: {path} is not UTF-8 text ({exc.reason})") from None
        return rows
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{where}: {path} line {exc.lineno}: bad JSON ({exc.msg} at column {exc.colno})"
            ) from None
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{where}: {path} is not UTF-8 text ({exc.reason})") from None
        if not isinstance(data, list):
            raise DatasetError(
                f"{where}: {path} holds a JSON {type(data).__name__}; a .json dataset is a list of objects "
                "(use .jsonl for one object per line)"
            )
        return [(i, row) for i, row in enumerate(data, start=1)]
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as f:  # spreadsheet exports start with a BOM
                reader = csv.DictReader(f)
                return [(reader.line_num, row) for row in reader]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{where}: {path} is not a readable CSV file ({exc})") from None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"{where}: {path} is not a readable Parquet file ({exc})") from None
    return [(i, row) for i, row in enumerate(table.to_pylist(), start=1)]


def load_rows(path: Path, prompt_field: str, answer_field: str, where: str) -> list[dict[str, Any]]:
    """Read and check a dataset file; rows keep every field, with prompt and answer as text."""
    stat = path.stat() if path.is_file() else None
    key = (
        str(path.resolve()),
        stat.st_mtime if stat else 0.0,
        stat.st_size if stat else 0,
        prompt_field,
        answer_field,
    )
    if stat is not None and key in _CACHE:
        return _CACHE[key]
    unit = "row" if path.suffix.lower() in (".json", ".parquet") else "line"
    rows: list[dict[str, Any]] = []
    for n, row in read_rows(path, where):
        at = f"{where}: {path} {unit} {n}"
        if not isinstance(row, Mapping):
            raise DatasetError(f"{at}: expected a JSON object with `{prompt_field}` and `{answer_field}`")
        for field, name in ((prompt_field, "prompt_field"), (answer_field, "answer_field")):
            value = row.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                have = ", ".join(sorted(map(str, row))[:12]) or "none"
                state = "is empty" if field in row else "is missing"
                raise DatasetError(
                    f"{at}: field {field!r} {state} (env.dataset.{name}; fields in this row: {have})"
                )
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise DatasetError(
                    f"{at}: field {field!r} is a {type(value).__name__}; it must be text or a number"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise DatasetError(f"{at}: field {field!r} is {value}; give a finite number or text")
        rows.append({**row, prompt_field: str(row[prompt_field]), answer_field: str(row[answer_field])})
    if not rows:
        raise DatasetError(
            f"{where}: {path} has no rows; give at least one `{prompt_field}`/`{answer_field}` row"
        )
    _CACHE[key] = rows
    return rows


def load_task(cfg: DatasetConfig, split: str = "train") -> DatasetTask:
    """The rows of `path` (split `train`) or `eval_path` (split `eval`, falling back to `path`) and the reward."""
    use_eval = split == "eval" and cfg.eval_path is not None
    field = "env.dataset.eval_path" if use_eval else "env.dataset.path"
    path = Path(cfg.eval_path if use_eval and cfg.eval_path else cfg.path).expanduser()
    reward = make_reward(cfg.reward, cfg.pattern, cfg.reward_fn)
    rows = load_rows(path, cfg.prompt_field, cfg.answer_field, field)
    return DatasetTask(rows, cfg.prompt_field, cfg.answer_field, reward, str(path))


class DatasetEnv(Env):
    """One row per episode: the prompt is the observation, the reward scores the single response."""

    def __init__(self, task: DatasetTask, has_eval_split: bool = False, **_: Any) -> None:
        super().__init__()
        self.task = task
        #: True when `env.dataset.eval_path` is set: the pipeline then evaluates on `make_run_env(..., "eval")`.
        self.has_eval_split = has_eval_split
        self.max_turns = 1
        self.row: dict[str, Any] = task.rows[0]
        self._rng = random.Random()

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        rng = random.Random(seed) if seed is not None else self._rng
        self.row = self.task.rows[rng.randrange(len(self.task.rows))]
        return self.row[self.task.prompt_field], {}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        reward = float(self.task.reward(action, self.row[self.task.answer_field], self.row))
        if not math.isfinite(reward):
            raise DatasetError(
                f"env.dataset.reward: the reward of a response to {self.task.source} is {reward}; a reward must "
                "be a finite number"
            )
        return "", reward, True, False, {"success": reward >= 1.0}

    def demo_action(self, rng: random.Random, player: str) -> str:
        """`solver`: the row's reference answer; `random_valid`: the answer of another random row."""
        row = self.row if player == "solver" else self.task.rows[rng.randrange(len(self.task.rows))]
        return str(row[self.task.answer_field])
