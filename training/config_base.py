"""The base class of every RunConfig section (training/config.py and the config_* modules beside it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # a misspelt key is an error, never silently ignored; NaN/infinity are refused; defaults are validated too
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)
