"""Adapters: one module per config format, each mapping its keys (and its defaults) onto `Concepts`.

An adapter module defines:
- `NAME` (the `--input-format` value) and `VERSION` (framework version whose defaults it assumes),
- `detect(text, path) -> float` — confidence in 0..1 that `text` is this format,
- `map_text(text, path) -> Mapped` — raises `training.config_io.ConfigError` for unreadable input.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from training.lint.concepts import Concepts

if TYPE_CHECKING:
    from training.config_io import LoadedConfig


@dataclass
class Mapped:
    concepts: Concepts
    allow: dict[str, str] = field(default_factory=dict)  # rule id -> recorded reason
    loaded: LoadedConfig | None = None


# format name -> module (imported lazily: `grpolab lint` loads only what it needs)
FORMATS: dict[str, str] = {
    "grpolab": "training.lint.adapters.grpolab",
    "trl": "training.lint.adapters.trl",
    "verl": "training.lint.adapters.verl",
    "openrlhf": "training.lint.adapters.openrlhf",
    "oat": "training.lint.adapters.oat",
    "gem": "training.lint.adapters.gem",
    "skyrl": "training.lint.adapters.skyrl",
    "roll": "training.lint.adapters.roll",
    "areal": "training.lint.adapters.areal",
    "easyr1": "training.lint.adapters.easyr1",
}


def available_formats() -> list[str]:
    out = []
    for name, mod in FORMATS.items():
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError:
            continue
        out.append(name)
    return out


def get_adapter(name: str) -> ModuleType:
    if name not in FORMATS:
        raise KeyError(name)
    return importlib.import_module(FORMATS[name])
