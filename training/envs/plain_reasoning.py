"""`grpolab:ReasoningGym-v0`: a reasoning-gym task for small character models, with a held-out split.

Built on the `rg:*` env (training/envs/rg_tasks.py: one generated problem per reset seed, the generator's own
settings as env.kwargs, checked). What this env adds for a model that reads and writes a few characters:

- `prompt: expression` shows the bare expression without spaces (`42-25=`), for generators that record one
  (chain_sum, basic_arithmetic, ...); `prompt: question` keeps the generator's question text.
- The reward is 1.0 for an exact match with the generator's answer (whitespace trimmed) and 0.0 otherwise: no
  partial credit (reasoning-gym's default scorer gives `17` for `177` a 2/3), so GRPO learns from a 0/1 verifier.
- Every distinct problem belongs to one split, decided by a hash of its prompt: one in `holdout` problems is an
  evaluation problem. `split: train` (the default) never shows one and `split: eval` shows only those; the
  pipeline evaluates an env that declares `has_eval_split` on `split: eval`.
- The warm start's `answers` player imitates the generator's answers (supervised on labels).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from training.envs.rewards import exact_reward
from training.envs.rg_tasks import ReasoningGymTaskEnv

ENV_ID = "grpolab:ReasoningGym-v0"
PROMPTS = ("expression", "question")
SPLITS = ("train", "eval")
#: Draws before giving up on finding a problem of the requested split (a task with too few distinct problems).
MAX_DRAWS = 10_000


def register() -> None:
    from gem.envs.registration import ENV_REGISTRY, register

    if ENV_ID not in ENV_REGISTRY:
        register(ENV_ID, "training.envs.plain_reasoning:PlainReasoningEnv")


class PlainReasoningEnv(ReasoningGymTaskEnv):
    """One reasoning-gym problem per episode, shown plainly; the action is the answer itself."""

    #: The pipeline evaluates envs that declare a held-out split on `split: eval`.
    has_eval_split = True
    #: Warm-start players this env offers (training/learner/warm_start.py).
    demo_players = ("answers",)

    def __init__(
        self,
        task: str = "chain_sum",
        prompt: str = "expression",
        split: str = "train",
        holdout: int = 8,
        **settings: Any,
    ) -> None:
        if prompt not in PROMPTS:
            raise ValueError(f"env.kwargs.prompt: {prompt!r} is not one of {', '.join(PROMPTS)}")
        if split not in SPLITS:
            raise ValueError(f"env.kwargs.split: {split!r} is not one of {', '.join(SPLITS)}")
        if isinstance(holdout, bool) or not isinstance(holdout, int) or holdout < 2:
            raise ValueError(
                f"env.kwargs.holdout: {holdout!r}; use an integer ≥ 2 (1 in `holdout` problems is held out)"
            )
        self.prompt, self.split, self.holdout = prompt, split, holdout
        self.text = ""
        super().__init__(task, **settings)  # checks the settings and resets once

    def render(self, entry: dict[str, Any]) -> str:
        if self.prompt == "question":
            return str(entry["question"])
        expression = entry.get("metadata", {}).get("expression")
        if not isinstance(expression, str):
            raise ValueError(
                f"env.kwargs.prompt: the `{self.name}` generator records no expression; use `prompt: question`"
            )
        return expression.replace(" ", "") + "="

    def is_held_out(self, text: str) -> bool:
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.holdout == 0

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        # A private RNG (not gem's global seeding): a group replays one problem by resetting G envs with one seed.
        rng = random.Random(seed)
        want_eval = self.split == "eval"
        for _ in range(MAX_DRAWS):
            entry, scorer = self.problem(rng.randrange(2**31 - 1))
            text = self.render(entry)
            if self.is_held_out(text) == want_eval:
                self.entry, self._scorer, self.text = entry, scorer, text
                return text, {}
        raise ValueError(
            f"env: no `{self.split}` problem in {MAX_DRAWS} draws of `{self.name}`; the task has too few distinct "
            "problems for env.kwargs.holdout: make it harder or raise holdout"
        )

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        reward = exact_reward(action, str(self.entry["answer"]))
        return "", reward, True, False, {"success": reward == 1.0, "answer": action.strip()}

    def demo_action(self, rng: random.Random, player: str) -> str:
        """`answers`: the generator's own answer to the current problem."""
        if player not in self.demo_players:
            raise ValueError(f"warm_start.player: {player!r}; this environment offers `answers`")
        return str(self.entry["answer"])
