"""GL009–GL025: the cross-framework catalogue (../shared/reference/lint-catalog.md, Part B).

Ids, names, severities, texts and our-format examples here; the checks are in `extended_checks.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules.extended_checks import (
    check_advantage_clip,
    check_clip_range,
    check_drgrpo_aggregation,
    check_greedy_eval_group,
    check_ineffective,
    check_k1_kl_as_loss,
    check_kl_in_reward_group_std,
    check_local_token_mean,
    check_logprob_temperature,
    check_no_baseline,
    check_no_std_flag_ignored,
    check_norm_group_size,
    check_redundant_whitening,
    check_small_group_binary,
    check_std_eps_amplification,
    check_token_level_discount,
    check_token_reward_whitening,
)

# where each rule is spelled in a framework's own keys (its firing example and fix live on those pages)
_PAGES: dict[str, tuple[str, ...]] = {
    "GL009": ("roll", "openrlhf", "verl"),
    "GL010": ("openrlhf", "verl"),
    "GL011": ("roll",),
    "GL012": ("areal",),
    "GL013": ("verl", "openrlhf", "skyrl"),
    "GL014": ("verl",),
    "GL015": ("roll",),
    "GL016": ("openrlhf", "verl", "trl"),
    "GL017": ("skyrl", "areal"),
    "GL018": ("verl", "openrlhf", "areal"),
    "GL019": ("oat", "openrlhf", "roll", "verl", "skyrl", "trl"),
    "GL020": ("skyrl",),
    "GL021": ("areal", "gem", "verl"),
    "GL022": ("openrlhf", "areal"),
    "GL023": ("trl", "skyrl"),
    "GL024": ("verl", "skyrl"),
    "GL025": ("verl", "roll", "skyrl", "areal"),
}


def _rule(
    rid: str,
    name: str,
    sev: str,
    title: str,
    why: str,
    fix: str,
    check: Callable[[Concepts], list[Hit]],
    ex: str = "",
    fixed: str = "",
    refs: tuple[str, ...] = (),
) -> Rule:
    return Rule(
        id=rid,
        name=name,
        severity=sev,  # type: ignore[arg-type]
        title=title,
        why=why,
        fix=fix,
        check=check,
        example=ex,
        fixed_example=fixed,
        references=(*refs, *(f"docs/frameworks/{fw}.md" for fw in _PAGES.get(rid, ()))),
    )


RULES: list[Rule] = [
    _rule(
        "GL009",
        "no-std-flag-ignored",
        "error",
        "A 'no std' request that the computation ignores",
        "The user asked for advantages without the group-std division (the Dr. GRPO fix), but the framework "
        "still divides by the group std: ROLL overwrites the norm types with `group` for `adv_estimator: grpo`; "
        "OpenRLHF's `no_advantage_std_norm` only affects the batch whitening of gae/reinforce/reinforce_baseline, "
        "never `group_norm`. The run is GRPO with its difficulty bias while its config reads as Dr. GRPO. Where "
        "the flag merely has no counterpart (verl `norm_adv_by_std_in_grpo: false` with rloo or gae) it is info.",
        "ROLL: `adv_estimator: reinforce` + `norm_mean_type: group` + `norm_std_type: null`; OpenRLHF: "
        "`--advantage_estimator dr_grpo`. See docs/frameworks/ for each framework's spelling.",
        check_no_std_flag_ignored,
        refs=("alibaba/ROLL roll/utils/functionals.py (reward_postprocess)", "OpenRLHF/OpenRLHF#924"),
    ),
    _rule(
        "GL010",
        "k1-kl-as-loss",
        "warning",
        "The k1 KL estimator used as a loss term",
        "k1 = log π − log π_ref is an unbiased estimate of the KL value, but its gradient has zero expectation "
        "under on-policy samples: as a loss it regularizes almost nothing while the logged KL looks active. k3 "
        "(`low_var_kl`) and k2 (`mse`) have useful gradients.",
        "Use `kl_estimator: k3` (verl `low_var_kl`, OpenRLHF `--kl_estimator k3`), or k2.",
        check_k1_kl_as_loss,
        ex="algorithm:\n  kl_coef: 0.05\n  kl_estimator: k1\n",
        fixed="algorithm:\n  kl_coef: 0.05\n  kl_estimator: k3\n",
        refs=("OpenRLHF/OpenRLHF openrlhf/cli/train_ppo_ray.py", "volcengine/verl docs/algo/grpo.md"),
    ),
    _rule(
        "GL011",
        "token-reward-whitening",
        "error",
        "Token-level rewards whitened under an outcome reward",
        "With an outcome reward every token but the last has reward 0. Whitening the token rewards turns those "
        "zeros into −μ/σ on every token, so returns become proportional to response length and the length term "
        "overwhelms the outcome signal.",
        "Whiten advantages (once), not token rewards: ROLL `whiten_rewards: false`.",
        check_token_reward_whitening,
        refs=("alibaba/ROLL roll/utils/functionals.py (compute_advantage)",),
    ),
    _rule(
        "GL012",
        "norm-group-size-mismatch",
        "error",
        "The normalizer's group size differs from the samples per prompt",
        "A group-level normalizer reshapes rewards into groups of its own `group_size`. AReaL's default is 1: "
        "every reward is then its own group mean and every advantage is 0. A wrong size (8 vs 4) makes groups "
        "straddle two prompts.",
        "AReaL: write `group_size: ${gconfig.n_samples}` in `actor.reward_norm` and `actor.adv_norm`.",
        check_norm_group_size,
        refs=("inclusionAI/AReaL areal/api/cli_args.py (NormConfig.group_size)",),
    ),
    _rule(
        "GL013",
        "std-eps-amplification",
        "warning",
        "Group std normalization blows up near-tied continuous rewards",
        "With a reward model or judge, a group's scores can differ only by noise (std 1e-4). Dividing by that "
        "std (plus a tiny epsilon) scales the noise up to ±1, so it gets the same weight as a real difference.",
        "Drop the std (Dr. GRPO), floor it (eps ≥ 1e-3), or enable a zero-variance filter.",
        check_std_eps_amplification,
        refs=("NVIDIA-NeMo/RL#4161", "NovaSky-AI/SkyRL zero_variance_filter_tol"),
    ),
    _rule(
        "GL014",
        "small-group-binary",
        "warning",
        "Groups of 2–4 with a pass/fail reward",
        "A group ties with probability pᴳ + (1−p)ᴳ: at p = 0.5 that is 50% of prompts for G = 2, 25% for G = 3, "
        "12.5% for G = 4 (info). Tied groups contribute no gradient, so most of the compute is wasted.",
        "Use G ≥ 8 for pass/fail rewards, or dynamic sampling that drops tied groups.",
        check_small_group_binary,
        refs=("huggingface/trl#3857", "huggingface/trl#3452"),
    ),
    _rule(
        "GL015",
        "advantage-clip-truncates",
        "warning",
        "An advantage clip below the z-score of a single success",
        "The rarest and most informative event, one success in G, has the largest group z-score: "
        "(G−1)/√G with the unbiased std (2.47 for G = 8), √(G−1) with the population std. A clip just below that "
        "cuts that signal first; a clip near 1 flattens almost every pass/fail mix (a 50/50 group has |z| ≈ 1), "
        "so the finding says how many mixes are cut.",
        "Raise the clip above the bound for your G, or remove it.",
        check_advantage_clip,
        refs=("alibaba/ROLL examples/docs_examples/example_grpo.yaml",),
    ),
    _rule(
        "GL016",
        "clip-range-suspicious",
        "warning",
        "A PPO clip range that freezes or inverts updates",
        "A clip of 0 (or below) freezes updates; a lower clip of 1 or more allows the ratio to reach 0; an upper "
        "clip below the lower one clips exploration harder than exploitation (the opposite of DAPO's "
        "clip-higher); a dual-clip bound must exceed 1.",
        "Use e.g. 0.2 below and 0.2–0.28 above (DAPO clip-higher).",
        check_clip_range,
        ex="algorithm:\n  clip_low: 0.3\n  clip_high: 0.1\n",
        fixed="algorithm:\n  clip_low: 0.2\n  clip_high: 0.28\n",
        refs=("OpenRLHF asserts dual clip > 1", "DAPO (clip-higher 0.2/0.28)"),
    ),
    _rule(
        "GL017",
        "logprob-temperature-mismatch",
        "warning",
        "Training log-probs at another temperature than the rollout",
        "The importance ratio compares the policy's log-probs in training with those of the sampler. If "
        "training scales the logits by another temperature, the two are different distributions: even the "
        "first update is off-policy and clipping fires at random.",
        "Leave the training temperature unset (SkyRL copies the sampler's) or interpolate it "
        "(AReaL `actor.temperature: ${gconfig.temperature}`).",
        check_logprob_temperature,
        refs=("NovaSky-AI/SkyRL skyrl/train/config/config.py",),
    ),
    _rule(
        "GL018",
        "kl-in-reward-under-group-std",
        "info",
        "A KL penalty in the reward of a group-std estimator",
        "Where the KL penalty is added to the reward before the group z-score (verl, SkyRL), it is divided by the "
        "group std with the score, so its strength changes from prompt to prompt. Where it is added after the "
        "z-score (OpenRLHF, AReaL, ROLL) it is not divided, but it is a per-token term summed along the answer: an early "
        "token's advantage is the answer's z-score minus the KL of all later tokens, so the penalty's weight "
        "against a unit-variance score grows with the answer length. REINFORCE++ and REINFORCE++-baseline put KL "
        "in the reward on purpose and do not divide by a group std, so they are not affected.",
        "Put KL in the loss for GRPO (verl `actor_rollout_ref.actor.use_kl_loss: true`, OpenRLHF "
        "`--algo.kl.use_loss`, SkyRL `trainer.algorithm.use_kl_loss: true`).",
        check_kl_in_reward_group_std,
        ex="algorithm:\n  estimator: grpo\n  kl_reward_coef: 0.05\n",
        fixed="algorithm:\n  estimator: grpo\n  kl_coef: 0.05\n",
        refs=("verl-project/verl#509", "verl-project/verl#2580"),
    ),
    _rule(
        "GL019",
        "ineffective-setting",
        "info",
        "A setting that has no effect in this framework",
        "The framework reads the key only when another switch is on, or not at all (an unknown key dropped "
        "by a non-strict loader, a flag declared but never read). The config reads as if a normalization or "
        "regularizer were active.",
        "Remove the key, or turn on the switch it needs.",
        check_ineffective,
        refs=("sail-sg/oat oat/algorithms/ppo.py (whiten_rewards)", "OpenRLHF/OpenRLHF#693"),
    ),
    _rule(
        "GL020",
        "redundant-whitening",
        "info",
        "Whitening twice: the estimator's own pass and a switch",
        "REINFORCE++ already whitens advantages over the batch; a second whitening switch is nearly idempotent "
        "but uses other masks and statistics, so the result is not exactly unit variance and the config is "
        "harder to read.",
        "Keep one: SkyRL `advantage_batch_normalize: false` with `reinforce++`.",
        check_redundant_whitening,
        refs=("NovaSky-AI/SkyRL ppo_utils.py + trainer.py",),
    ),
    _rule(
        "GL021",
        "no-baseline",
        "warning",
        "A policy gradient with no baseline at all",
        "Without a group mean, a critic or a batch mean, every sampled answer is pushed by its raw reward: with "
        "0/1 rewards all samples of a failed batch are pushed down and all successes up, and the gradient "
        "variance is about G× that of a group baseline.",
        "Add a group mean (a group estimator) or a batch mean (whitening).",
        check_no_baseline,
        ex="algorithm:\n  estimator: ep_level\n  norm_return: false\n",
        fixed="algorithm:\n  estimator: drgrpo\n  norm_return: false\n",
        refs=("inclusionAI/AReaL areal/trainer/ppo/actor.py",),
    ),
    _rule(
        "GL022",
        "drgrpo-aggregation-unavailable",
        "info",
        "Dr. GRPO advantages without Dr. GRPO's loss",
        "The framework has no constant-normalizer loss, so `drgrpo` there means group-mean advantages with a "
        "token-mean loss: a fine estimator, but not the paper's length-unbiased one.",
        "Document it; use a framework with a constant normalizer if the length-bias fix matters.",
        check_drgrpo_aggregation,
        refs=("OpenRLHF/OpenRLHF openrlhf/models/loss.py",),
    ),
    _rule(
        "GL023",
        "local-token-mean",
        "info",
        "Loss normalized by each device's own token count",
        "Dividing by the tokens of each device's micro-batch makes the gradient depend on the per-device batch "
        "size even at equal global batch: devices with short answers weigh each token more. TRL's `bnpo` does "
        "this, and so does SkyRL's `token_mean_legacy` (a mean of micro-batch means, which was `token_mean` "
        "until 2026-03-31).",
        "TRL: `loss_type: dapo` (token mean over the global batch); SkyRL: `loss_reduction: token_mean` instead of "
        "`token_mean_legacy` (or on SkyRL before 2026-03-31, upgrade).",
        check_local_token_mean,
        refs=("huggingface/trl grpo_config.py (loss_type)", "huggingface/trl#3256"),
    ),
    _rule(
        "GL024",
        "greedy-eval-group",
        "info",
        "Greedy evaluation with several samples per prompt",
        "Greedy decoding gives n identical samples: pass@n equals pass@1 and costs n× the compute.",
        "Evaluate with n = 1 when greedy, or sample with a temperature.",
        check_greedy_eval_group,
        refs=("alibaba/ROLL agentic example (val group size 1 at T=0)",),
    ),
    _rule(
        "GL025",
        "token-level-discount",
        "warning",
        "A per-token discount on a response-level reward",
        "The outcome reward sits on the last token. Discounting per token makes the first token of a "
        "1,000-token answer see 0.99¹⁰⁰⁰ ≈ 4e-5 of it, so the start of every answer stops learning. Per-turn "
        "discounting (GEM's `critic_type2 none`, our `estimator: none`) is not affected.",
        "Use gamma 1.0 for token-level returns; discount per turn instead.",
        check_token_level_discount,
        refs=("alibaba/ROLL roll/utils/functionals.py", "volcengine/verl core_algos.py"),
    ),
]
