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


# ---- `--input-format auto` on the shapes the corpus showed (files written here, the same shapes as the real ones)

OPEN_R1_STYLE = """\
model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct
bf16: true
use_vllm: true
gradient_checkpointing: true
gradient_checkpointing_kwargs:
  use_reentrant: false
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
learning_rate: 1.0e-06
num_generations: 16
per_device_train_batch_size: 16
reward_funcs:
- accuracy
- format
"""


def test_open_r1_style_trl_yaml_is_detected_despite_mapping_fields() -> None:
    from training.lint import lint_text

    res = lint_text(OPEN_R1_STYLE, "auto", "recipes/model/grpo/config_demo.yaml")
    assert res.format == "trl" and not res.invalid


def test_a_wrapper_script_is_detected_from_the_script_it_runs(tmp_path: Path) -> None:
    from training.lint import lint_file

    base = (ROOT / "tests" / "lint" / "foreign" / "skyrl" / "drgrpo_gsm8k.sh").read_text()
    (tmp_path / "examples" / "train" / "gsm8k").mkdir(parents=True)
    (tmp_path / "examples" / "train" / "gsm8k" / "run_gsm8k.sh").write_text(base)
    algo = tmp_path / "examples" / "train" / "algorithms" / "gspo"
    algo.mkdir(parents=True)
    # the repository-root-relative path SkyRL's algorithm examples use, and the `$SCRIPT_DIR/` form
    (algo / "run_gspo.sh").write_text(
        'bash examples/train/gsm8k/run_gsm8k.sh \\\n  trainer.algorithm.policy_loss_type="gspo" \\\n  "$@"\n'
    )
    (tmp_path / "examples" / "train" / "gsm8k" / "run_nfs.sh").write_text(
        'SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"\nbash "$SCRIPT_DIR/run_gsm8k.sh" "$@"\n'
    )
    for wrapper in (algo / "run_gspo.sh", tmp_path / "examples" / "train" / "gsm8k" / "run_nfs.sh"):
        res = lint_file(wrapper, "auto")
        assert res.format == "skyrl", (wrapper, res.notes, [f.message for f in res.findings])
        assert any("run_gsm8k.sh" in n for n in res.notes)


def test_a_custom_entry_point_is_detected_from_its_base_config(tmp_path: Path) -> None:
    from training.lint import lint_file

    base = (ROOT / "tests" / "lint" / "foreign" / "areal" / "gsm8k_grpo_twice.yaml").read_text()
    (tmp_path / "examples" / "vlm").mkdir(parents=True)
    (tmp_path / "examples" / "vlm" / "base.yaml").write_text(base)
    script = tmp_path / "examples" / "vlm" / "multinode.sh"
    script.write_text(
        "python examples/vlm/train.py \\\n  --config examples/vlm/base.yaml \\\n  gconfig.n_samples=8\n"
    )
    assert lint_file(script, "auto").format == "areal"


def test_a_python_file_without_a_grpo_config_is_refused_with_what_to_lint(tmp_path: Path) -> None:
    from training.lint import lint_file

    script = tmp_path / "sft.py"
    script.write_text("from trl import SFTConfig\nargs = SFTConfig(output_dir='o')\n")
    res = lint_file(script, "auto")
    assert res.invalid and "TRL training script" in res.findings[0].message


def test_wrappers_are_followed_only_for_the_file_on_disk(tmp_path: Path) -> None:
    from training.lint import lint_text

    base = (ROOT / "tests" / "lint" / "foreign" / "skyrl" / "drgrpo_gsm8k.sh").read_text()
    (tmp_path / "run_base.sh").write_text(base)
    wrapper_text = 'bash run_base.sh trainer.epochs=1 "$@"\n'
    (tmp_path / "run.sh").write_text(wrapper_text)
    assert lint_text(wrapper_text, "auto", str(tmp_path / "run.sh")).format == "skyrl"
    # the same name with other text (an API upload, stdin): nothing next to it is opened
    other = lint_text('bash run_base.sh trainer.epochs=2 "$@"\n', "auto", str(tmp_path / "run.sh"))
    assert other.format == "unknown" and other.invalid
