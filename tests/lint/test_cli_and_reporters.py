"""`grpolab lint` as a process: exit codes, text/JSON/SARIF output, --explain, docs kept in sync."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.lint.explain import all_pages, example_format, rule_examples, with_rule_table
from training.lint.rules import RULES

ROOT = Path(__file__).resolve().parents[2]


def grpolab(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grpolab", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_buggy_example_exits_1_with_gl001_line_and_column() -> None:
    p = grpolab("lint", "examples/seed-buggy.yaml")
    assert p.returncode == 1
    line = next(ln for ln in p.stdout.splitlines() if "GL001" in ln)
    assert line.startswith("examples/seed-buggy.yaml:6:3: GL001 error: double normalization")


def test_default_config_exits_0() -> None:
    p = grpolab("lint", "examples/default.yaml")
    assert p.returncode == 0, p.stdout
    assert "no findings" in p.stdout


def test_unparseable_file_exits_2_and_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("algorithm: [unclosed\n")
    good = ROOT / "examples" / "seed-buggy.yaml"
    p = grpolab("lint", "--format", "json", str(bad), str(good))
    assert p.returncode == 2
    files = json.loads(p.stdout)["files"]
    assert files[0]["findings"][0]["rule"] == "GL000" and files[0]["findings"][0]["line"] == 2
    assert files[1]["findings"][0]["rule"] == "GL001"


def test_json_shape() -> None:
    p = grpolab("lint", "--format", "json", "examples/seed-buggy.yaml")
    doc = json.loads(p.stdout)
    f = doc["files"][0]
    assert f["path"] == "examples/seed-buggy.yaml" and f["format"] == "grpolab"
    finding = f["findings"][0]
    for key in ("rule", "severity", "message", "why", "fix", "pointer", "line", "column"):
        assert key in finding
    assert finding["pointer"] == "/algorithm/norm_return" and (finding["line"], finding["column"]) == (6, 3)


def test_sarif_is_2_1_0_with_rules_and_locations() -> None:
    p = grpolab("lint", "--format", "sarif", "examples/seed-buggy.yaml")
    doc = json.loads(p.stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert set(RULES) <= set(ids)
    gl001 = run["tool"]["driver"]["rules"][ids.index("GL001")]
    assert "Why it matters" in gl001["help"]["markdown"]
    res = run["results"][0]
    assert res["ruleId"] == "GL001" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 3}
    assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == "GL001"


def test_allowed_finding_is_suppressed_in_sarif_and_exit_0() -> None:
    p = grpolab("lint", "--format", "sarif", "examples/ablation-double-norm.yaml")
    assert p.returncode == 0
    results = json.loads(p.stdout)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"GL001", "GL006"}
    assert all(r["suppressions"][0]["justification"] for r in results)


def test_stdin() -> None:
    p = grpolab("lint", "-", stdin="algorithm:\n  std_eps: 0\n")
    assert p.returncode == 1 and "<stdin>:2:3: GL008 error" in p.stdout


def test_explain_prints_rule_page() -> None:
    p = grpolab("lint", "--explain", "GL001")
    assert p.returncode == 0
    assert p.stdout.startswith("# GL001 double-normalization (error)")
    assert "norm_return" in p.stdout
    assert grpolab("lint", "--explain", "GL999").returncode == 2


def test_docs_and_examples_match_rule_definitions() -> None:
    for name, text in all_pages().items():
        assert (ROOT / "docs" / "rules" / name).read_text() == text, (
            f"regenerate: python -m training.lint.explain ({name})"
        )
    for name, text in rule_examples().items():
        assert (ROOT / "examples" / "rules" / name).read_text() == text, name


@pytest.mark.parametrize("name", sorted(rule_examples()))
def test_each_rule_example_fires_its_rule(name: str) -> None:
    from training.lint import lint_file

    rid = name.split("-")[0]
    fmt = example_format(RULES[rid].example)  # rules of other frameworks' options show their own format
    res = lint_file(ROOT / "examples" / "rules" / name, fmt)
    assert rid in {f.rule for f in res.findings}
    fixed = RULES[rid].fixed_example
    if fixed:
        from training.lint import lint_text

        assert rid not in {f.rule for f in lint_text(fixed, example_format(fixed)).findings}


def test_lint_docs_rule_table_is_generated_from_the_rules() -> None:
    page = (ROOT / "docs" / "lint.md").read_text()
    assert with_rule_table(page) == page, "regenerate: python -m training.lint.explain"
    assert all(f"| [{rid}](rules/{rid}.md) | {r.name} |" in page for rid, r in RULES.items())


def test_lint_process_does_not_import_torch() -> None:
    code = (
        "import sys; from grpolab.cli import main; rc = main(['lint', 'examples/default.yaml']);"
        "print('TORCH' if 'torch' in sys.modules else 'NOTORCH')"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip().endswith("NOTORCH")
