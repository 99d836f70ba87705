"""reasoning-gym tasks (`rg:<name>`) as single-turn environments, one freshly generated problem per reset seed.

gem 0.1.0 registers every reasoning-gym dataset as `rg:<name>` with a fixed pool (`size=500, seed=42`), picks a
problem with `random.choice` after reseeding Python's global RNG, ignores extra keyword arguments (no difficulty
settings) and rebuilds its pool per instance every 500 resets, so training and evaluation share the same 500
problems and two instances of a group can drift apart. GRPO Lab replaces those registrations (same ids) with
this env:

- the problem is `dataset[reset_seed]` of one procedural dataset, generated on demand (reasoning-gym derives
  problem i from `Random(seed + i)`): a group's G resets give the same problem, evaluation seeds give fresh ones;
- `env.kwargs` are the dataset's own settings (`rg:chain_sum` → `min_digits`, `max_terms`, ...), checked
  against its config class; `instruction` (reserved) is appended to every question, e.g. to ask for `\\boxed{}`;
- the reward is the dataset's own `score_answer` on the extracted answer (`rewards.extract_answer`: the last
  `\\boxed{}`, else `<answer>` tags, else the whole response); success is a score of 1;
- `demo_action` gives the warm start the generator's own answers (`solver`) or the answer of another problem
  (`random_valid`: right format, wrong content).
"""

from __future__ import annotations

import dataclasses
import functools
import random
from typing import Any

from gem.core import Env

from training.envs.rewards import extract_answer

#: Datasets whose construction cost grows with `size` (measured: > 20 s at size 2**31): built per problem.
_SIZE_BOUND = frozenset({"acre", "gsm_symbolic", "list_functions", "word_ladder"})
_INDEXED_SIZE = 2**31 - 1
RESERVED_KWARGS = ("instruction",)


def dataset_names() -> list[str]:
    import reasoning_gym as rg

    return sorted(rg.factory.DATASETS)


def dataset_settings(name: str) -> list[str]:
    """The settings a reasoning-gym dataset accepts (its config dataclass' fields, less seed and size)."""
    import reasoning_gym as rg

    config_cls = rg.factory.DATASETS[name][1]
    return [f.name for f in dataclasses.fields(config_cls) if f.name not in ("seed", "size")]


def _create(name: str, seed: int, size: int, settings: tuple[tuple[str, Any], ...]) -> Any:
    import reasoning_gym as rg

    try:
        return rg.create_dataset(name, seed=seed, size=size, **dict(settings))
    except (AssertionError, ValueError, TypeError) as exc:
        raise ValueError(
            f"env.kwargs: reasoning-gym refused the settings of rg:{name} {dict(settings)}: {exc or type(exc).__name__}"
        ) from None


@functools.lru_cache(maxsize=32)
def _indexed_dataset(name: str, settings: tuple[tuple[str, Any], ...]) -> Any:
    """One dataset object per (task, settings), shared by every env instance of the process."""
    return _create(name, 0, _INDEXED_SIZE, settings)


class ReasoningGymTaskEnv(Env):
    """One reasoning-gym problem per episode; the problem is a function of the reset seed."""

    def __init__(self, name: str, instruction: str = "", **settings: Any) -> None:
        super().__init__()
        import reasoning_gym as rg

        if name not in rg.factory.DATASETS:
            raise ValueError(f"env.id: rg:{name} is not a reasoning-gym dataset")
        allowed = dataset_settings(name)
        unknown = sorted(set(settings) - set(allowed))
        if unknown:
            raise ValueError(
                f"env.kwargs: rg:{name} has no setting {unknown[0]!r}; its settings are "
                f"{', '.join(allowed) or '(none)'}, plus `instruction` (text appended to each question)"
            )
        self.name = name
        self.instruction = instruction
        self.settings = tuple(sorted(settings.items()))
        self.max_turns = 1
        self._rng = random.Random()
        self.entry: dict[str, Any] = {}
        self._dataset = None if name in _SIZE_BOUND else _indexed_dataset(name, self.settings)
        self.reset(seed=0)  # fail now, not at the first step, when the settings cannot generate a problem

    def problem(self, seed: int) -> tuple[dict[str, Any], Any]:
        """The problem of `seed` and the dataset that scores it."""
        if self._dataset is not None:
            return self._dataset[seed % _INDEXED_SIZE], self._dataset
        ds = _create(self.name, seed, 1, self.settings)
        return ds[0], ds

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        if seed is None:
            seed = self._rng.randrange(_INDEXED_SIZE)
        self.entry, self._scorer = self.problem(int(seed))
        question = str(self.entry["question"])
        if self.instruction:
            question = f"{question}\n{self.instruction}"
        return question, {}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        answer = extract_answer(action)
        try:
            score = float(self._scorer.score_answer(answer=answer, entry=self.entry))
        except Exception:  # a scorer that chokes on malformed text: the answer is wrong, not the run
            score = 0.0
        return "", score, True, False, {"success": score >= 1.0, "answer": answer}

    def demo_action(self, rng: random.Random, player: str) -> str:
        """`solver`: the generator's answer; `random_valid`: the answer of another random problem."""
        entry = self.entry if player == "solver" else self.problem(rng.randrange(_INDEXED_SIZE))[0]
        if entry.get("answer") is None:
            raise ValueError(
                f"warm_start: rg:{self.name} has no single reference answer to imitate; set warm_start.steps: 0"
            )
        return str(entry["answer"])

    def sample_random_action(self) -> str:
        return self.demo_action(self._rng, "random_valid")


ENTRY_POINT = "training.envs.rg_tasks:ReasoningGymTaskEnv"


def register() -> None:
    """Point every `rg:<name>` id of gem's registry at `ReasoningGymTaskEnv` (idempotent)."""
    from gem.envs.registration import ENV_REGISTRY, EnvSpec

    for name in dataset_names():
        env_id = f"rg:{name}"
        spec = ENV_REGISTRY.get(env_id)
        if spec is None or spec.entry_point != ENTRY_POINT:
            ENV_REGISTRY[env_id] = EnvSpec(id=env_id, entry_point=ENTRY_POINT, kwargs={"name": name})
