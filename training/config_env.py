"""RunConfig's `env:` section: the gem environment, or your own dataset of prompts and answers.

Pure pydantic + stdlib, like training/config.py, which re-exports every name here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from training.config_base import Section

DATASET_ENV_ID = "grpolab:dataset"
DATASET_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
DatasetReward = Literal["math_verify", "exact", "numeric", "contains", "regex", "custom"]


class DatasetConfig(Section):
    """Your own prompts and reference answers (`env.id: grpolab:dataset`): one single-turn episode per row."""

    path: str = Field(
        ...,
        min_length=1,
        description="Training rows: `.jsonl` (one JSON object per line), `.json` (a list of objects), `.parquet` "
        "or `.csv` (a header row). A relative path is read from the trainer's working directory (the service: "
        "its data dir). Checked before any step: a bad line or a missing field is reported by line and field.",
        examples=["data/train.jsonl"],
    )
    prompt_field: str = Field(
        "prompt", min_length=1, max_length=200, description="Column holding the prompt (the user message)."
    )
    answer_field: str = Field(
        "answer", min_length=1, max_length=200, description="Column holding the reference answer."
    )
    reward: DatasetReward = Field(
        "math_verify",
        description="How a response is scored against the answer (1 or 0). `math_verify`: symbolic equality "
        "with the math-verify package (`\\boxed{1/2}` = `0.5`); `exact`: the extracted answer (last `\\boxed{}`, "
        "else `<answer>` tags, else the whole response) equals the reference; `numeric`: both are numbers within "
        "a relative 1e-6; `contains`: the reference occurs in the response (ignoring case); `regex`: `pattern`'s "
        "first group equals the reference; `custom`: `reward_fn` (needs GRPOLAB_ALLOW_CUSTOM_REWARDS=1).",
    )
    pattern: str | None = Field(
        None,
        max_length=2000,
        description="`reward: regex` only: a Python regex searched in the response; its first group (or the "
        "whole match) is the answer.",
        examples=[r"Answer:\s*(\S+)"],
    )
    reward_fn: str | None = Field(
        None,
        max_length=300,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
        description="`reward: custom` only: `pkg.module:function` called as fn(response, answer, row) -> float. "
        "Runs your own code: the trainer (the service) must set GRPOLAB_ALLOW_CUSTOM_REWARDS=1.",
        examples=["my_rewards:score"],
    )
    eval_path: str | None = Field(
        None,
        min_length=1,
        description="Held-out rows (same format and fields) for the evaluations; null evaluates on `path`.",
        examples=["data/test.jsonl"],
    )
    system_prompt: str | None = Field(
        None,
        max_length=20000,
        description="System message put before every prompt (chat models); null = none.",
    )

    @field_validator("path", "eval_path")
    @classmethod
    def _known_format(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().endswith(DATASET_SUFFIXES):
            raise ValueError(
                f"{v!r} has no supported extension: use one of {', '.join(DATASET_SUFFIXES)} (JSON lines, a JSON "
                "list, Parquet or CSV)"
            )
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, v: str | None) -> str | None:
        import re

        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _reward_settings(self) -> DatasetConfig:
        if self.reward == "regex" and not self.pattern:
            raise ValueError("`reward: regex` needs `pattern` (a regex whose first group is the answer)")
        if self.reward == "custom" and not self.reward_fn:
            raise ValueError("`reward: custom` needs `reward_fn: pkg.module:function`")
        if self.pattern and self.reward != "regex":
            raise ValueError(f"`pattern` is only used by `reward: regex` (reward is {self.reward!r})")
        if self.reward_fn and self.reward != "custom":
            raise ValueError(f"`reward_fn` is only used by `reward: custom` (reward is {self.reward!r})")
        return self


class EnvConfig(Section):
    """The environment: any gem id (multi-turn), including GRPO Lab's built-in small games."""

    id: str = Field(
        "grpolab:GuessNumber-v0-n8",
        description="gem environment id. Built-in: `grpolab:GuessNumber-v0-n8` (demo), `-n16`, `-n32`. Real "
        "gem games such as `game:GuessTheNumber-v0-easy` or `game:Mastermind-v0-easy` suit real models.",
        examples=["grpolab:GuessNumber-v0-n8", "game:GuessTheNumber-v0-easy"],
    )
    kwargs: dict[str, int | float | str | bool] = Field(
        default_factory=dict, description="Extra keyword arguments for `gem.make(id, **kwargs)`."
    )
    max_turns: int | None = Field(
        None, ge=1, le=1000, description="Cap on turns per episode; null keeps the environment's own limit."
    )
    dataset: DatasetConfig | None = Field(
        None,
        description="Your own data for `id: grpolab:dataset` (required there, refused with any other id).",
        examples=[None, {"path": "data/train.jsonl", "prompt_field": "question", "answer_field": "answer"}],
    )

    @model_validator(mode="after")
    def _dataset_matches_id(self) -> EnvConfig:
        if self.id == DATASET_ENV_ID and self.dataset is None:
            raise ValueError(
                f"env.id `{DATASET_ENV_ID}` needs `env.dataset` (path, prompt_field, answer_field)"
            )
        if self.dataset is not None and self.id != DATASET_ENV_ID:
            raise ValueError(f"env.dataset is only read by env.id `{DATASET_ENV_ID}` (env.id is {self.id!r})")
        if self.id == DATASET_ENV_ID and self.kwargs:
            raise ValueError(
                f"env.kwargs ({', '.join(sorted(self.kwargs))}) are not read by `{DATASET_ENV_ID}`: its settings "
                "are env.dataset's"
            )
        return self
