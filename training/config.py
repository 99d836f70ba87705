"""RunConfig: the one description of a GRPO run, shared by the CLI, the API, the UI, the linter and the trainer.

Every field is typed, defaulted and described, so an empty file is a valid config: the tiny CPU demo
(a ~1M-parameter character model learning guess-the-number with N = 8). Pure pydantic + stdlib: importing
this module never imports torch. Reading a config from text or a file, with positioned errors:
`training/config_io.py`.

The sections live beside this file, one module per part of the run, and every name is importable from here:
`model:` training/config_model.py, `env:` training/config_env.py, `rollout:`, `algorithm:`, `optim:`,
`warm_start:` and `learner:` training/config_learning.py; `resources:`, `run:` and `lint:` are below.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from training.config_base import Section
from training.config_env import DATASET_ENV_ID, DATASET_SUFFIXES, DatasetConfig, DatasetReward, EnvConfig
from training.config_learning import (
    GROUP_RELATIVE_ESTIMATORS,
    AlgorithmConfig,
    Estimator,
    LearnerConfig,
    LossAgg,
    OptimConfig,
    RolloutConfig,
    SubsampleConfig,
    VllmConfig,
    WarmStartConfig,
)
from training.config_model import HUB_ID_PATTERN, LoraConfig, ModelConfig, hub_id_problem

__all__ = [
    "DATASET_ENV_ID",
    "DATASET_SUFFIXES",
    "GROUP_RELATIVE_ESTIMATORS",
    "HUB_ID_PATTERN",
    "AlgorithmConfig",
    "DatasetConfig",
    "DatasetReward",
    "EnvConfig",
    "Estimator",
    "LearnerConfig",
    "LintAllow",
    "LintSection",
    "LoraConfig",
    "LossAgg",
    "ModelConfig",
    "OptimConfig",
    "ResourcesConfig",
    "RolloutConfig",
    "RunConfig",
    "RunSection",
    "Section",
    "SubsampleConfig",
    "VllmConfig",
    "WarmStartConfig",
    "dump_schema",
    "hub_id_problem",
    "json_schema",
]


class ResourcesConfig(Section):
    """What the run needs from a worker."""

    gpus: int = Field(
        0,
        ge=0,
        le=1024,
        description="GPUs; > 0 sends the run to the `gpu` worker queue. > 1 trains on that many ranks, one "
        "process per GPU (torchrun; docs/pipeline.md).",
    )
    cpu_ranks: int = Field(
        1,
        ge=1,
        le=64,
        description="With `gpus: 0`: CPU processes (gloo ranks) that share the run's groups, like "
        "`grpolab train --nproc N`. Each uses `cpu_threads` threads.",
    )
    cpu_threads: int = Field(2, ge=1, le=1024, description="torch threads for CPU work, per rank.")
    nodes: int = Field(
        1,
        ge=1,
        le=1024,
        description="Machines the learner ranks spread over. > 1 needs a worker started with `--executor ray`: "
        "the ranks go into a Ray placement group with one bundle per node (docs/ray.md).",
    )
    gpus_per_node: int = Field(
        0,
        ge=0,
        le=64,
        description="GPUs (one rank each) on every node of a multi-node run; `gpus` is then nodes × "
        "gpus_per_node. 0 with `gpus: 0`: each node runs `cpu_ranks` CPU ranks (gloo).",
    )
    ray_resources: dict[str, float] = Field(
        default_factory=dict,
        description="Extra Ray resources every node's bundle asks for with `--executor ray` (custom resources "
        'of your cluster, e.g. `{"a100": 1}`); the local executor ignores them.',
    )

    @model_validator(mode="after")
    def _nodes_and_gpus_agree(self) -> ResourcesConfig:
        if self.gpus_per_node:
            total = self.nodes * self.gpus_per_node
            if self.gpus not in (0, total):
                raise ValueError(
                    f"resources.gpus is {self.gpus} but nodes × gpus_per_node is {self.nodes} × "
                    f"{self.gpus_per_node} = {total}: set gpus to {total}, or leave it out"
                )
            self.gpus = total
        elif self.nodes > 1 and self.gpus:
            if self.gpus % self.nodes:
                raise ValueError(
                    f"resources.gpus ({self.gpus}) does not split evenly over resources.nodes ({self.nodes}): "
                    "set resources.gpus_per_node instead"
                )
            self.gpus_per_node = self.gpus // self.nodes
        bad = {k: v for k, v in self.ray_resources.items() if not k or v < 0}
        if bad:
            raise ValueError(f"resources.ray_resources {bad}: names must be non-empty, amounts ≥ 0")
        return self

    @property
    def ranks_per_node(self) -> int:
        """Learner ranks on each node: one per GPU, else `cpu_ranks`."""
        if self.nodes > 1:
            return self.gpus_per_node or self.cpu_ranks
        return self.gpus if self.gpus > 0 else self.cpu_ranks

    @property
    def world_size(self) -> int:
        """Learner ranks over all nodes (the data-parallel world size)."""
        return self.nodes * self.ranks_per_node


class RunSection(Section):
    """Length, seed, evaluation and checkpoints."""

    steps: int = Field(
        500, ge=0, le=10_000_000, description="Optimizer steps of RL (the demo: 500, ~25 s on 2 idle cores)."
    )
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed for the model, sampling and environments.")
    eval_episodes: int = Field(
        512,
        ge=0,
        le=1_000_000,
        description="Fresh episodes of the start-of-run evaluation (`eval/success_rate_start`) and of each "
        "`eval_every` evaluation. 0 turns every evaluation off, the final one included.",
    )
    final_eval_episodes: int = Field(
        512,
        ge=512,
        le=1_000_000,
        description="Fresh episodes of the final evaluation (`eval/success_rate` in summary.json): at least 512, "
        "as a smaller sample is too noisy to judge a run by.",
    )
    eval_every: int = Field(0, ge=0, description="Also evaluate every N steps (0 = only at the end).")
    eval_greedy: bool = Field(
        False,
        description="Evaluate with greedy decoding (argmax: exact-match accuracy of the policy's best answer) "
        "instead of the training sampling settings.",
    )
    checkpoint_every: int = Field(
        25, ge=0, description="Save a checkpoint every N steps (0 = only at the end)."
    )
    sample_episodes: int = Field(
        4,
        ge=0,
        le=64,
        description="Episodes kept per step in `samples.jsonl` (prompt, completion, reward, advantage; texts "
        "capped at 2,000 characters), shown on the run page: what the policy writes. 0 keeps none.",
    )
    output_dir: str | None = Field(
        None,
        description="Where metrics and checkpoints go (CLI: default `runs/<timestamp>`; the service chooses "
        "its own folder under its data dir and refuses paths outside it).",
    )

    @model_validator(mode="after")
    def _eval_sizes_are_explicit(self) -> RunSection:
        if (
            self.eval_episodes > self.final_eval_episodes
            and "final_eval_episodes" not in self.model_fields_set
        ):
            # before final_eval_episodes existed, an eval_episodes above 512 also sized the final evaluation
            raise ValueError(
                f"run.eval_episodes: {self.eval_episodes} now sizes only the start-of-run and periodic "
                f"evaluations; add run.final_eval_episodes: {self.eval_episodes} to keep the final evaluation "
                "that large"
            )
        return self


class LintAllow(Section):
    """An explicit, recorded acknowledgement that lets a run with this finding launch."""

    rule: Annotated[str, Field(pattern=r"^GL\d{3}$", description="Rule id, e.g. `GL001`.")]
    reason: Annotated[
        str, Field(min_length=3, max_length=2000, description="Why this run deliberately breaks the rule.")
    ]

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, v: str) -> str:
        if len(v.strip()) < 3:
            raise ValueError("give a reason (a few words on why this run breaks the rule)")
        return v


class LintSection(Section):
    """Linter settings of this config."""

    allow: list[LintAllow] = Field(
        default_factory=list,
        max_length=100,
        description="Findings acknowledged on purpose (ablations): `[{rule: GL001, reason: ...}]`.",
    )


class RunConfig(Section):
    """A GRPO run. Every field has a default: an empty file is the tiny CPU demo."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_default=True,
        json_schema_extra={"title": "GRPO Lab run config", "examples": [{}]},
    )

    model: ModelConfig = Field(default_factory=ModelConfig, description=ModelConfig.__doc__)
    env: EnvConfig = Field(default_factory=EnvConfig, description=EnvConfig.__doc__)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig, description=RolloutConfig.__doc__)
    algorithm: AlgorithmConfig = Field(default_factory=AlgorithmConfig, description=AlgorithmConfig.__doc__)
    optim: OptimConfig = Field(default_factory=OptimConfig, description=OptimConfig.__doc__)
    warm_start: WarmStartConfig = Field(default_factory=WarmStartConfig, description=WarmStartConfig.__doc__)
    learner: LearnerConfig = Field(default_factory=LearnerConfig, description=LearnerConfig.__doc__)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, description=ResourcesConfig.__doc__)
    run: RunSection = Field(default_factory=RunSection, description=RunSection.__doc__)
    lint: LintSection = Field(default_factory=LintSection, description=LintSection.__doc__)

    @model_validator(mode="after")
    def _subsample_needs_size(self) -> RunConfig:
        s = self.rollout.subsample
        if s.unit != "none" and s.size is None:
            raise ValueError("rollout.subsample.size is required when rollout.subsample.unit is not `none`")
        return self

    def allowed_rules(self) -> set[str]:
        return {a.rule for a in self.lint.allow}


def json_schema() -> dict[str, Any]:
    """RunConfig's JSON Schema (what `grpolab schema` prints and the UI's editor uses)."""
    return RunConfig.model_json_schema()


def dump_schema() -> str:
    return json.dumps(json_schema(), indent=2)
