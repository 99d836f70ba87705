"""The real-world corpus: the frameworks' own GRPO-family examples, linted as the manifest says.

The files are read from the frameworks' git mirrors (the `fetch` tool's /work/.mirror, or `$GRPOLAB_MIRRORS`) at
the commit the manifest pins; nothing of theirs is in this repository. Without a mirror the test skips and says
which. When a verdict moves on purpose (a rule or a reader fixed), regenerate the manifest with
`.venv/bin/python bench/lint_corpus.py --update` and review its diff.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).parent / "corpus" / "manifest.json"


def _load_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_corpus", ROOT / "bench" / "lint_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["lint_corpus"] = module
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()
DOC = json.loads(MANIFEST.read_text())
REPOS = sorted(DOC["commits"])


def _checkout(repo: str) -> tuple[Path, str]:
    repo_dir = corpus.mirror_dir(repo)
    if repo_dir is None:
        pytest.skip(f"no git mirror of {repo} on this machine (fetch github:{repo} to run this test)")
    commit = DOC["commits"][repo]
    probe = subprocess.run(
        ["git", "-C", str(repo_dir), "cat-file", "-e", f"{commit}^{{commit}}"], check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"the mirror of {repo} does not hold the pinned commit {commit[:12]}")
    return repo_dir, commit


def _entries(repo: str) -> list[dict[str, object]]:
    return [e for e in DOC["files"] if e["repo"] == repo]


def test_manifest_covers_every_framework_and_has_no_crash() -> None:
    assert set(DOC["commits"]) == set(corpus.REPOS)
    frameworks = {e["framework"] for e in DOC["files"]}
    assert {"verl", "skyrl", "roll", "areal", "openrlhf", "oat", "trl"} <= frameworks
    assert all(e["exit"] in (0, 1, 2) for e in DOC["files"]), "a crash was recorded in the manifest"


def test_auto_detection_is_right_on_every_file() -> None:
    """`--input-format auto` picks the file's framework, or refuses a file that is no trainer config."""
    wrong = [
        f"{e['repo']}:{e['path']} is {e['framework']}, auto said {e['auto']}"
        for e in DOC["files"]
        if not corpus.Item(**e).auto_right
    ]
    assert {(e["repo"], e["path"]) for e in DOC["files"] if e["not_config"]} == set(corpus.NOT_CONFIGS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("repo", REPOS)
def test_selection_rule_picks_the_manifest_files(repo: str) -> None:
    repo_dir, commit = _checkout(repo)
    selected = {(p, fw) for p, fw in corpus.select(repo, repo_dir, commit)}
    assert selected == {(e["path"], e["framework"]) for e in _entries(repo)}


@pytest.mark.parametrize("repo", REPOS)
def test_verdicts_match_the_manifest(repo: str) -> None:
    repo_dir, commit = _checkout(repo)
    root = corpus.export(repo, repo_dir, commit)
    moved = []
    for e in _entries(repo):
        item = corpus.lint_one(
            root, corpus.Item(repo=repo, commit=commit, path=e["path"], framework=e["framework"])
        )
        got = {"exit": item.exit, "rules": item.rules, "auto": item.auto, "auto_exit": item.auto_exit}
        want = {k: e[k] for k in got}
        if got != want:
            moved.append(f"{e['path']}: manifest {want}, now {got} {item.why}")
    assert not moved, (
        "verdicts moved (regenerate with bench/lint_corpus.py --update if on purpose):\n" + "\n".join(moved)
    )
