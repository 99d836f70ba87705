"""The neutral concept model every config format maps onto (lint-catalog.md, Part B).

A rule reads only these concepts, never a framework's keys, so one rule serves our RunConfig and the
configs of TRL, verl, OpenRLHF, OAT/gem, SkyRL, ROLL and AReaL alike. Each adapter fills a `Concepts` and
records, per concept, where its value came from (`Origin`): the key the user wrote (with line/column) or
the framework default the adapter assumed.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
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
#: What the policy loss does with the importance ratio (each framework's loss-mode key maps here).
PolicyLossName = Literal[
    "ppo",  # clipped surrogate on the per-token ratio
    "vanilla_pg",  # plain policy gradient, no ratio clipping at all (ROLL ActorPGWorker's fallback)
    "gspo",  # clipped surrogate on the sequence-level ratio
    "cispo",  # detached, clamped IS weight times A·log π (MiniMax-M1 / ScaleRL)
    "sapo",  # soft sigmoid gate instead of a clip: the clip keys are unused
    "luspo",
    "vespo",
    "other",
]

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
    unknown: str = ""  # why the value cannot be known (the file sets it from the environment, a branch, ...)
    file: str = ""  # the file `line`/`column` point into, when not the linted one (a base config)

    def describe(self) -> str:
        if self.unknown:
            return f"`{self.key}` (unknown: {self.unknown})"
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
    # ---- 2026 options (lint-2026.md §C): policy loss, sampler/trainer mismatch, off-policyness, budgets
    policy_gradient: bool = True  # False for a non-PG algorithm (OAT `--algo DPO`): no group rules
    policy_loss: PolicyLossName = "ppo"
    ratio_level: Literal["token", "sequence"] = "token"  # sequence = GSPO's length-normalized sequence ratio
    is_weight_bounds: tuple[float, float] | None = None  # CISPO: [low, high] of the detached IS weight
    sampling_filters: list[tuple[str, str]] = field(default_factory=list)  # (concept key, "top_p = 0.8")
    sampler_is_correction: bool = False  # an IS weight/mask built from the sampler's log-probs
    off_policy: str = ""  # what makes rollouts stale (async generation), in the framework's words; "" = none
    off_policy_corrected: bool = False  # an IS correction / decoupled loss / staleness filter handles it
    reward_clip: float | None = None  # |reward| clip
    reward_clip_stage: Literal["raw", "before_norm", "after_norm"] = "raw"
    rejection_sampling: bool = False  # rows rejected by a sampler/trainer mismatch test (verl `rollout_rs`)
    rejection_keeps_baseline: bool = False  # rejected rows still enter the group baseline (verl #6452)
    max_completion_tokens: int | None = None  # the completion budget
    budget_default_changed: str = ""  # the budget's default changed between versions: which change
    truncation_masked: bool = False  # truncated completions leave the loss
    truncation_zero_reward_only: bool = False  # reward set to 0 after normalization, tokens kept
    updates_per_rollout: float | None = None  # optimizer steps per rollout batch (K)
    updates_formula: str = ""  # how K was computed, in the framework's keys
    off_policy_only_settings: list[str] = field(default_factory=list)  # keys that bind only when ratio ≠ 1
    unclipped_pg_default: bool = False  # ROLL ActorPGWorker without `pg_variant`: vanilla PG, no clip
    kl_after_norm: bool = False  # KL added to the reward after the z-score (OpenRLHF, AReaL): not divided
    version_notes: list[tuple[str, str]] = field(default_factory=list)  # (key, both behaviours) for GL037
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


# ---------------------------------------------------------------------------------------------- versions

#: `grpolab lint --framework-version`: the version the user says their config targets. The CLI sets it; adapters
#: read it through `requested_version()` (an explicit `version=` argument to `map_text` wins).
_REQUESTED_VERSION: ContextVar[str | None] = ContextVar("grpolab_lint_framework_version", default=None)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_RELEASE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def requested_version() -> str | None:
    return _REQUESTED_VERSION.get()


def set_requested_version(version: str | None) -> None:
    _REQUESTED_VERSION.set(version or None)


@dataclass(frozen=True)
class Change:
    """A default or meaning that changed in a framework: at a date (main branch) and/or a release."""

    date: str  # YYYY-MM-DD of the change on main
    release: str | None = None  # first release that has it, when known

    def applies(self, version: str) -> bool | None:
        """True: `version` has the change; False: it predates it; None: `version` cannot be placed."""
        d = _DATE.search(version)
        if d:
            return d.group(0) >= self.date
        r = _RELEASE.match(version.strip())
        if r and self.release:
            have = tuple(int(x or 0) for x in r.groups())
            need = tuple(int(x or 0) for x in (_RELEASE.match(self.release) or r).groups())
            return have >= need
        return None
