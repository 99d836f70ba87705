"""SkyRL: its config tree as YAML (`trainer`, `generator`, `data`, `environment`), or a launch script with
Hydra-style overrides of `-m skyrl_train.entrypoints.main_base` (`trainer.algorithm.advantage_estimator=grpo`).
Defaults are those of SkyRL main as of 2026-08-21 (note `use_kl_loss: true`, `n_samples_per_prompt: 5`).

Versions: `loss_reduction: token_mean` was a mean of micro-batch token means before 2026-03-31 (PR #1296) and is a
mini-batch token mean since (the old behaviour is `token_mean_legacy`, so a file naming it is read as the new
version); the CISPO bounds `cispo_eps_clip_low/high` are offsets from 1 since PR #1928 (2026-07).
`--framework-version 2026-03-01` (any date) reads the file with the behaviour of that date."""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source, steps_per_rollout
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Change, Concepts, requested_version

NAME = "skyrl"
VERSION = "main@2026-08-21"
TOKEN_MEAN_GLOBAL = Change(date="2026-03-31")  # PR #1296
CISPO_OFFSETS = Change(date="2026-07-01")  # PR #1928 (merged in July 2026; the day is approximate)

ENTRY_POINTS = (
    "skyrl_train.entrypoints.main_base",
    "skyrl.train.entrypoints.main_base",
    "main_base.py",
    "main_base",
)
_T = "trainer.algorithm"
_S = "generator.sampling_params"
_LOSS = {
    "token_mean": "token_mean",
    "token_mean_legacy": "token_mean_local",  # a mean of micro-batch means (GL023)
    "prompt_mean": "token_mean",
    "sequence_mean": "seq_mean_token_mean",
    "seq_mean_token_sum_norm": "seq_mean_token_sum_norm",
}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ("skyrl_train", "skyrl.train")):
        return 0.95
    raw = try_parse(text)
    if raw:
        t = raw.get("trainer")
        if isinstance(t, dict) and "generator" in raw and isinstance(t.get("algorithm"), dict):
            return 0.9
        return 0.0
    return 0.6 if "trainer.algorithm." in text and "generator." in text else 0.0


def resolve_version(src: Source, asked: str | None) -> tuple[str, str]:
    """(label, date) of the behaviour to model; `token_mean_legacy` in the file implies 2026-03-31 or later."""
    legacy = src.str_(f"{_T}.loss_reduction", "token_mean") == "token_mean_legacy"
    if asked and TOKEN_MEAN_GLOBAL.applies(asked) is False and legacy:
        return (
            f"{VERSION} (inferred from `token_mean_legacy`, which only exists since 2026-03-31)",
            "2026-08-21",
        )
    if asked:
        date = asked if TOKEN_MEAN_GLOBAL.applies(asked) is not None else "2026-08-21"
        return asked, date
    return VERSION, "2026-08-21"


def map_source(src: Source, version: str | None = None) -> Mapped:
    label, date = resolve_version(src, version)
    global_mean = bool(TOKEN_MEAN_GLOBAL.applies(date))
    est = src.str_(f"{_T}.advantage_estimator", "grpo") or "grpo"
    by_std = src.bool_(f"{_T}.grpo_norm_by_std", True)
    extra = src.bool_(f"{_T}.advantage_batch_normalize", False)
    n = src.int_("generator.n_samples_per_prompt", 5) or 0
    c = Concepts(framework=NAME, framework_version=label, std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    if est == "grpo":
        c.estimator = "grpo" if by_std else "drgrpo"
        c.group_mean, c.group_norm_std = n >= 2, by_std and n >= 2  # a singleton group: mean 0, std 1
    elif est == "rloo":
        c.estimator, c.group_mean = "rloo", True
    elif est == "reinforce++":
        c.estimator = "reinforce_pp"
    elif est == "gae":
        c.estimator = "gae"
    else:
        c.estimator = "other"
    c.no_std_requested = not by_std
    c.no_std_unused = not by_std and est != "grpo"
    intrinsic = est == "reinforce++"
    if intrinsic or extra:
        c.batch_whitening = BatchWhitening(
            mean=True, std=True, scope="tokens", intrinsic=intrinsic, extra=intrinsic and extra
        )
    red = src.str_(f"{_T}.loss_reduction", "token_mean") or "token_mean"
    if red not in _LOSS:
        raise src._bad(f"{_T}.loss_reduction", f"one of {', '.join(_LOSS)}")
    c.loss_agg = _LOSS[red]  # type: ignore[assignment]
    if red == "token_mean" and not global_mean:
        c.loss_agg = "token_mean_local"  # before PR #1296: a mean of micro-batch means
    c.length_norm_constant = src.int_(f"{_T}.max_seq_len", None)
    c.group_size = n
    c.temperature = src.float_(f"{_S}.temperature", 1.0) or 0.0
    c.logprob_temperature = src.float_(f"{_T}.temperature", None)
    c.eval_group_size = src.int_("generator.eval_n_samples_per_prompt", 1)
    c.eval_greedy = src.float_("generator.eval_sampling_params.temperature", 1.0) == 0
    in_reward = src.bool_(f"{_T}.use_kl_in_reward", False)
    in_loss = src.bool_(f"{_T}.use_kl_loss", True)
    coef = src.float_(f"{_T}.kl_loss_coef", 0.001) or 0.0
    c.kl_in_loss, c.kl_loss_coef = in_loss, coef if in_loss else 0.0
    c.kl_in_reward, c.kl_reward_coef = in_reward, coef if in_reward else 0.0  # starts from kl_loss_coef
    c.kl_estimator = src.str_(f"{_T}.kl_estimator_type", "k3") or "k3"
    c.use_ref = in_loss or in_reward
    c.clip_low = src.float_(f"{_T}.eps_clip_low", 0.2)
    c.clip_high = src.float_(f"{_T}.eps_clip_high", 0.2)
    c.clip_dual = src.float_(f"{_T}.clip_ratio_c", 3.0)
    c.gamma = src.float_(f"{_T}.gamma", 1.0) or 0.0
    c.lam = src.float_(f"{_T}.lambd", 1.0) or 0.0
    c.gamma_used_by_estimator = est in ("gae", "reinforce++")
    c.gamma_per_token = est == "reinforce++"
    c.entropy_enabled = src.bool_(f"{_T}.use_entropy_loss", False)
    c.entropy_coef = (src.float_(f"{_T}.entropy_loss_coef", 0.01) or 0.0) if c.entropy_enabled else 0.0
    c.zero_variance_filter = src.bool_(f"{_T}.zero_variance_filter", False)
    prompts = src.int_("trainer.train_batch_size", 1024)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * n if prompts else None
    c.positional_grouping = False  # groups are keyed by prompt uid
    o = c.origins
    for concept in ("estimator", "group_mean"):
        o[concept] = src.origin(f"{_T}.advantage_estimator")
    for concept in ("group_norm_std", "no_std_requested"):
        o[concept] = src.origin(f"{_T}.grpo_norm_by_std")
    o["batch_whitening"] = src.origin(
        f"{_T}.advantage_batch_normalize" if extra or not intrinsic else f"{_T}.advantage_estimator"
    )
    o["loss_agg"] = src.origin(f"{_T}.loss_reduction")
    o["length_norm_constant"] = src.origin(f"{_T}.max_seq_len")
    o["group_size"] = src.origin("generator.n_samples_per_prompt")
    o["temperature"] = src.origin(f"{_S}.temperature")
    o["logprob_temperature"] = src.origin(f"{_T}.temperature")
    o["eval_group_size"] = src.origin("generator.eval_n_samples_per_prompt")
    o["eval_greedy"] = src.origin("generator.eval_sampling_params.temperature")
    o["kl_loss_coef"] = o["kl_reward_coef"] = src.origin(f"{_T}.kl_loss_coef")
    o["use_ref"] = src.origin(f"{_T}.use_kl_loss")
    o["kl_estimator"] = src.origin(f"{_T}.kl_estimator_type")
    o["clip_low"] = src.origin(f"{_T}.eps_clip_low")
    o["clip_high"] = src.origin(f"{_T}.eps_clip_high")
    o["clip_dual"] = src.origin(f"{_T}.clip_ratio_c")
    o["gamma"] = src.origin(f"{_T}.gamma")
    o["std_eps"] = src.fixed(f"{_T}.advantage_estimator", "group std epsilon (fixed at 1e-6 in SkyRL)")
    o["rollout_samples"] = src.origin("trainer.train_batch_size")
    key = f"{_T}.entropy_loss_coef"
    if src.written(key) and not c.entropy_enabled:
        c.dead_keys.append((key, f"`{_T}.use_entropy_loss` is false"))
        o[f"dead:{key}"] = src.origin(key)
    _map_2026(src, c, date, red)
    return Mapped(concepts=c)


def _map_2026(src: Source, c: Concepts, date: str, reduction: str) -> None:
    """Policy loss, off-policy correction, fully-async, sampling filters, steps per batch, version notes."""
    o = c.origins
    loss_key = f"{_T}.policy_loss_type"
    loss = src.str_(loss_key, "regular") or "regular"
    o["policy_loss"] = o["ratio_level"] = src.origin(loss_key)
    clip_keys = [k for k in (f"{_T}.eps_clip_low", f"{_T}.eps_clip_high") if src.written(k)]
    cispo = f"{_T}.cispo"
    anchor = src.str_(f"{cispo}.cispo_anchor", "old") or "old"
    if loss == "gspo":
        c.policy_loss, c.ratio_level = "gspo", "sequence"
    elif loss == "cispo":
        c.policy_loss = "cispo"
        low = src.float_(f"{cispo}.cispo_eps_clip_low", 1.0) or 0.0
        high = src.float_(f"{cispo}.cispo_eps_clip_high", 4.0) or 0.0
        offsets = CISPO_OFFSETS.applies(date) is not False
        c.is_weight_bounds = (1 - low, 1 + high) if offsets else (low, high)
        o["is_weight_bounds"] = src.origin(f"{cispo}.cispo_eps_clip_high")
        c.clip_low = c.clip_high = None
        written = [
            k for k in (f"{cispo}.cispo_eps_clip_low", f"{cispo}.cispo_eps_clip_high") if src.written(k)
        ]
        if written:
            c.version_notes.append(
                (
                    written[0],
                    "SkyRL's CISPO bounds changed twice: 0.2/0.2 until PR #553 (2025-10), then [0, 5]; since PR "
                    "#1928 (2026-07) the two keys are offsets, bounds [1 − low, 1 + high] (defaults 1.0 / 4.0). "
                    f"Read here as {'offsets' if offsets else 'the bounds themselves'}: "
                    f"[{c.is_weight_bounds[0]:g}, {c.is_weight_bounds[1]:g}].",
                )
            )
            o[f"version:{written[0]}"] = src.origin(written[0])
    elif loss == "sapo":
        c.policy_loss = "sapo"
        c.clip_low = c.clip_high = None
        for key in clip_keys:
            c.dead_keys.append((key, f"`{loss_key}: sapo` gates with `sapo.*` temperatures, not a clip"))
            o[f"dead:{key}"] = src.origin(key)
    elif loss not in ("regular", "dual_clip"):
        c.policy_loss = "other"
    opc = f"{_T}.off_policy_correction"
    tis = src.str_(f"{opc}.tis_ratio_type", None)
    masks = [
        k
        for k in (
            "sequence_mask_metric",
            "outlier_token_is_threshold_low",
            "outlier_token_is_threshold_high",
            "token_mask_is_threshold_low",
            "token_mask_is_threshold_high",
        )
        if src.raw(f"{opc}.{k}") is not None
    ]
    legacy_tis = src.bool_(f"{_T}.use_tis", False)
    uses_rollout_logprobs = loss in ("rollout_is", "dppo") or (loss == "cispo" and anchor == "rollout")
    c.sampler_is_correction = bool(tis or masks or legacy_tis or uses_rollout_logprobs)
    corr_key = (
        f"{opc}.tis_ratio_type"
        if tis
        else f"{opc}.{masks[0]}"
        if masks
        else f"{_T}.use_tis"
        if legacy_tis
        else loss_key
    )
    o["sampler_is_correction"] = src.origin(corr_key)
    sp = "generator.sampling_params"
    filters = []
    for key, neutral in (("top_p", 1.0), ("top_k", -1), ("min_p", 0.0), ("repetition_penalty", 1.0)):
        v = src.float_(f"{sp}.{key}", neutral)
        if v is not None and v != neutral and not (key == "top_k" and v <= 0):
            filters.append((src.origin(f"{sp}.{key}").key, f"{v:g}"))
    c.sampling_filters = filters
    o["sampling_filters"] = src.origin(f"{sp}.top_p")
    fully_async = src.bool_("trainer.fully_async.enabled", False)
    if fully_async:
        staleness = src.int_("trainer.fully_async.max_staleness_steps", 4)
        c.off_policy = f"trainer.fully_async.enabled, up to {staleness} steps stale"
        o["off_policy"] = src.origin("trainer.fully_async.enabled")
        c.off_policy_corrected = c.sampler_is_correction
        c.updates_per_rollout = 1.0  # fully async takes one optimizer step per batch (asserted)
        c.updates_formula = "trainer.fully_async.enabled: one step per batch"
        o["updates_per_rollout"] = src.origin("trainer.fully_async.enabled")
    else:
        steps_per_rollout(
            src,
            c,
            ("trainer.train_batch_size", 1024, "trainer.train_batch_size"),
            ("trainer.policy_mini_batch_size", 256, "policy_mini_batch_size"),
            ("trainer.update_epochs_per_batch", "update_epochs_per_batch"),
        )
    inert = []
    if loss == "cispo" and anchor == "old":
        inert.append("the CISPO bounds (`cispo_anchor: old`)")
    elif loss in ("regular", "dual_clip", "gspo") and c.clip_low != c.clip_high:
        inert.append("the asymmetric clip (`eps_clip_high` ≠ `eps_clip_low`)")
    if loss == "dual_clip":
        inert.append("the dual clip (`clip_ratio_c`)")
    c.off_policy_only_settings = inert
    c.max_completion_tokens = src.int_(f"{sp}.max_generate_length", 1024)
    o["max_completion_tokens"] = src.origin(f"{sp}.max_generate_length")
    c.truncation_masked = src.bool_("generator.apply_overlong_filtering", False)
    key = f"{_T}.loss_reduction"
    if reduction == "token_mean" and src.written(key):
        now = (
            "a mini-batch token mean"
            if TOKEN_MEAN_GLOBAL.applies(date)
            else "a mean of micro-batch token means"
        )
        c.version_notes.append(
            (
                key,
                "`token_mean` was a mean of micro-batch token means (the loss changed with the micro-batch size) "
                "until SkyRL PR #1296 (2026-03-31) and is a mini-batch token mean since; the old behaviour is "
                f"`token_mean_legacy`. Linted as {c.framework_version}: {now}.",
            )
        )
        o[f"version:{key}"] = src.origin(key)


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    src = yaml_or_script(text, ENTRY_POINTS, "-m skyrl_train.entrypoints.main_base ...")
    return map_source(src, version or requested_version())
