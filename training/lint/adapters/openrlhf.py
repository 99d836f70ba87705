"""OpenRLHF: a launch script of `python -m openrlhf.cli.train_ppo_ray` (usually after `ray job submit ... --`), or
of the single-process `openrlhf.cli.train_ppo` that older releases and their forks still run (`deepspeed --module
openrlhf.cli.train_ppo`, R1-Searcher): the same flags, read the same way.

Both spellings are accepted: the dotted hierarchy (`--algo.advantage.estimator`, since 2026-04-19) and the flat
flags before it (`--advantage_estimator`). Defaults are those of OpenRLHF main as of 2026-08-13.

Two orders of operations matter: the reward is z-scored (group estimators) and only then clipped to
`--reward.clip_range` and given the per-token KL penalty (`compute_reward`), so the KL is not divided by the group
std (GL018 says so), and the clip acts on z-scores for group estimators but on raw rewards for gae/reinforce.
"""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import find_command, flag_source, mentions, tokenize
from training.lint.adapters._source import Source, unreadable
from training.lint.concepts import BatchWhitening, Concepts, RewardNorm, requested_version

NAME = "openrlhf"
VERSION = "main@2026-08-13"


def label(version: str | None) -> str:
    """The version named in messages: only one version is modelled, so an asked one is shown beside it."""
    return f"{VERSION} (asked: {version}; no version differences modelled)" if version else VERSION


ENTRY_POINTS = ("openrlhf.cli.train_ppo_ray", "train_ppo_ray.py", "openrlhf.cli.train_ppo")

# flat (old) spelling -> dotted (new) spelling; the dotted one is canonical here
_FLAT = {
    "advantage_estimator": "algo.advantage.estimator",
    "no_advantage_std_norm": "algo.advantage.no_std_norm",
    "gamma": "algo.advantage.gamma",
    "lambd": "algo.advantage.lambd",
    "normalize_reward": "reward.normalize_enable",
    "remote_rm_url": "reward.remote_url",
    "reward_pretrain": "reward.pretrain",
    "reward_clip_range": "reward.clip_range",
    "init_kl_coef": "algo.kl.init_coef",
    "kl_target": "algo.kl.target",
    "use_kl_loss": "algo.kl.use_loss",
    "kl_estimator": "algo.kl.estimator",
    "n_samples_per_prompt": "rollout.n_samples_per_prompt",
    "temperature": "rollout.temperature",
    "top_p": "rollout.top_p",
    "eps_clip": "actor.eps_clip",
    "eps_clip_low_high": "actor.eps_clip_low_high",
    "dual_clip": "actor.dual_clip",
    "policy_loss_type": "actor.policy_loss_type",
    "entropy_loss_coef": "actor.entropy_coef",
    "rollout_batch_size": "rollout.batch_size",
    "micro_rollout_batch_size": "rollout.micro_batch_size",
    "train_batch_size": "train.batch_size",
    "micro_train_batch_size": "train.micro_batch_size",
    "max_epochs": "train.max_epochs",
    "dynamic_filtering": "algo.dynamic_filtering_enable",
    "agent_func_path": "rollout.agent_func_path",
}
_DOTTED = {v: k for k, v in _FLAT.items()}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ENTRY_POINTS):
        return 0.95
    return 0.5 if mentions(text, ("--advantage_estimator", "--algo.advantage.estimator")) else 0.0


def source(text: str) -> Source:
    statements = tokenize(text)
    cmd = find_command(statements, ENTRY_POINTS)
    if cmd is None:
        raise unreadable("no `python -m openrlhf.cli.train_ppo_ray ...` command found in this script")
    src = flag_source(cmd, canonical=_FLAT)
    flat = sum(e.key.lstrip("-").replace("-", "_") in _FLAT for e in src.entries.values())
    dotted = sum(e.key.lstrip("-") in _DOTTED for e in src.entries.values())
    # show a default's flag in the spelling this script uses
    src.display = (lambda n: "--" + _DOTTED.get(n, n)) if flat > dotted else (lambda n: "--" + n)
    return src


def map_source(src: Source, version: str | None = None) -> Mapped:
    est = src.str_("algo.advantage.estimator", "gae") or "gae"
    n = src.int_("rollout.n_samples_per_prompt", 1) or 1
    no_std = src.bool_("algo.advantage.no_std_norm", False)
    c = Concepts(framework=NAME, framework_version=label(version), std_eps=1e-9, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    whitened = est in ("gae", "reinforce", "reinforce_baseline")
    if est == "group_norm":
        c.estimator, c.group_mean, c.group_norm_std = "grpo", True, True
    elif est == "dr_grpo":
        c.estimator, c.group_mean = "drgrpo", True
    elif est == "rloo":
        c.estimator, c.group_mean = "rloo", True
    elif est == "reinforce_baseline":
        c.estimator, c.group_mean = "reinforce_pp_baseline", True
    elif est == "reinforce":
        c.estimator = "reinforce_pp"
    elif est == "gae":
        c.estimator = "gae"
    else:
        c.estimator = "other"
    if whitened:  # the estimator's own whitening; `no_std_norm` removes its std (and only that)
        c.batch_whitening = BatchWhitening(mean=True, std=not no_std, scope="tokens", intrinsic=True)
    c.no_std_requested = no_std
    c.no_std_unused = no_std and est in ("dr_grpo", "rloo")
    c.loss_agg = (
        "seq_mean_token_mean" if src.str_("actor.policy_loss_type", "ppo") == "gspo" else "token_mean"
    )
    c.length_norm_available = False
    c.group_size = n
    c.temperature = src.float_("rollout.temperature", 1.0) or 0.0
    coef = src.float_("algo.kl.init_coef", 0.01) or 0.0
    in_loss = src.bool_("algo.kl.use_loss", False)
    c.kl_in_loss, c.kl_loss_coef = in_loss and coef > 0, coef if in_loss else 0.0
    c.kl_in_reward, c.kl_reward_coef = (not in_loss) and coef > 0, 0.0 if in_loss else coef
    c.kl_estimator = src.str_("algo.kl.estimator", "k1") or "k1"
    c.use_ref = coef > 0
    clip = src.float_("actor.eps_clip", 0.2)
    c.clip_low = c.clip_high = clip
    pair = src.raw("actor.eps_clip_low_high")
    if pair is not None:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, (int, float)) for x in pair)):
            raise src._bad("actor.eps_clip_low_high", "two numbers (low high)")
        c.clip_low, c.clip_high = float(pair[0]), float(pair[1])
    c.clip_dual = src.float_("actor.dual_clip", None)
    c.gamma = src.float_("algo.advantage.gamma", 1.0) or 0.0
    c.lam = src.float_("algo.advantage.lambd", 1.0) or 0.0
    # gamma is reset to 1.0 (with a log line) for the group estimators
    c.gamma_used_by_estimator = est in ("gae", "reinforce")
    c.gamma_per_token = est == "reinforce"
    c.entropy_coef = src.float_("actor.entropy_coef", None) or 0.0
    prompts = src.int_("rollout.batch_size", 1024)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * n if prompts else None
    c.positional_grouping = True
    c.zero_variance_filter = src.bool_("algo.dynamic_filtering_enable", False)
    remote = src.written("reward.remote_url") or src.written("rollout.agent_func_path")
    if src.bool_("reward.normalize_enable", False):
        if remote:
            what = "reward.remote_url" if src.written("reward.remote_url") else "rollout.agent_func_path"
            c.dead_keys.append(
                (
                    src.origin("reward.normalize_enable").key,
                    f"it applies the statistics stored in a local reward model's config, and rewards come from "
                    f"{src.origin(what).key}",
                )
            )
            c.origins[f"dead:{c.dead_keys[-1][0]}"] = src.origin("reward.normalize_enable")
        else:
            c.reward_norm = RewardNorm(mean="static", std="static")
    c.reward_kind = "continuous" if src.written("reward.pretrain") and not remote else "unknown"

    o = c.origins
    for concept in ("estimator", "group_mean", "group_norm_std"):
        o[concept] = src.origin("algo.advantage.estimator")
    o["batch_whitening"] = src.origin("algo.advantage.estimator")
    o["no_std_requested"] = src.origin("algo.advantage.no_std_norm")
    o["loss_agg"] = src.origin("actor.policy_loss_type")
    o["group_size"] = src.origin("rollout.n_samples_per_prompt")
    o["temperature"] = src.origin("rollout.temperature")
    for concept in ("kl_loss_coef", "kl_reward_coef", "use_ref"):
        o[concept] = src.origin("algo.kl.init_coef")
    o["kl_estimator"] = src.origin("algo.kl.estimator")
    pair_key = "actor.eps_clip_low_high" if src.written("actor.eps_clip_low_high") else "actor.eps_clip"
    o["clip_low"] = o["clip_high"] = src.origin(pair_key)
    o["clip_dual"] = src.origin("actor.dual_clip")
    o["gamma"] = src.origin("algo.advantage.gamma")
    o["entropy_coef"] = src.origin("actor.entropy_coef")
    o["rollout_samples"] = src.origin("rollout.batch_size")
    o["reward_kind"] = src.origin("reward.pretrain")
    o["std_eps"] = src.fixed("algo.advantage.estimator", "group std epsilon (fixed at 1e-9 in OpenRLHF)")
    _map_2026(src, c, est)
    return Mapped(concepts=c)


def _map_2026(src: Source, c: Concepts, est: str) -> None:
    """KL placement, GSPO, IS correction, async training, reward clip, steps per rollout."""
    o = c.origins
    c.kl_after_norm = True  # compute_reward adds the per-token KL to the already normalized reward
    if src.str_("actor.policy_loss_type", "ppo") == "gspo":
        c.policy_loss, c.ratio_level = "gspo", "sequence"
    o["policy_loss"] = o["ratio_level"] = src.origin("actor.policy_loss_type")
    c.sampler_is_correction = src.bool_("algo.advantage.is_correction_enable", False)
    o["sampler_is_correction"] = src.origin("algo.advantage.is_correction_enable")
    top_p = src.float_("rollout.top_p", 1.0)
    c.sampling_filters = (
        [(src.origin("rollout.top_p").key, f"{top_p:g}")] if top_p is not None and top_p < 1 else []
    )
    o["sampling_filters"] = src.origin("rollout.top_p")
    for key, what in (
        ("train.partial_rollout_enable", "partial rollouts"),
        ("train.async_enable", "async training"),
    ):
        if src.bool_(key, False):
            c.off_policy = f"{src.origin(key).key}: {what}"
            c.off_policy_corrected = c.sampler_is_correction
            o["off_policy"] = src.origin(key)
            break
    pair = src.raw("reward.clip_range")
    group_stage = est in ("group_norm", "dr_grpo", "rloo", "reinforce_baseline")
    if pair is not None or c.reward_kind == "continuous":
        bound = 10.0
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, (int, float)) for x in pair):
            bound = min(abs(float(pair[0])), abs(float(pair[1])))
        elif pair is not None:
            raise src._bad("reward.clip_range", "two numbers (low high)")
        c.reward_clip = bound
        c.reward_clip_stage = "after_norm" if group_stage else "raw"
        o["reward_clip"] = src.origin("reward.clip_range")
    # None = max_len − prompt length, per sample: only a written budget is checked
    c.max_completion_tokens = src.int_("rollout.max_new_tokens", None)
    o["max_completion_tokens"] = src.origin("rollout.max_new_tokens")
    n = c.group_size
    prompts, train = src.int_("rollout.batch_size", 1024), src.int_("train.batch_size", 128)
    epochs = src.int_("train.max_epochs", 1) or 1
    if prompts and train and prompts > 0 and train > 0:
        c.updates_per_rollout = prompts * n / train * epochs
        c.updates_formula = (
            f"{src.origin('rollout.batch_size').key} {prompts} × n_samples_per_prompt {n} / "
            f"{src.origin('train.batch_size').key} {train} × max_epochs {epochs}"
        )
        o["updates_per_rollout"] = src.origin("train.batch_size")
    inert = []
    if c.clip_low != c.clip_high:
        inert.append("the asymmetric clip (`eps_clip_low_high`)")
    if c.clip_dual is not None:
        inert.append("the dual clip")
    c.off_policy_only_settings = inert


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    return map_source(source(text), version or requested_version())
