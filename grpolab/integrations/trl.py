"""`LintCallback`: lint the live `GRPOConfig` when a TRL `GRPOTrainer` starts training.

    from grpolab.integrations.trl import LintCallback

    trainer = GRPOTrainer(..., args=grpo_config, callbacks=[LintCallback(fail_on_error=True)])
    trainer.train()  # raises ConfigLintError before the first step if the config has an error finding

The callback reads the config object the trainer will really use (after TRL's `__post_init__` has derived
`generation_batch_size`, `steps_per_generation`, ...), so command-line flags, `--config` YAML and code all count.
Fields left at GRPOConfig's default are passed as unset, so a finding that comes from a default says so.
Findings are issued as `LintWarning`s (and logged) on the main process; with `fail_on_error=True` an error
finding raises `ConfigLintError` on every process, so no rank is left waiting for the others. A config the
linter cannot read (a value newer than its TRL model) gives one warning and never stops training.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from collections.abc import Mapping
from typing import Any

import yaml

try:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
except ModuleNotFoundError as exc:  # the light install: say what to install, not a bare traceback line
    raise ModuleNotFoundError(
        "grpolab.integrations.trl needs TRL and transformers: pip install trl (grpolab[bench] pins trl==1.16.0)",
        name=exc.name,
    ) from exc

from training.lint import LintResult, lint_text

logger = logging.getLogger("grpolab.lint")


class LintWarning(UserWarning):
    """A finding of `grpolab lint` on the trainer's config."""


class ConfigLintError(RuntimeError):
    """The config has error findings and `fail_on_error=True`: training does not start."""

    def __init__(self, result: LintResult):
        self.result = result
        lines = [describe(f) for f in result.blocking]
        super().__init__(
            "grpolab lint found error(s) in the GRPOConfig; training not started:\n  "
            + "\n  ".join(lines)
            + "\n(allow one on purpose with LintCallback(allow={'GLxxx': 'why'}); details: grpolab lint --explain GLxxx)"
        )


def describe(f: Any) -> str:
    """One finding as a line (the config has no file, so no line:column)."""
    allowed = f" (allowed: {f.allow_reason})" if f.allowed else ""
    return f"{f.rule} {f.severity}: {f.message}{allowed}"


def config_fields(args: TrainingArguments) -> dict[str, Any]:
    """The fields of a live config that differ from the class's defaults, as plain YAML values."""
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(args):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
    out: dict[str, Any] = {}
    for name, value in args.to_dict().items():  # enums as their values, tokens masked
        if name in defaults and value == defaults[name]:
            continue
        if _plain(value):
            out[name] = value
    return out


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def lint_config(args: TrainingArguments, allow: Mapping[str, str] | None = None) -> LintResult:
    """Lint a GRPOConfig object with the TRL adapter; rules in `allow` (id -> reason) never block."""
    text = yaml.safe_dump(config_fields(args), sort_keys=True)
    result = lint_text(text, "trl", "<GRPOConfig>")
    if allow:
        result.findings = [
            dataclasses.replace(f, allowed=True, allow_reason=allow[f.rule]) if f.rule in allow else f
            for f in result.findings
        ]
    return result


class LintCallback(TrainerCallback):  # type: ignore[misc]
    """Lint the trainer's GRPOConfig at `on_train_begin`: warn about findings, or stop on errors.

    Args:
        fail_on_error: raise `ConfigLintError` when a finding of error severity is not allowed.
        allow: rule id -> why it is fine here (e.g. `{"GL006": "groups keyed by prompt id"}`); such findings are
            still shown, marked allowed, and never block.
        min_severity: the lowest severity shown ("info", "warning" or "error").
    """

    def __init__(
        self, fail_on_error: bool = False, allow: Mapping[str, str] | None = None, min_severity: str = "info"
    ) -> None:
        if min_severity not in _RANK:
            raise ValueError(f"min_severity must be one of {', '.join(_RANK)}, got {min_severity!r}")
        self.fail_on_error = fail_on_error
        self.allow = dict(allow or {})
        self.min_severity = min_severity
        self.result: LintResult | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        if not hasattr(args, "num_generations"):  # an SFT/DPO/... config: nothing GRPO to lint
            if state.is_world_process_zero:
                logger.info("grpolab LintCallback: %s is not a GRPOConfig; not linted", type(args).__name__)
            return control
        self.result = lint_config(args, self.allow)
        if self.result.invalid:  # our reader's limit (a value it does not know), not a reason to stop TRL
            if state.is_world_process_zero:
                reason = "; ".join(f.message for f in self.result.findings if f.rule == "GL000")
                warnings.warn(f"grpolab could not lint this GRPOConfig: {reason}", LintWarning, stacklevel=2)
            return control
        if state.is_world_process_zero:
            shown = [f for f in self.result.findings if _RANK[f.severity] >= _RANK[self.min_severity]]
            for f in shown:
                warnings.warn(describe(f), LintWarning, stacklevel=2)
                logger.warning("grpolab lint: %s", describe(f))
        if self.fail_on_error and self.result.blocking:
            raise ConfigLintError(self.result)
        return control


_RANK = {"info": 0, "warning": 1, "error": 2}
