"""Environments: gem's registry plus GRPO Lab's built-in games, and the multi-turn episode runner.

Importing this package registers the built-in games in gem's registry (idempotent), so `gem.make(id)` works for
`grpolab:GuessNumber-v0-n8` / `-n16` / `-n32` beside gem's own ids (`game:GuessTheNumber-v0-easy`, ...).
"""

from __future__ import annotations

from typing import Any

LEVELS = {"n8": 8, "n16": 16, "n32": 32}
BUILTIN_IDS = tuple(f"grpolab:GuessNumber-v0-{k}" for k in LEVELS)


def register_builtin() -> None:
    from gem.envs.registration import ENV_REGISTRY, register

    for key, n in LEVELS.items():
        env_id = f"grpolab:GuessNumber-v0-{key}"
        if env_id not in ENV_REGISTRY:
            register(env_id, "training.envs.guess_number:GuessNumberEnv", n=n)


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
    return gem.make(env_id, **kwargs)


register_builtin()
