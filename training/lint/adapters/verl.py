"""verl: Hydra YAML in the shape of `ppo_trainer.yaml`, or a launch script with `key.path=value` overrides of
`python3 -m verl.trainer.main_ppo`.

Versions: the repository moved from `volcengine/verl` to `verl-project/verl`. Defaults are those of
verl-project/verl main as of 2026-08-22 (= PyPI 0.9.1): `rollout.calculate_log_probs: true`, `rollout.mode:
async`, reward settings under `reward.*`. `--framework-version` 0.9.0 or a date before 2026-08-22 reads the file
with volcengine/verl main@2026-01-29's defaults (`calculate_log_probs: false`, top-level `reward_model.*`). A file
that uses keys only the new layout has (`reward.reward_model.*`, `policy_loss.loss_mode: dppo_*`, `gdpo`) is read
as the new version whatever was asked."""

from __future__ import annotations

from pathlib import Path

from training.lint.adapters import Mapped, _ragen
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source, note, steps_per_rollout
from training.lint.adapters._verl_copy import VerlCopy, find_copy
from training.lint.adapters._yaml import default_files, try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Change, Concepts, requested_version

NAME = "verl"
VERSION = "verl-project/verl main@2026-08-22 (0.9.1)"
OLD_VERSION = "volcengine/verl main@2026-01-29"
#: between the two snapshots: calculate_log_probs false → true, reward.* keys, async rollout mode by default
CHANGE_2026_08 = Change(date="2026-08-22", release="0.9.1")
#: PR #644 (2025-04-01, first released in 0.4.0): `algorithm.use_kl_in_reward` switches the reward's KL penalty;
#: before it the penalty ran whenever `actor.use_kl_loss` was off (the reference policy was always built)
CHANGE_KL_SWITCH = Change(date="2025-04-01", release="0.4.0")
SEARCH_R1_VERSION = "Search-R1's fork of verl 0.1 (PeterGriffinJin/Search-R1)"
PRIME_VERSION = "PRIME's fork of verl 0.1 (PRIME-RL/PRIME)"
_NEW_ONLY = ("reward.reward_model", "reward.custom_reward_function")
_NEW_LOSS_MODES = ("dppo_tv", "dppo_kl", "dro")

ENTRY_POINTS = (
    "verl.trainer.main_ppo",
    "main_ppo.py",
    "recipe.dapo.main_dapo",
    "verl.trainer.main_generation",
)
_A = "actor_rollout_ref.actor"
_R = "actor_rollout_ref.rollout"

_GRPO = {"grpo", "grpo_vectorized", "grpo_passk"}
_LOSS = {
    "token-mean": "token_mean",
    "seq-mean-token-sum": "seq_mean_token_sum",
    "seq-mean-token-mean": "seq_mean_token_mean",
    "seq-mean-token-sum-norm": "seq_mean_token_sum_norm",
}
_KL = {
    "kl": "k1",
    "k1": "k1",
    "mse": "k2",
    "k2": "k2",
    "low_var_kl": "k3",
    "k3": "k3",
    "abs": "abs",
    "full": "full",
}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ENTRY_POINTS):
        return 0.95
    raw = try_parse(text)
    if raw:
        keys = set(raw)
        if path and isinstance(raw.get("defaults"), list):  # a Hydra config whose keys come from its defaults
            for file in default_files(raw, Path(path)):
                keys |= set(try_parse(file.read_text(encoding="utf-8", errors="replace")) or ())
        if "actor_rollout_ref" in keys or {"es_manager", "agent_proxy"} & keys:  # RAGEN's own sections
            return 0.95
        if isinstance(raw.get("worker"), dict):
            return 0.0  # EasyR1's schema (`worker.actor`, `worker.rollout`): verl has no `worker` section
        alg = raw.get("algorithm")
        if isinstance(alg, dict) and ("adv_estimator" in alg or "norm_adv_by_std_in_grpo" in alg):
            return 0.8
        return 0.0
    return 0.6 if mentions(text, ("actor_rollout_ref.", "es_manager.train.", "agent_proxy.")) else 0.0


def source(text: str) -> Source:
    return yaml_or_script(text, ENTRY_POINTS, "python3 -m verl.trainer.main_ppo ...")


def resolve_version(src: Source, asked: str | None) -> tuple[str, bool, str]:
    """(label, new layout?, why) — the file's own keys win over the asked version."""
    told = next((k for k in _NEW_ONLY if src.has(k)), None)
    mode = (
        src.str_(f"{_A}.policy_loss.loss_mode", "vanilla") if src.has(f"{_A}.policy_loss.loss_mode") else None
    )
    if told is None and mode in _NEW_LOSS_MODES:
        told = f"{_A}.policy_loss.loss_mode: {mode}"
    if told is None and src.str_("algorithm.adv_estimator", "gae") == "gdpo":
        told = "algorithm.adv_estimator: gdpo"
    if told:
        return VERSION, True, f"inferred from `{told}`"
    if src.written(f"{_R}.n_agent"):  # no upstream verl has this key
        return SEARCH_R1_VERSION, False, f"inferred from `{_R}.n_agent`"
    if src.written("data.n_samples"):  # upstream verl's PPO config has none (main_generation's has)
        return PRIME_VERSION, False, "inferred from `data.n_samples`"
    if not asked:
        return VERSION, True, ""
    has = CHANGE_2026_08.applies(asked)
    if has is False:
        return OLD_VERSION, False, ""
    return asked, True, ""


def map_source(
    src: Source, version: str | None = None, reference: bool = True, kl_switch: bool = False
) -> Mapped:
    """`reference`: False when the verl copy the script runs never applies a reward KL; `kl_switch`: that copy
    already has `algorithm.use_kl_in_reward`, whatever its version file says (see `_vendored_version`)."""
    label, new, inferred = resolve_version(src, version)
    est_name = src.str_("algorithm.adv_estimator", "gae") or "gae"
    n = src.int_(f"{_R}.n", 1) or 1
    n_agent = _search_r1_copies(src)
    n *= n_agent
    prime = label == PRIME_VERSION
    if prime:
        n = _prime_samples(src)
    norm_std = src.bool_("algorithm.norm_adv_by_std_in_grpo", True)
    grpo = est_name in _GRPO or est_name == "gdpo"
    c = Concepts(framework=NAME, framework_version=label, std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    if grpo:
        c.estimator = "grpo" if norm_std else "drgrpo"
        c.group_norm_std = norm_std and n >= 2
        c.group_mean = n >= 2  # a singleton group gets mean 0, std 1: the raw score passes through
        if est_name == "gdpo":  # per-reward group z-scores, weighted sum, then a batch whitening (the design)
            c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name.startswith("rloo"):
        c.estimator, c.group_mean = "rloo", n >= 2  # a singleton group keeps its raw score: no baseline
        if (
            prime
        ):  # PRIME's compute_rloo_returns whitens the leave-one-out returns over the batch (masked_whiten)
            c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name == "reinforce_plus_plus":
        c.estimator = "reinforce_pp"
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name == "reinforce_plus_plus_baseline":
        c.estimator, c.group_mean = "reinforce_pp_baseline", True
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name == "gae":
        c.estimator = "gae"
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name in ("remax", "opo", "gpg"):
        c.estimator = est_name  # type: ignore[assignment]
        c.group_mean = est_name in ("opo", "gpg")
    else:
        c.estimator = "other"
    c.no_std_requested = not norm_std
    c.no_std_unused = not norm_std and not grpo
    mode = src.str_(f"{_A}.loss_agg_mode", "token-mean") or "token-mean"
    if mode not in _LOSS:
        raise src._bad(f"{_A}.loss_agg_mode", f"one of {', '.join(_LOSS)}")
    c.loss_agg = _LOSS[mode]  # type: ignore[assignment]
    c.length_norm_constant = src.int_(f"{_A}.loss_scale_factor", None)
    c.group_size = n
    c.temperature = src.float_(f"{_R}.temperature", 1.0) or 0.0
    c.greedy = not src.bool_(f"{_R}.do_sample", True)
    # the async agent loop (the default rollout mode) reads val_kwargs.temperature/top_p/top_k, never do_sample
    # RAGEN's copy of verl (mid-2025) defaults to sync, and its own validation reads val_kwargs.do_sample
    ragen = _ragen.is_ragen(src)
    async_mode = (src.str_(f"{_R}.mode", "async" if new and not ragen else "sync") or "") == "async"
    if async_mode:
        c.eval_greedy = src.float_(f"{_R}.val_kwargs.temperature", 0.0) == 0
    else:
        c.eval_greedy = not src.bool_(f"{_R}.val_kwargs.do_sample", False)
    c.eval_group_size = src.int_(f"{_R}.val_kwargs.n", 1)
    # KL: in the reward (algorithm.*) and/or in the loss (actor.*)
    c.kl_in_loss = src.bool_(f"{_A}.use_kl_loss", False)
    kl_by_loss = not kl_switch and _kl_follows_kl_loss(src, label, version)
    c.kl_in_reward = not c.kl_in_loss if kl_by_loss else src.bool_("algorithm.use_kl_in_reward", False)
    if kl_by_loss and not reference:  # apply_kl_penalty finds no reference log-probs: its penalty is zero
        c.kl_in_reward = False
    c.kl_reward_coef = src.float_("algorithm.kl_ctrl.kl_coef", 0.001) or 0.0
    c.kl_loss_coef = src.float_(f"{_A}.kl_loss_coef", 0.001) or 0.0
    kl_type = src.str_(f"{_A}.kl_loss_type", "low_var_kl") or "low_var_kl"
    plus = kl_type.endswith("+")
    c.kl_estimator = _KL.get(kl_type.rstrip("+"), kl_type) + ("+" if plus else "")
    c.use_ref = c.kl_in_reward or c.kl_in_loss
    clip = src.float_(f"{_A}.clip_ratio", 0.2)
    c.clip_low = src.float_(f"{_A}.clip_ratio_low", clip)
    c.clip_high = src.float_(f"{_A}.clip_ratio_high", clip)
    c.clip_dual = src.float_(f"{_A}.clip_ratio_c", 3.0)
    c.gamma = src.float_("algorithm.gamma", 1.0) or 0.0
    c.lam = src.float_("algorithm.lam", 1.0) or 0.0
    c.gamma_used_by_estimator = c.estimator in ("gae", "reinforce_pp")
    c.gamma_per_token = c.estimator == "reinforce_pp"
    c.entropy_coef = src.float_(f"{_A}.entropy_coeff", 0.0) or 0.0
    prompts = src.int_("data.train_batch_size", 1024)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * n if prompts else None
    c.positional_grouping = prime  # PRIME: consecutive blocks of n_samples; upstream: keyed by the prompt uid
    c.multi_turn = src.bool_(f"{_R}.multi_turn.enable", False)
    # without a reward model or a custom function, verl scores with its rule-based checkers (0/1 for gsm8k/math);
    # the Aug-2026 layout moved both under `reward.` (the top-level keys survive as legacy aliases)
    rm_key = next((k for k in ("reward.reward_model.enable", "reward_model.enable") if src.written(k)), None)
    fn_key = next(
        (k for k in ("reward.custom_reward_function.path", "custom_reward_function.path") if src.written(k)),
        None,
    )
    if prime:  # PRIME's implicit process reward counts only with a positive reward_model.rm_coef (default 0)
        rm_key = "reward_model.rm_coef"
        c.reward_kind = "continuous" if (src.float_(rm_key, 0.0) or 0.0) > 0 else "binary"
    elif rm_key and src.bool_(rm_key, False):
        c.reward_kind = "continuous"
    elif not fn_key:
        c.reward_kind = "binary"
    c.zero_variance_filter = src.bool_("algorithm.filter_groups.enable", False)

    o = c.origins
    for concept in ("estimator", "group_mean", "batch_whitening"):
        o[concept] = src.origin("algorithm.adv_estimator")
    for concept in ("group_norm_std", "no_std_requested"):
        o[concept] = src.origin("algorithm.norm_adv_by_std_in_grpo")
    o["loss_agg"] = src.origin(f"{_A}.loss_agg_mode")
    o["length_norm_constant"] = src.origin(f"{_A}.loss_scale_factor")
    group_key = f"{_R}.n_agent" if n_agent > 1 and not src.written(f"{_R}.n") else f"{_R}.n"
    o["group_size"] = src.origin("data.n_samples" if prime else group_key)
    o["temperature"] = src.origin(f"{_R}.temperature")
    o["greedy"] = src.origin(f"{_R}.do_sample")
    o["eval_greedy"] = src.origin(f"{_R}.val_kwargs.{'temperature' if async_mode else 'do_sample'}")
    if async_mode and src.written(f"{_R}.val_kwargs.do_sample"):
        key = f"{_R}.val_kwargs.do_sample"
        c.dead_keys.append(
            (key, "in async rollout mode the agent loop reads only val_kwargs.temperature/top_p/top_k")
        )
        o[f"dead:{key}"] = src.origin(key)
    o["eval_group_size"] = src.origin(f"{_R}.val_kwargs.n")
    o["kl_reward_coef"] = src.origin("algorithm.kl_ctrl.kl_coef")
    o["kl_loss_coef"] = src.origin(f"{_A}.kl_loss_coef")
    o["kl_estimator"] = src.origin(f"{_A}.kl_loss_type")
    o["use_ref"] = src.origin(f"{_A}.use_kl_loss")
    o["clip_low"] = src.origin(
        f"{_A}.clip_ratio_low" if src.written(f"{_A}.clip_ratio_low") else f"{_A}.clip_ratio"
    )
    o["clip_high"] = src.origin(
        f"{_A}.clip_ratio_high" if src.written(f"{_A}.clip_ratio_high") else f"{_A}.clip_ratio"
    )
    o["clip_dual"] = src.origin(f"{_A}.clip_ratio_c")
    o["gamma"] = src.origin("algorithm.gamma")
    o["entropy_coef"] = src.origin(f"{_A}.entropy_coeff")
    o["rollout_samples"] = src.origin("data.train_batch_size")
    o["reward_kind"] = src.origin(rm_key or ("reward.reward_model.enable" if new else "reward_model.enable"))
    o["std_eps"] = src.fixed("algorithm.adv_estimator", "group std epsilon (fixed at 1e-6 in verl)")
    if kl_by_loss and not reference:
        reward_kl_off = (
            "the repository's own copy of verl never applies the reward's KL penalty (no reference worker or no "
            "apply_kl_penalty call), so this coefficient is never used"
        )
    elif kl_by_loss:
        reward_kl_off = (
            f"`{_A}.use_kl_loss` is true, and before verl 0.4 that turns the reward's KL penalty off, so this "
            "coefficient is never used"
        )
    else:
        reward_kl_off = "`algorithm.use_kl_in_reward` is false, so this coefficient is never used"
    for key, why, on in (
        (
            f"{_A}.kl_loss_coef",
            f"`{_A}.use_kl_loss` is false, so this coefficient is never used",
            c.kl_in_loss,
        ),
        ("algorithm.kl_ctrl.kl_coef", reward_kl_off, c.kl_in_reward),
    ):
        if src.written(key) and not on and (src.float_(key, 0.0) or 0.0) > 0:
            c.dead_keys.append((key, why))
            o[f"dead:{key}"] = src.origin(key)
    _map_2026(src, c, new, label, inferred)
    if ragen:
        _ragen.apply(src, c)
    if src.bool_("distillation.enabled", False) and not src.bool_(
        "distillation.distillation_loss.use_task_rewards", True
    ):
        # on-policy distillation without task rewards: the policy loss is zeroed (verl/trainer/distillation/
        # losses.py), only the distillation loss trains, so no group statistic is ever used
        c.policy_gradient = False
        c.estimator, c.group_mean, c.group_norm_std = "other", False, False
        c.batch_whitening = BatchWhitening()
        c.origins["estimator"] = src.origin("distillation.distillation_loss.use_task_rewards")
    return Mapped(concepts=c)


def _kl_follows_kl_loss(src: Source, label: str, asked: str | None) -> bool:
    """verl before 0.4 (asked with `--framework-version 0.3.1` or a date before 2025-04-01, or the Search-R1 fork):
    the reward's KL penalty runs exactly when the KL loss does not. A file that sets `use_kl_in_reward` is newer."""
    if src.written("algorithm.use_kl_in_reward"):
        return False
    if label in (SEARCH_R1_VERSION, PRIME_VERSION):
        return True
    return bool(asked) and CHANGE_KL_SWITCH.applies(asked or "") is False


def _prime_samples(src: Source) -> int:
    """PRIME's fork of verl repeats each prompt `data.n_samples` times and computes its RLOO baseline over each
    consecutive block of n_samples (training/verl/trainer/ppo/core_algos.py `compute_rloo_returns` of PRIME-RL/PRIME):
    the group is data.n_samples; the fork's rollout samples once per copy."""
    note(
        f"`data.n_samples` is a key of {PRIME_VERSION}, not of verl's PPO trainer: read as that fork, where a group "
        "is data.n_samples and RLOO's returns are whitened over the batch"
    )
    return max(src.int_("data.n_samples", 1) or 1, 1)


def _search_r1_copies(src: Source) -> int:
    """Search-R1's fork of verl (and the search-agent repos built on it) repeats each prompt
    `actor_rollout_ref.rollout.n_agent` times; with its `do_search` on (the fork's default) the copies keep the
    prompt's dataset index as their uid, so GRPO's group is n_agent × rollout.n (verl/trainer/ppo/ray_trainer.py of
    PeterGriffinJin/Search-R1). Upstream verl has no such key (Hydra would refuse it), so a file that sets it is
    for that fork. With `do_search=false` every copy gets its own uid: groups stay rollout.n."""
    key = f"{_R}.n_agent"
    if not src.written(key) or not src.bool_("do_search", True):
        return 1
    copies = max(src.int_(key, 1) or 1, 1)
    if copies > 1:
        note(
            f"`{key}` is a key of {SEARCH_R1_VERSION}, not of verl: read as that fork, where a GRPO group is n_agent × n"
        )
    return copies


def _map_2026(src: Source, c: Concepts, new: bool, label: str, inferred: str) -> None:
    """Policy-loss mode, rollout correction, sampling filters, steps per batch, version notes."""
    o = c.origins
    mode_key = f"{_A}.policy_loss.loss_mode"
    mode = src.str_(mode_key, "vanilla") or "vanilla"
    o["policy_loss"] = o["ratio_level"] = src.origin(mode_key)
    clip_keys = [
        k for k in (f"{_A}.clip_ratio", f"{_A}.clip_ratio_low", f"{_A}.clip_ratio_high") if src.written(k)
    ]
    if mode == "gspo":
        c.policy_loss, c.ratio_level = "gspo", "sequence"
    elif mode == "cispo":
        # the clip ratios are offsets of a detached IS-weight clamp here, not a PPO clip
        c.policy_loss = "cispo"
        c.is_weight_bounds = (1 - (c.clip_low or 0.0), 1 + (c.clip_high or 0.0))
        o["is_weight_bounds"] = o["clip_high"]
        c.clip_low = c.clip_high = None
    elif mode == "sapo":
        c.policy_loss = "sapo"
        c.clip_low = c.clip_high = None
        for key in clip_keys:
            c.dead_keys.append(
                (key, "`policy_loss.loss_mode: sapo` gates with `tau_pos`/`tau_neg`, not a clip")
            )
            o[f"dead:{key}"] = src.origin(key)
    elif mode != "vanilla":
        c.policy_loss = "other"
    rc = "algorithm.rollout_correction"
    rollout_is = src.raw(f"{rc}.rollout_is", None)
    rollout_rs = src.raw(f"{rc}.rollout_rs", None)
    c.sampler_is_correction = rollout_is is not None or rollout_rs is not None
    o["sampler_is_correction"] = src.origin(
        f"{rc}.rollout_is" if rollout_is is not None else f"{rc}.rollout_rs"
    )
    c.rejection_sampling = rollout_rs is not None
    c.rejection_keeps_baseline = True  # verl PR #6452 (exclude rejected rows from the baseline) is still open
    o["rejection_sampling"] = src.origin(f"{rc}.rollout_rs")
    if src.bool_(f"{rc}.bypass_mode", False) and (src.str_(f"{rc}.loss_type", "ppo_clip") == "reinforce"):
        for key in clip_keys:
            c.dead_keys.append((key, f"`{rc}.bypass_mode` with `loss_type: reinforce` drops the PPO clip"))
            o[f"dead:{key}"] = src.origin(key)
    filters = []
    top_p = src.float_(f"{_R}.top_p", 1.0)
    if top_p is not None and top_p < 1:
        filters.append((src.origin(f"{_R}.top_p").key, f"{top_p:g}"))
    top_k = src.int_(f"{_R}.top_k", -1)
    if top_k is not None and top_k > 0:
        filters.append((src.origin(f"{_R}.top_k").key, f"{top_k}"))
    c.sampling_filters = filters
    o["sampling_filters"] = src.origin(f"{_R}.top_p" if src.written(f"{_R}.top_p") else f"{_R}.top_k")
    # optimizer steps per rollout: both batch sizes count prompts (ppo_mini_batch_size is multiplied by n inside)
    steps_per_rollout(
        src,
        c,
        ("data.train_batch_size", 1024, "data.train_batch_size"),
        (f"{_A}.ppo_mini_batch_size", 256, "ppo_mini_batch_size"),
        (f"{_A}.ppo_epochs", "ppo_epochs"),
    )
    inert = []
    if mode == "cispo":
        inert.append("the CISPO bounds")
    elif c.clip_high is not None and c.clip_low is not None and c.clip_high != c.clip_low:
        inert.append("the asymmetric clip (`clip_ratio_high` ≠ `clip_ratio_low`)")
    if src.written(f"{_A}.clip_ratio_c"):
        inert.append("the dual clip (`clip_ratio_c`)")
    c.off_policy_only_settings = inert
    c.max_completion_tokens = src.int_("data.max_response_length", 512)
    o["max_completion_tokens"] = src.origin("data.max_response_length")
    # version notes
    log_probs_key = f"{_R}.calculate_log_probs"
    if c.sampler_is_correction and not src.written(log_probs_key):
        have = (
            "true: the correction gets the rollout's log-probs" if new else "false: the correction has none"
        )
        c.version_notes.append(
            (
                log_probs_key,
                f"the rollout correction needs the rollout's log-probs; this key defaulted to false in {OLD_VERSION} "
                f"and is true since verl-project/verl 0.9.1. Linted as {label}: {have}.",
            )
        )
        o[f"version:{log_probs_key}"] = src.origin(log_probs_key)
    if inferred:
        c.framework_version = f"{label}, {inferred}"


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    asked = version or requested_version()
    copy = None if asked else _older_copy()
    if copy is None:
        return map_source(source(text), asked)
    return map_source(source(text), copy.version, reference=copy.reward_kl, kl_switch=copy.kl_switch)


def _older_copy() -> VerlCopy | None:
    """The repository's own copy of verl (_verl_copy), when it predates a change this adapter models: the script
    runs that copy, not today's verl, and a note says where the version came from. `--framework-version` wins."""
    copy = find_copy()
    if copy is None:
        return None
    if (
        CHANGE_KL_SWITCH.applies(copy.version) is not False
        and CHANGE_2026_08.applies(copy.version) is not False
    ):
        return None  # a current copy: today's defaults are its defaults
    said = f"verl {copy.version}: the version of this repository's own copy of verl ({copy.version_file}); --framework-version overrides it"
    if copy.kl_switch:
        said += "; that copy already has `algorithm.use_kl_in_reward`: its KL placement is read as 0.4's"
    elif not copy.reward_kl:
        said += "; that copy never applies a KL penalty to the reward (no reference worker or no call)"
    note(said)
    return copy
