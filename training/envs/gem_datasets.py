"""gem's hub-dataset envs (`math:*`, `qa:*`, `logic:*`, `eval:*`): their datasets come from the Hugging Face hub.

None of them works without a download: each names an `axon-rl/...` dataset that `datasets.load_dataset` fetches.
Offline, `load_dataset` only finds datasets it has prepared before in the same HF_HOME (its own cache, not the
hub snapshot files). `hub_dataset` loads one once per process (gem would load it in every env instance) and turns
a failure into one message with the fix. `QaTaskEnv` is gem's `QaEnv` with one fix: gem 0.1.0 raises on a response
without `<answer>` tags (an unbound name in `step`); here that response scores 0.
"""

from __future__ import annotations

from typing import Any

from gem.envs.qa_env import QaEnv

_LOADED: dict[tuple[str, str | None], Any] = {}
QA_ENTRY_POINT = "training.envs.gem_datasets:QaTaskEnv"


def hub_dataset(env_id: str, spec_kwargs: dict[str, Any]) -> Any:
    """The `datasets.Dataset` a gem env names (`dataset_name`, `split`), loaded once per process."""
    name, split = str(spec_kwargs["dataset_name"]), spec_kwargs.get("split")
    key = (name, split)
    if key not in _LOADED:
        try:
            from datasets import load_dataset

            data = load_dataset(name, split=split) if split else load_dataset(name)
        except Exception as exc:  # offline, not cached, no such dataset: one message with the fix
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(
                f"env.id: {env_id} reads the hub dataset {name!r}, which could not be loaded ({first}). To fix: "
                f'on a machine with network and the same HF_HOME run `python -c "import datasets; '
                f"datasets.load_dataset('{name}')\"` and copy or mount that HF_HOME here (the datasets cache, "
                "not only the hub files, is what works offline), or use an env that needs no download (`rg:*`, "
                "`grpolab:dataset` with your own file)"
            ) from None
        if hasattr(data, "keys") and len(list(data.keys())) == 1:  # one split: gem's envs take it too
            data = data[next(iter(data.keys()))]
        _LOADED[key] = data
    return _LOADED[key]


class QaTaskEnv(QaEnv):
    """gem's QaEnv; a response without an extractable answer scores 0 instead of raising."""

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.extractor(action) is None:
            return "", 0.0, True, True, {"correct": False}
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, float(reward), terminated, truncated, info


def register() -> None:
    """Point gem's QaEnv ids at `QaTaskEnv` (same kwargs; idempotent)."""
    from gem.envs.registration import ENV_REGISTRY

    for spec in ENV_REGISTRY.values():
        if spec.entry_point == "gem.envs.qa_env:QaEnv":
            spec.entry_point = QA_ENTRY_POINT
