"""Rule pages: `grpolab lint --explain GL001` and docs/rules/GL001.md come from the same text."""

from __future__ import annotations

from training.lint.rules import RULES

GL000_PAGE = """# GL000 config-invalid (error)

**The file cannot be used as a config.**

Reported for text that is not valid YAML/JSON, a value of the wrong type, an unknown key, NaN or infinity
where a number must be finite, anchors/aliases, nesting deeper than 64 levels, or a file over 1 MB.
Nothing else can be checked until it is fixed. The message names the field, the line and the column.

## Fix
Fix the field named in the message. `grpolab schema` prints every field with its type, default and
description.
"""


def explain(rule_id: str) -> str:
    """The rule's page as Markdown. Raises KeyError for an unknown id."""
    rid = rule_id.upper()
    if rid == "GL000":
        return GL000_PAGE
    rule = RULES[rid]
    parts = [
        f"# {rule.id} {rule.name} ({rule.severity})",
        "",
        f"**{rule.title}.**",
        "",
        "## Why it matters",
        rule.why,
        "",
        "## Fix",
        rule.fix,
    ]
    if rule.example:
        parts += ["", "## Example that fires", "```yaml", rule.example.rstrip(), "```"]
    if rule.fixed_example:
        parts += ["", "## Fixed", "```yaml", rule.fixed_example.rstrip(), "```"]
    if rule.references:
        parts += ["", "## References", *[f"- {r}" for r in rule.references]]
    parts += [
        "",
        "## Allowing it on purpose",
        "For an ablation, acknowledge the finding in the config itself; the reason is recorded with the run:",
        "```yaml",
        f"lint:\n  allow:\n    - rule: {rule.id}\n      reason: ablation of {rule.name}",
        "```",
    ]
    return "\n".join(parts) + "\n"


def all_pages() -> dict[str, str]:
    """File name -> page, for docs/rules/ (kept in sync by a test)."""
    pages = {"GL000.md": GL000_PAGE}
    pages.update({f"{rid}.md": explain(rid) for rid in RULES})
    return pages


def rule_examples() -> dict[str, str]:
    """File name -> example config that fires the rule, for examples/rules/ (kept in sync by a test)."""
    out = {}
    for r in RULES.values():
        if r.example:
            out[f"{r.id}-{r.name}.yaml"] = f"# fires {r.id} {r.name} ({r.severity}): {r.title}\n{r.example}"
    return out


def write_docs(root: str = ".") -> list[str]:
    """Regenerate docs/rules/*.md and examples/rules/*.yaml from the rule definitions."""
    from pathlib import Path

    written = []
    for folder, files in (("docs/rules", all_pages()), ("examples/rules", rule_examples())):
        d = Path(root) / folder
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (d / name).write_text(text, encoding="utf-8")
            written.append(str(d / name))
    return written


if __name__ == "__main__":  # python -m training.lint.explain  (regenerates the rule pages and examples)
    for path in write_docs():
        print(path)
