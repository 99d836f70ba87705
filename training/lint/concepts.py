"""The neutral concept model every config format maps onto (lint-catalog.md, Part B).

A rule reads only these concepts, never a framework's keys, so one rule serves our RunConfig and the
configs of TRL, verl, OpenRLHF, OAT/gem, SkyRL, ROLL and AReaL alike. Each adapter fills a `Concepts` and
records, per concept, where its value came from (`Origin`): the key the user wrote (with line/column) or
the framework default the adapter assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EstimatorName = Literal[
    "grpo",
    "drgrpo",
    "rloo",
    "ep_level",
    "none",
    "reinforce",
    "reinforce_pp",
    "reinforce_pp_baseline",
    "rebn",
    "gae",
    "remax",
    "opo",
    "gpg",
    "other",
]
LossAggName = Literal[
    "token_mean", "token_mean_local", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm"
]
NormLevel = Literal["none", "batch", "group", "running", "static"]

#: Estimators whose baseline comes from the other samples of the same group.
GROUP_ESTIMATORS = frozenset({"grpo", "drgrpo", "rloo", "reinforce_pp_baseline"})
#: Estimators that already normalize per group (the first stage of a double normalization).
GROUP_NORMALIZING = frozenset({"grpo", "drgrpo", "rloo"})


@dataclass(frozen=True)
class Origin:
    """Where a concept's value came from."""

    key: str  # the user-facing key, e.g. `algorithm.norm_return` or `--norm_return`
    pointer: str = ""  # JSON pointer in the file (YAML/JSON formats)
    line: int | None = None
    column: int | None = None
    default: bool = False  # True: the user did not write it; the framework's default applies

    def describe(self) -> str:
        return f"`{self.key}` (default)" if self.default else f"`{self.key}`"


@dataclass
class BatchWhitening:
    """A pass that whitens advantages over a batch, after the estimator."""

    mean: bool = False
    std: bool = False
    scope: Literal["batch", "transitions", "tokens"] = "batch"
    intrinsic: bool = False  # defined by the declared estimator (REINFORCE++(-baseline), GEM ReBN, GAE)
    extra: bool = False  # a user switch whitens again on top of an intrinsic pass (GL020)

    @property
    def active(self) -> bool:
        return self.mean or self.std


@dataclass
class RewardNorm:
    mean: NormLevel = "none"
    std: NormLevel = "none"


@dataclass
class Concepts:
    """What a config means, in framework-neutral terms. Defaults describe "nothing special"."""

    framework: str = "grpolab"
    framework_version: str = ""
    estimator: EstimatorName = "grpo"
    estimator_declared: bool = True
    group_mean: bool = True
    group_norm_std: bool = True
    reward_norm: RewardNorm = field(default_factory=RewardNorm)
    batch_whitening: BatchWhitening = field(default_factory=BatchWhitening)
    token_reward_whiten: bool = False
    norm_group_size: int | None = None
    std_eps: float | None = 1e-9
    std_unbiased: bool = False  # group std with Bessel's correction (sets the z of one success in G, GL015)
    no_std_requested: bool = False
    no_std_unused: bool = False  # the "no std" request has nothing to act on in this estimator (GL009 info)
    loss_agg: LossAggName = "token_mean"
    length_norm_constant: int | None = None
    length_norm_available: bool = True  # the framework has a constant-normalizer loss (GL022 when not)
    group_size: int = 8
    temperature: float = 1.0
    greedy: bool = False
    logprob_temperature: float | None = None
    kl_in_reward: bool = False
    kl_reward_coef: float = 0.0
    kl_in_loss: bool = False
    kl_loss_coef: float = 0.0
    kl_estimator: str = "k3"
    use_ref: bool = True
    missing_ref_is_zeros: bool = False  # no reference means log-probs of 0 (AReaL): GL007 is an error
    gamma: float = 1.0
    lam: float = 1.0
    gamma_used_by_estimator: bool = False
    gamma_per_token: bool = False  # gamma applied per token to a response-level reward (GL025)
    entropy_coef: float = 0.0
    entropy_enabled: bool = True
    clip_low: float | None = 0.2
    clip_high: float | None = 0.2
    clip_dual: float | None = None
    advantage_clip: float | None = None
    reward_kind: Literal["binary", "continuous", "unknown"] = "unknown"
    zero_variance_filter: bool = False
    multi_turn: bool = False
    subsample_after_norm: bool = False
    subsample_unit: Literal["none", "groups", "transitions"] = "none"
    subsample_size: int | None = None
    rollout_prompts: int | None = None
    rollout_samples: int | None = None
    minibatch_samples: int | None = None
    per_device_samples: int | None = None
    positional_grouping: bool = (
        True  # groups are formed by reshaping rows positionally (not keyed by prompt id)
    )
    n_devices: int = 1
    eval_greedy: bool = False
    eval_group_size: int | None = None
    dead_keys: list[tuple[str, str]] = field(default_factory=list)  # (key, why it has no effect)
    origins: dict[str, Origin] = field(default_factory=dict)

    def origin(self, concept: str) -> Origin | None:
        return self.origins.get(concept)

    def key(self, concept: str, fallback: str | None = None) -> str:
        """The user-facing key of a concept, for messages."""
        o = self.origins.get(concept)
        return o.key if o else (fallback or concept)

    @property
    def group_relative(self) -> bool:
        return self.estimator in GROUP_ESTIMATORS or self.group_mean or self.group_norm_std
