"""GRPO Lab's config linter: rules over a neutral concept model, adapters per format, reporters.

Imports neither torch nor transformers: `grpolab lint` and the API stay fast and light.
"""

from training.lint.engine import INVALID, LintResult, lint_file, lint_loaded, lint_text, run_rules
from training.lint.explain import explain
from training.lint.findings import Finding, Rule
from training.lint.rules import RULES

__all__ = [
    "INVALID",
    "RULES",
    "Finding",
    "LintResult",
    "Rule",
    "explain",
    "lint_file",
    "lint_loaded",
    "lint_text",
    "run_rules",
]
