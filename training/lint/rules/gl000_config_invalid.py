"""GL000 config-invalid: the file cannot be read as a config of the format it was linted as.

Unlike the other rules it has no check over concepts: the engine reports it itself, before any concept exists,
for text that does not parse, a value that fails validation, or a script with no trainer command and no config
keys. It is a registered rule all the same, so `--explain`, SARIF, the docs and the API's `/rules` list it like
every other.
"""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(_c: Concepts) -> list[Hit]:
    return []  # reported by the engine (engine.invalid_findings), never from concepts


RULE = Rule(
    id="GL000",
    name="config-invalid",
    severity="error",
    title="The file cannot be used as a config",
    why=(
        "Reported for text that is not valid YAML/JSON, a value of the wrong type, an unknown key, NaN or "
        "infinity where a number must be finite, anchors/aliases, nesting deeper than 64 levels, a file over "
        "1 MB, or a launch script with no trainer command and no config keys (a README, a data download "
        "script). Nothing else can be checked until it is fixed. The message names the field, the line and "
        "the column."
    ),
    fix=(
        "Fix the field named in the message. `grpolab schema` prints every field of a GRPO Lab config with its "
        "type, default and description; for another framework's file, pass `--input-format` if the detection "
        "picked the wrong one."
    ),
    check=check,
    example="algorithm:\n  estimator: gpro\n",
    fixed_example="algorithm:\n  estimator: grpo\n",
    allowable=False,
)
