"""The two seams of the pipeline: who generates tokens (`RolloutBackend`) and who updates weights
(`LearnerBackend`).

Everything crossing these seams is **token ids**, never text: the pipeline (with the environment runner) owns
tokenization and chat formatting, so a vLLM engine and the `hf` sampler see exactly the same prompts, and the
learner scores exactly the tokens that were sampled. Weights cross as `(name, tensor)` pairs in Hugging Face
naming (the keys of `model.state_dict()` of a transformers causal LM), full and unsharded, so a DeepSpeed ZeRO-3
learner gathers before yielding and a vLLM engine can `load_weights(pairs)` directly.

Implementations:
- `training.rollout.hf.HFRolloutBackend` (`rollout.backend: hf`): transformers model, own batched sampling loop
  with a KV cache, CPU or one GPU.
- `training.learner.torch_learner.TorchLearner` (`learner.backend: torch`): plain PyTorch + AdamW.
- vLLM (`rollout.backend: vllm`) and DeepSpeed (`learner.backend: deepspeed`) implement the same classes.

Neither module imports torch at import time beyond type checking: this file is safe to import anywhere in
`training`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    import torch

WeightPairs = Iterable[tuple[str, "torch.Tensor"]]


@dataclass(frozen=True)
class SamplingParams:
    """How to sample one turn's action for every prompt of a `generate` call."""

    max_new_tokens: int = 8
    temperature: float = 1.0  # 0 or `greedy` = argmax
    top_p: float = 1.0
    greedy: bool = False
    #: Token ids that end a completion (EOS included by the caller when wanted). The stop token is kept in the
    #: completion and gets a log-prob, like any sampled token.
    stop_token_ids: tuple[int, ...] = ()
    #: Strings that end a completion once the decoded completion contains them (checked after each token).
    stop: tuple[str, ...] = ()
    #: Seed for this call's sampling. Backends derive per-call randomness from it so that a run is reproducible
    #: (bit-exact on CPU for `hf`; best effort for vLLM).
    seed: int | None = None


@dataclass
class Completion:
    """One sampled completion (one turn's action)."""

    token_ids: list[int]
    #: log π_behaviour(token | prefix) of every token in `token_ids`, under the sampling temperature's
    #: distribution (logits / temperature; top-p not renormalized), float32 precision.
    logprobs: list[float]
    finish_reason: Literal["stop", "length"]


class RolloutBackend(abc.ABC):
    """Generates completions for batches of token-id prompts with the current policy weights."""

    @abc.abstractmethod
    def generate(self, prompts: Sequence[Sequence[int]], params: SamplingParams) -> list[Completion]:
        """Sample one completion per prompt (prompts may have different lengths; order is kept).

        Multi-turn episodes call this once per turn with each episode's whole conversation so far as the prompt,
        so an engine with prefix caching reuses earlier turns.
        """

    @abc.abstractmethod
    def sync_weights(self, weights: WeightPairs) -> None:
        """Load new policy weights: full `(name, tensor)` pairs in HF naming (from `LearnerBackend.export_weights`).

        A backend that shares the learner's module object may treat this as a no-op.
        """

    def sleep(self) -> None:  # noqa: B027 - optional hook
        """Free what the engine holds while the learner runs (vLLM's sleep mode); the next call wakes it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release engines, GPU memory and worker processes."""


@dataclass
class TrainSequence:
    """One episode as the learner sees it: the whole conversation as one token sequence.

    `action_mask[i]` is 1 for tokens the policy sampled (actions), 0 for prompt/observation tokens (never
    trained on). `advantages[i]` is the advantage of token i (0 where masked); `behaviour_logprobs[i]` the
    rollout engine's log-prob of token i (0 where masked). `turn_index[i]` is the turn of token i (−1 when masked),
    used by per-sequence aggregations and diagnostics.
    """

    token_ids: list[int]
    action_mask: list[int]
    advantages: list[float]
    behaviour_logprobs: list[float]
    group_id: int = 0
    turn_index: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.token_ids)
        if not (len(self.action_mask) == len(self.advantages) == len(self.behaviour_logprobs) == n):
            raise ValueError(
                "TrainSequence: token_ids, action_mask, advantages, behaviour_logprobs differ in length"
            )


@dataclass
class TrainBatch:
    """One optimizer step's worth of sequences (the learner splits it into micro-batches)."""

    sequences: list[TrainSequence]
    #: Sampling temperature used by the rollout: the learner scores logits / temperature like the sampler.
    temperature: float = 1.0
    #: Divisor of `seq_mean_token_sum` (Dr. GRPO); None = the learner's own default.
    length_norm_constant: float | None = None

    @property
    def num_action_tokens(self) -> int:
        return sum(sum(s.action_mask) for s in self.sequences)


class LearnerBackend(abc.ABC):
    """Owns the trainable policy (and optimizer, reference model) and applies one update per `step`."""

    @abc.abstractmethod
    def step(self, batch: TrainBatch) -> dict[str, float]:
        """One optimizer step (all `ppo_epochs` passes, micro-batches with gradient accumulation).

        Returns metrics with at least `loss/pg`, `loss/kl`, `entropy`, `grad_norm`, `lr`.
        """

    @abc.abstractmethod
    def logprobs(self, batch: TrainBatch) -> list[list[float]]:
        """Current policy's log-prob of every token (index i scores token i given tokens < i; index 0 is 0)."""

    @abc.abstractmethod
    def export_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Full policy weights as `(name, tensor)` pairs in HF naming, for `RolloutBackend.sync_weights`."""

    @abc.abstractmethod
    def save_checkpoint(self, directory: Path) -> None:
        """Write the policy (safetensors, HF folder layout), optimizer and scheduler state into `directory`."""

    @abc.abstractmethod
    def load_checkpoint(self, directory: Path) -> None:
        """Restore what `save_checkpoint` wrote (the model must already have the same architecture)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release GPU memory and process groups."""
