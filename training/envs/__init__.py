"""Environments: gem's registry plus GRPO Lab's built-in games, and the multi-turn episode runner.

Importing this package registers the built-in games in gem's registry (idempotent), so `gem.make(id)` works for
`grpolab:GuessNumber-v0-n8` / `-n16` / `-n32` beside gem's own ids (`game:GuessTheNumber-v0-easy`, ...). It also
points gem's `rg:<name>` ids at `rg_tasks.ReasoningGymTaskEnv` (a fresh problem per reset seed, settings checked)
and registers `grpolab:dataset` (a user's own rows, `dataset.DatasetEnv`). `make_run_env(cfg.env)` builds a run's
env from its config section; gem's hub-dataset envs (`math:*`, `qa:*`, `logic:*`, `eval:*`) get their dataset
loaded once per process and a clear message when it is not in the Hugging Face cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.config import EnvConfig

LEVELS = {"n8": 8, "n16": 16, "n32": 32}
BUILTIN_IDS = tuple(f"grpolab:GuessNumber-v0-{k}" for k in LEVELS)
DATASET_ENV_ID = "grpolab:dataset"  # = training.config.DATASET_ENV_ID (kept literal: no config import here)


def register_builtin() -> None:
    from gem.envs.registration import ENV_REGISTRY, register

    for key, n in LEVELS.items():
        env_id = f"grpolab:GuessNumber-v0-{key}"
        if env_id not in ENV_REGISTRY:
            register(env_id, "training.envs.guess_number:GuessNumberEnv", n=n)
    if DATASET_ENV_ID not in ENV_REGISTRY:
        register(DATASET_ENV_ID, "training.envs.dataset:DatasetEnv")
    from training.envs import rg_tasks

    rg_tasks.register()  # rg:<name>
    from training.envs import gem_datasets

    gem_datasets.register()  # qa:*, logic:*: QaEnv that scores an untagged answer 0
    from training.envs import plain_reasoning

    plain_reasoning.register()  # grpolab:ReasoningGym-v0


def make_env(env_id: str, **kwargs: Any) -> Any:
    """`gem.make` with the built-in games registered and a clear error for unknown ids."""
    import gem
    from gem.envs.registration import ENV_REGISTRY

    register_builtin()
    if env_id not in ENV_REGISTRY:
        import difflib

        close = difflib.get_close_matches(env_id, list(ENV_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"env.id: {env_id!r} is not a registered gem environment.{hint}")
    spec = ENV_REGISTRY[env_id]
    if "dataset_name" in spec.kwargs:
        # gem's hub-dataset envs: load the dataset once per process (not once per env instance), and no
        # grading subprocess per instance (gem's default `use_mp` would start one for every episode slot)
        from training.envs.gem_datasets import hub_dataset

        kwargs = {"use_mp": False, **kwargs}
        if "dataset" not in kwargs:
            kwargs["dataset"] = hub_dataset(env_id, spec.kwargs)
    return gem.make(env_id, **kwargs)


def make_run_env(env: EnvConfig, split: str = "train") -> Any:
    """The env of a run's `env` section. `split: eval` is the held-out split of an env that declares
    `has_eval_split` (the dataset env with `eval_path`; `grpolab:ReasoningGym-v0`)."""
    kwargs: dict[str, Any] = dict(env.kwargs)
    if split != "train":
        kwargs["split"] = split
    if env.id == DATASET_ENV_ID:
        from training.envs.dataset import load_task

        if env.dataset is None:
            raise ValueError(
                f"env.dataset: `{DATASET_ENV_ID}` needs env.dataset (path, prompt_field, answer_field)"
            )
        kwargs["task"] = load_task(env.dataset, split)
        kwargs["has_eval_split"] = env.dataset.eval_path is not None
    return make_env(env.id, **kwargs)


register_builtin()
