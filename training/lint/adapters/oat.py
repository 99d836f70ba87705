"""OAT: a command line of OAT's tyro CLI (`python -m oat.experiment.main --critic_type grpo ...`).

Flags are `--field value`; booleans are `--flag` / `--no-flag` (`-` and `_` spellings alike). Defaults are
those of `oat/args.py` as of 2025-10-31 (`critic_type: drgrpo`, `beta: 0.1`, `num_samples: 2`). gem's
`train_oat_grpo.py` extends these arguments (see `gem.py`).

Units: `--rollout_batch_size(_per_device)` counts prompts; the actor samples `--num_samples` completions for each
(vLLM `SamplingParams(n=num_samples)`), so a rollout always holds whole groups and a group can never be split
(GL006 cannot fire). Algorithm: `oat.experiment.run_ppo` / `run_math_rl` run PPO-family learners;
`oat.experiment.main` runs the preference learner of `--algo` (default DPO), which has no groups, advantages or
clip: only settings shared by every algorithm are checked there.
"""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import Command, find_command, flag_source, mentions, tokenize
from training.lint.adapters._source import Source, note, unreadable
from training.lint.concepts import BatchWhitening, Concepts, requested_version

NAME = "oat"
VERSION = "main@2025-10-31"


def label(version: str | None) -> str:
    """The version named in messages: only one version is modelled, so an asked one is shown beside it."""
    return f"{VERSION} (asked: {version}; no version differences modelled)" if version else VERSION


PPO_ENTRY_POINTS = (
    "oat.experiment.run_ppo",
    "oat/experiment/run_ppo.py",
    "oat.experiment.run_math_rl",
    "oat/experiment/run_math_rl.py",
)
ENTRY_POINTS = ("oat.experiment.main", "oat/experiment/main.py", *PPO_ENTRY_POINTS)
_PG_ALGOS = ("PPO",)
_OAT_FLAGS = (
    "--critic_type",
    "--num_samples",
    "--rollout_batch_size_per_device",
    "--pi_buffer_maxlen_per_device",
)


def detect(text: str, path: str | None) -> float:
    if mentions(text, ENTRY_POINTS):
        return 0.95
    if mentions(text, ("train_oat_grpo.py", "train_oat.py", "--critic_type2", "--norm_return")):
        return 0.0  # gem's scripts
    return 0.5 if sum(mentions(text, (f,)) for f in _OAT_FLAGS) >= 2 else 0.0


def command(text: str, entry_points: tuple[str, ...], what: str) -> Command:
    statements = tokenize(text)
    cmd = find_command(statements, entry_points)
    if cmd is None:
        # a script that is only the flags: take the statement with the most `--` words
        best = max(statements, key=lambda s: sum(w.text.startswith("--") for w in s), default=[])
        if not any(w.text.startswith("--") for w in best):
            raise unreadable(f"no `{what}` command found in this script")
        return Command(program=best[0], args=best)
    return cmd


def oat_source(text: str, entry_points: tuple[str, ...], what: str) -> Source:
    src = flag_source(command(text, entry_points, what), negatable=True)
    src.display = lambda n: "--" + n
    return src


def map_common(src: Source, c: Concepts) -> None:
    """Keys OAT and gem read the same way: KL, sampling, clip, gamma, batch sizes, dead flags."""
    beta = src.float_("beta", 0.1) or 0.0
    kl_reward = src.float_("kl_penalty_coef", 0.0) or 0.0
    c.kl_in_loss, c.kl_loss_coef, c.kl_estimator = beta > 0, beta, "k3"
    c.kl_in_reward, c.kl_reward_coef = kl_reward > 0, kl_reward
    c.use_ref = True  # OAT always loads the reference for PPO-family algorithms
    c.group_size = src.int_("num_samples", 2) or 0
    c.temperature = src.float_("temperature", 1.0) or 0.0
    eval_t = src.float_("eval_temperature", 0.0)
    c.eval_greedy = eval_t == 0
    clip = src.float_("cliprange", 0.2)
    c.clip_low = c.clip_high = clip
    c.gamma = src.float_("gamma", 1.0) or 0.0
    c.lam = src.float_("lam", 1.0) or 0.0
    c.entropy_coef = 0.0
    c.per_device_samples = src.int_("rollout_batch_size_per_device", 16)
    o = c.origins
    o["kl_loss_coef"] = src.origin("beta")
    o["kl_reward_coef"] = src.origin("kl_penalty_coef")
    o["use_ref"] = src.origin("beta")
    o["group_size"] = src.origin("num_samples")
    o["temperature"] = src.origin("temperature")
    o["clip_low"] = o["clip_high"] = src.origin("cliprange")
    o["gamma"] = src.origin("gamma")
    o["per_device_samples"] = src.origin("rollout_batch_size_per_device")
    if src.bool_("whiten_rewards", False):
        c.dead_keys.append(("--whiten_rewards", "OAT declares it but never reads it"))
        o["dead:--whiten_rewards"] = src.origin("whiten_rewards")


def loss_from_critic_type(src: Source, c: Concepts) -> str:
    ct = src.str_("critic_type", "drgrpo") or "drgrpo"
    if ct not in ("ppo", "grpo", "drgrpo"):
        raise src._bad("critic_type", "one of ppo, grpo, drgrpo")
    if ct == "drgrpo":  # masked token sum over a constant (Dr. GRPO's loss)
        c.loss_agg = "seq_mean_token_sum_norm"
        c.length_norm_constant = src.int_("length_norm_constant", None) or src.int_(
            "generate_max_length", 512
        )
    else:
        c.loss_agg = "seq_mean_token_mean"
    c.origins["loss_agg"] = src.origin("critic_type")
    c.origins["length_norm_constant"] = src.origin("generate_max_length")
    return ct


def _batch_units(src: Source, c: Concepts) -> None:
    """Batch sizes count prompts, each sampled num_samples times: a rollout and a device hold whole groups."""
    prompts = src.int_("rollout_batch_size", 128)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * c.group_size if prompts else None
    per_device = c.per_device_samples
    c.per_device_samples = per_device * c.group_size if per_device else None
    c.positional_grouping = True  # rewards are grouped with view(-1, num_samples) on each learner
    c.origins["rollout_samples"] = src.origin("rollout_batch_size")


def _own_critic_type(src: Source, critic_type: str, version: str) -> Mapped:
    """A script's own estimator (VeriFree's `verifree.py` adds `--critic_type rloo|naive` to OAT's PPOArgs): what it
    computes is in that script, not in OAT, so the estimator's rules are not checked; the settings OAT itself reads
    (KL, sampling, clip, group size) still are, and a note says why the estimator is not."""
    c = Concepts(
        framework=NAME, framework_version=version, std_eps=1e-8, std_unbiased=True, estimator="other"
    )
    c.group_mean = c.group_norm_std = False
    map_common(src, c)
    _batch_units(src, c)
    c.origins["estimator"] = src.origin("critic_type")
    note(
        f"--critic_type {critic_type} is this script's own (OAT has ppo, grpo and drgrpo): its advantage "
        "estimator is defined in the script and is not checked here"
    )
    return Mapped(concepts=c)


def map_preference(src: Source, algo: str, version: str) -> Mapped:
    """`--algo DPO` and the other preference/SFT learners: no policy-gradient concepts to check."""
    c = Concepts(framework=NAME, framework_version=version, policy_gradient=False, estimator="other")
    c.group_mean = c.group_norm_std = False
    c.use_ref = True
    c.clip_low = c.clip_high = None
    c.origins["estimator"] = src.origin("algo")
    for key in ("critic_type", "num_samples", "whiten_adv", "cliprange"):
        if src.written(key):
            c.dead_keys.append(
                (f"--{key}", f"`--algo {algo}` trains a preference/SFT objective, not PPO/GRPO")
            )
            c.origins[f"dead:--{key}"] = src.origin(key)
    return Mapped(concepts=c)


def map_source(
    src: Source, version: str | None = None, ppo_entry: bool = True, custom: bool = False
) -> Mapped:
    """`custom`: a training script of its own on OAT's learners, which may add critic types OAT does not have."""
    version = label(version)
    algo = "PPO" if ppo_entry else (src.str_("algo", "DPO") or "DPO")
    if algo not in _PG_ALGOS:
        return map_preference(src, algo, version)
    own = src.str_("critic_type", "drgrpo") if custom else None
    if own is not None and own not in ("ppo", "grpo", "drgrpo"):
        return _own_critic_type(src, own, version)
    c = Concepts(framework=NAME, framework_version=version, std_eps=1e-8, std_unbiased=True)
    ct = loss_from_critic_type(src, c)
    whiten_adv = src.bool_("whiten_adv", False)
    c.group_mean = ct in ("grpo", "drgrpo")
    c.group_norm_std = ct == "grpo"
    c.estimator = {"grpo": "grpo", "drgrpo": "drgrpo", "ppo": "gae"}[ct]  # type: ignore[assignment]
    if ct == "ppo" and whiten_adv:
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    map_common(src, c)
    c.gamma_used_by_estimator = ct == "ppo"
    _batch_units(src, c)
    o = c.origins
    for concept in ("estimator", "group_mean", "group_norm_std", "batch_whitening"):
        o[concept] = src.origin("critic_type")
    o["std_eps"] = src.fixed("critic_type", "group std epsilon (fixed at 1e-8 in OAT)")
    if whiten_adv and ct != "ppo":
        c.dead_keys.append(
            ("--whiten_adv", f"it is read only on the PPO (GAE) path, not with critic_type {ct}")
        )
        o["dead:--whiten_adv"] = src.origin("whiten_adv")
    if c.group_norm_std and src.written("reward_scale"):
        c.dead_keys.append(("--reward_scale", "the grpo group z-score divides any reward scale out again"))
        o["dead:--reward_scale"] = src.origin("reward_scale")
    sync = src.int_("sync_params_every", 1) or 1
    if sync > 1:
        c.off_policy = f"--sync_params_every {sync}: actors sample with weights up to {sync - 1} syncs old"
        c.off_policy_corrected = src.raw("tis_c", 2.0) is not None  # truncated IS on by default (2.0)
        o["off_policy"] = src.origin("sync_params_every")
    return Mapped(concepts=c)


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    src = oat_source(text, ENTRY_POINTS, "python -m oat.experiment.run_ppo ...")
    # a script of its own built on OAT's PPO learner (understand-r1-zero's `train_zero_math.py` subclasses PPOArgs
    # and sets args.algo = "PPO") passes `--critic_type`, a PPOArgs field; only OAT's own `main` defaults to DPO
    custom_ppo = not mentions(text, ENTRY_POINTS) and src.written("critic_type") and not src.written("algo")
    return map_source(
        src,
        version or requested_version(),
        ppo_entry=mentions(text, PPO_ENTRY_POINTS) or custom_ppo,
        custom=custom_ppo,
    )
