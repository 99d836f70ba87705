"""EasyR1 (hiyouga/EasyR1): a fork of verl for (vision-)language RL with a config schema of its own.

What it reads: a YAML in the shape of EasyR1's `examples/config.yaml` (top-level `data`, `algorithm`, `worker` with
`actor`/`rollout`/`ref`/`reward`/`critic`, `trainer`), or a launch script running `python3 -m verl.trainer.main
config=FILE.yaml key.path=value ...`. The entry point (verl/trainer/main.py) starts from the `PPOConfig` dataclass
defaults, merges the YAML that `config=` names, then the command line's dotted keys (OmegaConf: later wins, a dict
value merges into the one below it). A script linted from disk has that YAML opened (next to the script or in a folder
above it, as `_yaml.base_config` looks up any base config); from text, the keys the command line does not set are
unknown, never EasyR1's defaults.

Defaults are those of hiyouga/EasyR1 main at commit b44b311 (2026-07-30): verl/trainer/config.py (`DataConfig`,
`AlgorithmConfig`), verl/workers/actor/config.py (`ActorConfig`), verl/workers/rollout/config.py (`RolloutConfig`),
verl/workers/reward/config.py (`RewardConfig`). How they act: verl/trainer/core_algos.py (estimators, policy losses,
KL estimators, loss averaging), verl/trainer/ray_trainer.py (KL placement, grouping by uid, online filtering,
refusals at start), verl/workers/actor/dp_actor.py (KL loss, mini-batches), verl/workers/fsdp_workers.py (the actor's
global batch counts prompts: it is multiplied by `rollout.n`).

Unlike upstream verl, EasyR1 has no learner-side advantage whitening, no `norm_adv_by_std_in_grpo` switch and no
constant-normalizer (Dr. GRPO) loss, and KL goes either into the reward or into the loss, never both: one
`algorithm.kl_coef` serves whichever `algorithm.use_kl_loss` picks, and `algorithm.disable_kl` drops the reference
model and every KL term.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from training.lint.adapters import Mapped
from training.lint.adapters._source import (
    Entry,
    Source,
    current_reading,
    note,
    nothing_to_lint,
    steps_per_rollout,
)
from training.lint.adapters._yaml import (
    _embedded_script,
    apply_overrides,
    base_config,
    trainer_words,
    try_parse,
    yaml_source,
)
from training.lint.concepts import BatchWhitening, Concepts, requested_version
from training.sourcemap import ConfigSyntaxError, parse_text

NAME = "easyr1"
VERSION = "hiyouga/EasyR1 main@2026-07-30 (b44b311)"
ENTRY_POINTS = ("verl.trainer.main", "verl/trainer/main.py")

_A = "worker.actor"
_R = "worker.rollout"
_VAL = f"{_R}.val_override_config"
_CMD = "python3 -m verl.trainer.main config=examples/config.yaml ..."

#: verl/trainer/core_algos.py `AdvantageEstimator`; ray_trainer.py raises NotImplementedError for any other name
_ESTIMATORS = ("gae", "grpo", "grpo_passk", "reinforce_plus_plus", "remax", "rloo")
#: core_algos.py `average_loss`: "token" = masked mean over the mini-batch's tokens (dp_actor.py rescales each
#: micro-batch by its share of the all-reduced token count, so the mean is global); "seq" = mean of per-answer means
_LOSS = {"token": "token_mean", "seq": "seq_mean_token_mean"}
#: core_algos.py `compute_policy_loss`: any other `loss_type` falls through to the clipped PPO branch
_LOSS_TYPES = ("default", "gspo", "gspo_token", "cispo", "sapo")
#: core_algos.py `compute_kl`: kl = log π − log π_ref (k1), mse = ½(…)² (k2), low_var_kl = k3
_KL = {"kl": "k1", "mse": "k2", "low_var_kl": "k3", "abs": "abs", "full": "full"}

_ENTRY = re.compile(r"(?<![\w.])verl(\.trainer\.main|/trainer/main\.py)(?![\w.]|\.py)")
_WORKER_OVERRIDE = re.compile(r"(?<![\w.])worker\.(actor|rollout|ref|reward|critic)\.\w")


def label(version: str | None) -> str:
    """The version named in messages: only one EasyR1 version is modelled."""
    return f"{VERSION} (asked: {version}; no version differences modelled)" if version else VERSION


def _config(text: str) -> dict[str, Any] | None:
    """The YAML mapping, or None for a launch command (a one-line `python3 -m verl.trainer.main ... '{"n": 8}'`
    also parses as a YAML mapping, its key being the command up to `: `)."""
    raw = try_parse(text)
    if raw and any(isinstance(k, str) and " " in k and _ENTRY.search(k) for k in raw):
        return None
    return raw


def detect(text: str, path: str | None) -> float:
    raw = _config(text)
    if raw:
        worker = raw.get("worker")
        if isinstance(worker, dict) and "actor_rollout_ref" not in raw:
            if any(k in worker for k in ("actor", "rollout", "ref", "reward", "critic")):
                return 0.95
            return 0.5
        alg = raw.get("algorithm")
        if isinstance(alg, dict) and ("disable_kl" in alg or "online_filtering" in alg):
            return 0.85  # EasyR1-only keys; verl scores adv_estimator 0.8: a close call, refused
        if not any(isinstance(v, str) and "\n" in v and _ENTRY.search(v) for v in raw.values()):
            return 0.0
    # upstream verl has no `verl.trainer.main` module (only main_ppo, main_generation, ...)
    if _ENTRY.search(text):
        return 0.95
    return 0.6 if _WORKER_OVERRIDE.search(text) and "actor_rollout_ref." not in text else 0.0


# ---------------------------------------------------------------------------------------------------- reading


def source(text: str) -> Source:
    raw = _config(text)
    if raw and _embedded_script(text, raw, ENTRY_POINTS) is None:
        return yaml_source(text)
    r = current_reading()
    key = ("easyr1", hash(text))
    if r is not None and key in r.memo:
        cached: Source = r.memo[key]
        r.commands, r.notes = list(r.memo[key, "commands"]), list(r.memo[key, "notes"])
        return cached
    src = _script_source(text, raw)
    if r is not None:
        r.memo[key], r.memo[key, "commands"], r.memo[key, "notes"] = src, list(r.commands), list(r.notes)
    return src


def _script_source(text: str, raw: dict[str, Any] | None) -> Source:
    from training.lint.adapters._shell import opaque_reason, overrides

    cmd, words = trainer_words(text, raw, ENTRY_POINTS)
    found = overrides(words)
    if cmd is None and not any(k != "config" for k, *_ in found):
        raise nothing_to_lint(f"a config or a `{_CMD}` command")
    # verl/trainer/main.py: `config=FILE` is popped from the command line and names the YAML merged first
    named = [w for w in words if not w.opaque and w.text.startswith("config=")]
    src, unseen = _base(named[-1] if named else None)
    first = cmd.program if cmd else words[0]
    src.anchor = (first.line, first.column)
    apply_overrides(src, [o for o in found if o[0] != "config"])
    _expand_mappings(src, [o for o in found if o[0] != "config"])
    src.unseen = unseen or opaque_reason([w for w in words if w.opaque])
    return src


def _base(word: Any) -> tuple[Source, str]:
    """The YAML `config=FILE` names, read as any base config is (`_yaml.base_config`: next to the script or above
    it, only for a script linted from disk); unknown keys when it cannot be read."""
    if word is None:
        return Source(), ""  # no base: the PPOConfig dataclass defaults, which are this adapter's defaults
    if word.unknown:
        return (
            Source(),
            f"it may be set in the base config `{word.text}` names, which is unknown here: {word.unknown}",
        )
    return base_config([replace(word, text="--config=" + word.text.partition("=")[2])])


def _expand_mappings(src: Source, found: list[tuple[str, Any, int, int]]) -> None:
    """OmegaConf reads a command-line value as YAML: `worker.rollout.val_override_config='{"n":16}'` is a mapping,
    merged key by key into the base config's (its sub-keys get the override's position)."""
    for key, value, line, col in found:
        if not (isinstance(value, str) and value.lstrip().startswith("{")):
            continue
        try:
            parsed, _ = parse_text(value)
        except ConfigSyntaxError:
            continue
        if not isinstance(parsed, dict):
            continue
        name = key.lstrip("+")
        src.entries[name] = Entry(value=parsed, key=name, line=line, column=col)
        for k, v in _flatten(parsed, name):
            src.entries[k] = Entry(value=v, key=k, line=line, column=col)


def _flatten(d: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        out.append((f"{prefix}.{k}", v))
        if isinstance(v, dict):
            out.extend(_flatten(v, f"{prefix}.{k}"))
    return out


# ---------------------------------------------------------------------------------------------------- mapping


def map_source(src: Source, version: str | None = None) -> Mapped:
    est = src.str_("algorithm.adv_estimator", "grpo") or "grpo"
    if est not in _ESTIMATORS:
        raise src.bad("algorithm.adv_estimator", f"one of {', '.join(_ESTIMATORS)}")
    n = src.int_(f"{_R}.n", 1) or 1
    # GRPO's z-score uses torch.std (Bessel's correction) plus a fixed eps of 1e-6 (core_algos.py)
    c = Concepts(framework=NAME, framework_version=label(version), std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    if est in ("grpo", "grpo_passk"):
        # grpo: (score − group mean) / (group std + 1e-6); grpo_passk gives the best answer of the group
        # (best − second best) / (group std + 1e-6) and the others 0: group-relative and std-scaled as well
        c.estimator, c.group_mean, c.group_norm_std = "grpo", True, True
    elif est == "rloo":
        c.estimator, c.group_mean = "rloo", True  # leave-one-out mean of the group, no std
    elif est == "reinforce_plus_plus":
        # discounted per-token returns, then masked_whiten over the batch's tokens (the estimator's own pass)
        c.estimator = "reinforce_pp"
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est == "remax":
        c.estimator = "remax"  # baseline: the reward of a greedy answer to the same prompt (ray_trainer.py)
    else:
        c.estimator = "gae"  # a critic; its advantages are whitened over the batch's tokens (masked_whiten)
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    r = current_reading()
    unread = r is not None and (f"{_R}.n" in r.unknown or "algorithm.adv_estimator" in r.unknown)
    if n < 2 and est in ("grpo", "grpo_passk", "rloo") and not unread:
        note(
            "EasyR1 refuses to train grpo and rloo with `worker.rollout.n` 1 (ray_trainer.py raises ValueError at "
            "start; grpo_passk fails its assertion at the first step)"
        )
    # no `norm_adv_by_std_in_grpo` and no learner-side whitening switch in EasyR1: nothing else touches advantages
    mode = src.str_(f"{_A}.loss_avg_mode", "token") or "token"
    if mode not in _LOSS:
        raise src.bad(f"{_A}.loss_avg_mode", "token or seq")  # core_algos.py average_loss raises otherwise
    c.loss_agg = _LOSS[mode]  # type: ignore[assignment]
    c.length_norm_available = False  # no token-sum-over-a-constant loss (only token / seq)
    c.group_size = n
    c.positional_grouping = False  # groups are keyed by a uuid per prompt (ray_trainer.py `uid`)
    c.temperature = src.float_(f"{_R}.temperature", 1.0) or 0.0
    # the training log-probs use the rollout's temperature (fsdp_workers.py puts it in meta_info): no mismatch
    c.logprob_temperature = None
    # validation: the rollout's sampling params with `val_override_config`'s keys on top (vllm_rollout_spmd.py);
    # its `n` defaults to 1 (ray_trainer.py `_validate`)
    val_temp_key = f"{_VAL}.temperature" if src.has(f"{_VAL}.temperature") else f"{_R}.temperature"
    c.eval_greedy = (src.float_(val_temp_key, 1.0) or 0.0) == 0
    c.eval_group_size = src.int_(f"{_VAL}.n", 1)
    _map_kl(src, c)
    _map_policy_loss(src, c)
    c.gamma = src.float_("algorithm.gamma", 1.0) or 0.0
    c.lam = src.float_("algorithm.lam", 1.0) or 0.0
    c.gamma_used_by_estimator = c.estimator in ("gae", "reinforce_pp")
    c.gamma_per_token = c.estimator == "reinforce_pp"
    c.entropy_coef = 0.0  # EasyR1 logs an entropy estimate but has no entropy loss term
    prompts = src.int_("data.rollout_batch_size", 512)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * n if prompts else None
    # `online_filtering` drops groups whose mean `filter_key` score is not strictly inside (filter_low,
    # filter_high), 0.01 and 0.99 by default (ray_trainer.py `_make_batch_data`): all-fail and all-pass groups
    c.zero_variance_filter = src.bool_("algorithm.online_filtering", False)
    # the score always comes from `worker.reward.reward_function` (a user Python function): its kind is unknown
    c.reward_kind = "unknown"
    c.max_completion_tokens = src.int_("data.max_response_length", 512)
    _map_batches(src, c)
    top_p = src.float_(f"{_R}.top_p", 1.0)
    top_k = src.int_(f"{_R}.top_k", -1)
    filters = []
    if top_p is not None and top_p < 1:
        filters.append((src.origin(f"{_R}.top_p").key, f"{top_p:g}"))
    if top_k is not None and top_k > 0:
        filters.append((src.origin(f"{_R}.top_k").key, f"{top_k}"))
    c.sampling_filters = filters  # no sampler/trainer importance correction in EasyR1, so GL029 stays silent

    o = c.origins
    for concept in ("estimator", "group_mean", "group_norm_std", "batch_whitening"):
        o[concept] = src.origin("algorithm.adv_estimator")
    o["std_eps"] = src.fixed("algorithm.adv_estimator", "group std epsilon (fixed at 1e-6 in EasyR1)")
    o["loss_agg"] = src.origin(f"{_A}.loss_avg_mode")
    o["group_size"] = src.origin(f"{_R}.n")
    o["temperature"] = o["greedy"] = src.origin(f"{_R}.temperature")
    o["eval_greedy"] = src.origin(val_temp_key)
    o["eval_group_size"] = src.origin(f"{_VAL}.n")
    o["gamma"] = src.origin("algorithm.gamma")
    o["rollout_samples"] = src.origin("data.rollout_batch_size")
    o["zero_variance_filter"] = src.origin("algorithm.online_filtering")
    o["reward_kind"] = src.origin("worker.reward.reward_function")
    o["max_completion_tokens"] = src.origin("data.max_response_length")
    o["sampling_filters"] = src.origin(f"{_R}.top_p" if src.written(f"{_R}.top_p") else f"{_R}.top_k")
    return Mapped(concepts=c)


#: keys only EasyR1's early-2025 layout has (the actor held its own KL-loss switch, coefficient and estimator);
#: projects that vendored it then (Seg-Zero/VisionReasoner) still write them
_EARLY_KL_KEYS = (f"{_A}.kl_loss_coef", f"{_A}.kl_loss_type")
EARLY_LAYOUT = "EasyR1's early-2025 layout (`worker.actor.use_kl_loss`, `kl_loss_coef`, `kl_loss_type`)"


def _early_kl_layout(src: Source) -> bool:
    new_keys = ("algorithm.use_kl_loss", "algorithm.disable_kl")
    return any(src.written(k) for k in _EARLY_KL_KEYS) and not any(src.written(k) for k in new_keys)


def _map_early_kl(src: Source, c: Concepts) -> None:
    """The early-2025 layout (Seg-Zero's vendored copy, verl/trainer/ray_trainer.py and workers/actor/config.py):
    `worker.actor.use_kl_loss` (default true) adds `kl_loss_coef × kl_loss_type` (default low_var_kl) to the actor
    loss; when it is false, `algorithm.kl_coef × algorithm.kl_penalty` goes into the rewards. No `disable_kl`."""
    o = c.origins
    in_loss = src.bool_(f"{_A}.use_kl_loss", True)
    c.use_ref = True
    c.kl_in_loss, c.kl_in_reward = in_loss, not in_loss
    c.kl_loss_coef = src.float_(f"{_A}.kl_loss_coef", 1e-3) or 0.0
    c.kl_reward_coef = src.float_("algorithm.kl_coef", 1e-3) or 0.0
    kind = src.str_(f"{_A}.kl_loss_type", "low_var_kl") if in_loss else src.str_("algorithm.kl_penalty", "kl")
    c.kl_estimator = _KL.get(kind or "kl", kind or "kl")
    o["kl_loss_coef"] = src.origin(f"{_A}.kl_loss_coef")
    o["kl_reward_coef"] = src.origin("algorithm.kl_coef")
    o["kl_estimator"] = src.origin(f"{_A}.kl_loss_type" if in_loss else "algorithm.kl_penalty")
    o["use_ref"] = src.origin(f"{_A}.use_kl_loss")
    note(f"read as {EARLY_LAYOUT}: the file writes {', '.join(k for k in _EARLY_KL_KEYS if src.written(k))}")


def _map_kl(src: Source, c: Concepts) -> None:
    """ray_trainer.py: `disable_kl` builds no reference model and zeroes the controller; otherwise `use_kl_loss`
    false puts `kl_coef × kl_penalty(old, ref)` into the token rewards before the estimator (apply_kl_penalty),
    true adds `kl_coef × kl_penalty(π, ref)` to the actor loss (dp_actor.py). The same two keys serve both."""
    if _early_kl_layout(src):
        _map_early_kl(src, c)
        return
    o = c.origins
    disabled = src.bool_("algorithm.disable_kl", False)
    in_loss = src.bool_("algorithm.use_kl_loss", False)
    coef = src.float_("algorithm.kl_coef", 1e-3) or 0.0
    penalty = src.str_("algorithm.kl_penalty", "kl") or "kl"
    c.use_ref = not disabled
    c.kl_in_loss = not disabled and in_loss
    c.kl_in_reward = not disabled and not in_loss
    c.kl_loss_coef = c.kl_reward_coef = 0.0 if disabled else coef
    c.kl_estimator = _KL.get(penalty, penalty)
    o["kl_reward_coef"] = o["kl_loss_coef"] = src.origin("algorithm.kl_coef")
    o["kl_estimator"] = src.origin("algorithm.kl_penalty")
    o["use_ref"] = src.origin("algorithm.disable_kl")
    if disabled and coef > 0 and src.written("algorithm.kl_coef"):
        _dead(
            src,
            c,
            "algorithm.kl_coef",
            "algorithm.disable_kl",
            "`algorithm.disable_kl` is true: no reference model, no KL term",
        )
    kl_type = src.str_("algorithm.kl_type", "fixed")
    if kl_type == "adaptive" and (disabled or in_loss) and src.written("algorithm.kl_type"):
        # the adaptive controller only scales the reward's penalty; the KL loss uses kl_coef as written
        why = (
            "`algorithm.disable_kl` is true"
            if disabled
            else "`algorithm.use_kl_loss` is true, and the adaptive controller only scales the KL in the reward"
        )
        _dead(
            src, c, "algorithm.kl_type", "algorithm.disable_kl" if disabled else "algorithm.use_kl_loss", why
        )
    # verl/trainer/config.py PPOConfig.post_init copies these from `algorithm.*` over whatever the actor section says
    for key in ("disable_kl", "use_kl_loss", "kl_penalty", "kl_coef"):
        if src.written(f"{_A}.{key}"):
            c.dead_keys.append(
                (f"{_A}.{key}", f"EasyR1 overwrites it with `algorithm.{key}` at start; set that key instead")
            )
            o[f"dead:{_A}.{key}"] = src.origin(f"{_A}.{key}")


def _map_policy_loss(src: Source, c: Concepts) -> None:
    """core_algos.py `compute_policy_loss`: `loss_type` default/gspo/gspo_token clip the ratio to
    [1 − clip_ratio_low, 1 + clip_ratio_high] with the dual clip `clip_ratio_dual` for negative advantages (gspo and
    gspo_token on the length-normalized sequence ratio); cispo multiplies A·log π by that clamp of the ratio,
    detached; sapo gates with `tau_positive`/`tau_negative` and reads no clip key."""
    o = c.origins
    c.clip_low = src.float_(f"{_A}.clip_ratio_low", 0.2)
    c.clip_high = src.float_(f"{_A}.clip_ratio_high", 0.3)  # asymmetric by default (ActorConfig)
    c.clip_dual = src.float_(f"{_A}.clip_ratio_dual", 3.0)
    o["clip_low"] = src.origin(f"{_A}.clip_ratio_low")
    o["clip_high"] = src.origin(f"{_A}.clip_ratio_high")
    o["clip_dual"] = src.origin(f"{_A}.clip_ratio_dual")
    key = f"{_A}.loss_type"
    loss = src.str_(key, "default") or "default"
    o["policy_loss"] = o["ratio_level"] = src.origin(key)
    clip_keys = [k for k in (f"{_A}.clip_ratio_low", f"{_A}.clip_ratio_high") if src.written(k)]
    dual_key = f"{_A}.clip_ratio_dual"
    if loss in ("gspo", "gspo_token"):
        c.policy_loss, c.ratio_level = "gspo", "sequence"
    elif loss == "cispo":
        c.policy_loss = "cispo"
        c.is_weight_bounds = (1 - (c.clip_low or 0.0), 1 + (c.clip_high or 0.0))
        o["is_weight_bounds"] = o["clip_high"]
        c.clip_low = c.clip_high = c.clip_dual = None
        if src.written(dual_key):
            _dead(src, c, dual_key, key, "`loss_type: cispo` has no dual clip")
    elif loss == "sapo":
        c.policy_loss = "sapo"
        c.clip_low = c.clip_high = c.clip_dual = None
        for k in [*clip_keys, *([dual_key] if src.written(dual_key) else [])]:
            _dead(src, c, k, key, "`loss_type: sapo` gates with `tau_positive`/`tau_negative`, not a clip")
    elif loss not in _LOSS_TYPES and src.written(key):
        c.dead_keys.append(
            (
                key,
                f"`{loss}` is not a loss type of EasyR1 (default, gspo, gspo_token, cispo, sapo): the PPO clip runs",
            )
        )
        o[f"dead:{key}"] = src.origin(key)
    if loss != "sapo":
        for k in (f"{_A}.tau_positive", f"{_A}.tau_negative"):
            if src.written(k):
                _dead(src, c, k, key, "only `loss_type: sapo` reads the SAPO temperatures")
    inert = []
    if loss == "cispo":
        inert.append("the CISPO bounds")
    elif clip_keys and c.clip_low is not None and c.clip_high is not None and c.clip_low != c.clip_high:
        inert.append("the asymmetric clip (`clip_ratio_high` ≠ `clip_ratio_low`)")
    if loss != "sapo" and loss != "cispo" and src.written(dual_key):
        inert.append("the dual clip (`clip_ratio_dual`)")
    c.off_policy_only_settings = inert


def _map_batches(src: Source, c: Concepts) -> None:
    """Optimizer steps per rollout: `data.rollout_batch_size` prompts per step, split into mini-batches of
    `worker.actor.global_batch_size` prompts (fsdp_workers.py multiplies it by `rollout.n`), `ppo_epochs` times
    (dp_actor.py update_policy)."""
    steps_per_rollout(
        src,
        c,
        ("data.rollout_batch_size", 512, "data.rollout_batch_size"),
        (f"{_A}.global_batch_size", 256, "worker.actor.global_batch_size"),
        (f"{_A}.ppo_epochs", "ppo_epochs"),
    )


def _dead(src: Source, c: Concepts, key: str, switch: str, why: str) -> None:
    """`key` has no effect because of `switch`. Not reported when `key` comes from the base config and the switch
    from the command line: that override turns a shared base's setting off on purpose."""
    from_base = bool(src.entries[key].file) if key in src.entries else False
    switch_from_base = bool(src.entries[switch].file) if switch in src.entries else True
    if from_base and not switch_from_base:
        return
    c.dead_keys.append((key, why))
    c.origins[f"dead:{key}"] = src.origin(key)


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    return map_source(source(text), version or requested_version())
