"""The arms of `grpolab ablate double-norm` as configs, and the same ablation as one POST /sweeps body.

`grpolab ablate` (ablate.py) trains these configs locally or submits the sweep; _ablate_report.py reads the runs.
"""

from __future__ import annotations

from typing import Any

ARMS = ("fixed", "double", "whiten")


def arm_raw(arm: str, seed: int, steps: int, env: str, transitions: int) -> dict[str, Any]:
    """The raw config (as a user would write it) of one arm; everything not set here is the shipped default."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}")
    easy = env.endswith("-n8")
    raw: dict[str, Any] = {
        "env": {"id": env},
        "warm_start": {"steps": 0 if easy else 300, "player": "random_valid"},
        "optim": {"lr": 2e-3 if easy else 1e-3},
        "run": {"steps": steps, "seed": seed, "eval_episodes": 512, "checkpoint_every": 0},
    }
    if arm == "double":
        raw["rollout"] = {"subsample": {"unit": "transitions", "size": transitions}}
        raw["algorithm"] = {"norm_return": True}
        raw["lint"] = {
            "allow": [
                {"rule": "GL001", "reason": "ablation: reproduce the seed's double normalization"},
                {"rule": "GL006", "reason": "ablation: the seed's transition subsampling"},
            ]
        }
    elif arm == "whiten":
        raw["algorithm"] = {"norm_return": True}
        raw["lint"] = {
            "allow": [
                {
                    "rule": "GL001",
                    "reason": "ablation: the seed's second normalization over all transitions, without its "
                    "subsample, to separate the two effects",
                }
            ]
        }
    return raw


def arm_loaded(arm: str, seed: int, steps: int, env: str, transitions: int) -> Any:
    """The validated config of one arm (a LoadedConfig, as `grpolab train` lints it)."""
    from training.config_io import validate_raw

    return validate_raw(arm_raw(arm, seed, steps, env, transitions), path=f"<ablate {arm}>")


def arm_config(arm: str, seed: int, steps: int, env: str, transitions: int) -> Any:
    return arm_loaded(arm, seed, steps, env, transitions).config


def arm_of(cfg: dict[str, Any]) -> str | None:
    """Which arm a stored config.json belongs to, from the fields that define the arms (None: none of them)."""
    sub = cfg.get("rollout", {}).get("subsample", {}).get("unit", "none")
    norm = bool(cfg.get("algorithm", {}).get("norm_return", False))
    return {("none", False): "fixed", ("transitions", True): "double", ("none", True): "whiten"}.get(
        (sub, norm)
    )


ALLOW = [
    {"rule": "GL001", "reason": "ablation: the seed's second normalization (norm_return), on purpose"},
    {"rule": "GL006", "reason": "ablation: the seed's transition subsampling, on purpose"},
]


def sweep_body(arms: tuple[str, ...], seeds: int, steps: int, env: str, transitions: int) -> dict[str, Any]:
    """The POST /sweeps body of the ablation: the fixed arm's config as the base, the factors as the grid."""
    base = arm_raw("fixed", 0, steps, env, transitions)
    base["rollout"] = {"subsample": {"unit": "none", "size": transitions}}  # the size the double arm uses
    grid: dict[str, list[Any]] = {}
    if "double" in arms:
        grid["rollout.subsample.unit"] = ["none", "transitions"]
    if "double" in arms or "whiten" in arms:
        grid["algorithm.norm_return"] = [False, True]
    grid["run.seed"] = list(range(seeds))
    import yaml

    return {
        "name": f"ablate double-norm ({env}, {steps} steps)",
        "config_text": "# grpolab ablate double-norm: the fixed arm; the grid adds the others\n"
        + yaml.safe_dump(base, sort_keys=False),
        "grid": grid,
        "tags": ["ablate-double-norm"],
        "allow": ALLOW,
    }
