"""The real-world corpus: every GRPO-family example config and launch script of nine framework repositories, and
the launch scripts of research repositories that train with their own copy or fork of a framework (`DOWNSTREAM`:
TinyZero, Logic-RL, Search-R1, ZeroSearch, rllm/DeepScaleR, simpleRL-reason, ToRL, DeepResearcher, ReCall, PRIME,
Skywork-OR1, code-r1, Minimal-RL, General-Reasoner and RAGEN on verl; R1-Searcher, lmm-r1, MM-EUREKA and OpenRLHF-M on OpenRLHF;
understand-r1-zero, oat-zero and VeriFree on OAT; VLM-R1, R1-V, open-rs and open-medical-r1 on TRL; EasyR1, a verl fork with a schema of its own, and Seg-Zero on an early copy
of it), linted with its framework named and with `--input-format auto`.

The files stay in the repositories' git mirrors (brought by the `fetch` tool to /work/.mirror/<owner>+<name>/repo,
or `$GRPOLAB_MIRRORS`); only the manifest (repo, commit, path, framework, exit code, rule ids) is committed, in
tests/lint/corpus/manifest.json, and tests/lint/test_corpus.py checks the tree against it.

Selection rule (`select`), per repository at the mirror's HEAD commit:
  1. the file is under the repository's example folders (`EXAMPLE_ROOTS`: examples/ for all; open-r1 recipes/;
     TRL's own trl/scripts/grpo.py; for the research repositories also example/, scripts/ and the top level) —
     never tests/, docs/, docker/ or CI files (nor a vendored verl/ folder);
  2. it is a launch script (`.sh`) or a config (`.yaml`/`.yml`), or for TRL a Python training script (`.py`) that
     builds a GRPOConfig (a `GRPOConfig(` call or a `TrlParser`);
  3. it is GRPO-family: its text names a group-relative estimator or loss (`FAMILY`: grpo, gspo, dapo, rloo,
     dr_grpo, cispo, sapo, gpg, reinforce++ (baseline), group_norm, …; for TRL, `GRPOConfig`/`num_generations`);
  4. it is for a framework we lint: `framework_of` names it (gem's examples drive OAT, verl or OpenRLHF; its RL2
     examples are left out, RL2 has no adapter; so are skyrl-agent's Tinker examples and its
     agent-schema YAML files).

    .venv/bin/python bench/lint_corpus.py            # exit-code counts per framework, crashes, unreadable files
    .venv/bin/python bench/lint_corpus.py --update   # ... and rewrite tests/lint/corpus/manifest.json
    .venv/bin/python bench/lint_corpus.py --show verl --exit 2   # list files (and why) for one framework/exit
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tests" / "lint" / "corpus" / "manifest.json"
CACHE = Path(os.environ.get("GRPOLAB_CORPUS_CACHE", "/tmp/grpolab-corpus"))

#: repository -> the framework its files are linted as (gem: per folder, see `framework_of`)
REPOS: dict[str, str] = {
    "verl-project/verl": "verl",
    "NovaSky-AI/SkyRL": "skyrl",
    "alibaba/ROLL": "roll",
    "inclusionAI/AReaL": "areal",
    "OpenRLHF/OpenRLHF": "openrlhf",
    "sail-sg/oat": "oat",
    "axon-rl/gem": "gem",
    "huggingface/open-r1": "trl",
    "huggingface/trl": "trl",
    # downstream: research repositories that launch their own copy of verl (0.1–0.3, or a fork) from scripts
    "Jiayi-Pan/TinyZero": "verl",
    "Unakar/Logic-RL": "verl",
    "PeterGriffinJin/Search-R1": "verl",
    "agentica-project/rllm": "verl",
    "hkust-nlp/simpleRL-reason": "verl",
    "Alibaba-NLP/ZeroSearch": "verl",
    "GAIR-NLP/ToRL": "verl",
    "GAIR-NLP/DeepResearcher": "verl",
    "Agent-RL/ReCall": "verl",
    "PRIME-RL/PRIME": "verl",
    "SkyworkAI/Skywork-OR1": "verl",
    "RUCAIBox/R1-Searcher": "openrlhf",
    "sail-sg/understand-r1-zero": "oat",
    "om-ai-lab/VLM-R1": "trl",
    "Deep-Agent/R1-V": "trl",
    "knoveleng/open-rs": "trl",
    "TideDra/lmm-r1": "openrlhf",
    "ModalMinds/MM-EUREKA": "openrlhf",
    "hiyouga/EasyR1": "easyr1",
    "dvlab-research/Seg-Zero": "easyr1",
    "ganler/code-r1": "verl",
    "RLHFlow/Minimal-RL": "verl",
    "OpenRLHF/OpenRLHF-M": "openrlhf",
    "sail-sg/oat-zero": "oat",
    "Qsingle/open-medical-r1": "trl",
    "TIGER-AI-Lab/General-Reasoner": "verl",
    "sail-sg/VeriFree": "oat",
    "RAGEN-AI/RAGEN": "verl",
}
DOWNSTREAM = tuple(list(REPOS)[9:])
TOP_LEVEL = "<top level>"  # a root: the files at the repository's top (`train_grpo.sh`)
_DOWNSTREAM_ROOTS = ("examples/", "example/", "scripts/", TOP_LEVEL)
EXAMPLE_ROOTS: dict[str, tuple[str, ...]] = {
    **{repo: _DOWNSTREAM_ROOTS for repo in DOWNSTREAM},
    "PRIME-RL/PRIME": ("training/examples/",),
    "SkyworkAI/Skywork-OR1": ("examples/", "or1_scripts/"),
    "RUCAIBox/R1-Searcher": ("scripts/", "OpenRLHF-RAG/"),
    "om-ai-lab/VLM-R1": (
        "run_scripts/",
        "src/open-r1-multimodal/run_scripts/",
        "src/open-r1-multimodal/local_scripts/",
    ),
    # its launch scripts and its training script, not its trainer classes (src/r1-v/src/open_r1/trainer/)
    "Deep-Agent/R1-V": (
        "src/scripts/",
        "src/r1-v/local_scripts/",
        "src/r1-v/run_grpo.sh",
        "src/r1-v/src/open_r1/grpo.py",
    ),
    "knoveleng/open-rs": ("recipes/",),
    "RAGEN-AI/RAGEN": ("config/", TOP_LEVEL),
    "dvlab-research/Seg-Zero": ("training_scripts/",),
    "sail-sg/oat-zero": ("training/",),
    "Qsingle/open-medical-r1": ("recipes/",),
    "huggingface/open-r1": ("recipes/", "src/open_r1/grpo.py"),
    "huggingface/trl": ("examples/", "trl/scripts/grpo.py"),
    "NovaSky-AI/SkyRL": ("examples/", "skyrl-agent/examples/"),
}
_EXCLUDED_DIRS = re.compile(r"(^|/)(tests?|docs?|docker|dockerfile|\.github|ci)/", re.IGNORECASE)
FAMILY = re.compile(
    r"\b(grpo|gspo|dapo|rloo|dr[_-]?grpo|cispo|sapo|gpg|reinforce_plus_plus(_baseline)?|reinforce\+\+|"
    r"group_norm|gdpo|opo|lite_?ppo)\b",
    re.IGNORECASE,
)
#: selected files that are no trainer config (checked by hand): `--input-format auto` must refuse them; with the
#: framework named, the adapter should too (exit 2)
NOT_CONFIGS: dict[tuple[str, str], str] = {
    (
        "verl-project/verl",
        "examples/grpo_trainer/run_deepseek_v4_megatron_lite.sh",
    ): "prints that the example moved",
    ("NovaSky-AI/SkyRL", "examples/train/algorithms/dapo/prepare_dapo_data.sh"): "downloads the DAPO data",
    (
        "alibaba/ROLL",
        "examples/config/traj_envs_gem_math.yaml",
    ): "env definitions that agentic configs include",
    (
        "inclusionAI/AReaL",
        "examples/skypilot/ray_cluster.sky.yaml",
    ): "a SkyPilot task (its run: block launches AReaL)",
    (
        "inclusionAI/AReaL",
        "examples/skypilot/single_node.sky.yaml",
    ): "a SkyPilot task (its run: block launches AReaL)",
    ("OpenRLHF/OpenRLHF", "examples/scripts/nvidia_docker_install.sh"): "installs Docker",
    ("hkust-nlp/simpleRL-reason", "eval_math_nodes.sh"): "evaluates checkpoints (no training)",
    ("RUCAIBox/R1-Searcher", "OpenRLHF-RAG/remote_rm_start_jjh.sh"): "starts a reward server",
    (
        "RUCAIBox/R1-Searcher",
        "OpenRLHF-RAG/run.sh",
    ): "runs two scripts by absolute paths on its author's machine",
    ("RUCAIBox/R1-Searcher", "OpenRLHF-RAG/examples/scripts/nvidia_docker_install.sh"): "installs Docker",
    ("TideDra/lmm-r1", "examples/scripts/nvidia_docker_install.sh"): "installs Docker",
    ("OpenRLHF/OpenRLHF-M", "examples/scripts/nvidia_docker_install.sh"): "installs Docker",
}
#: real trainer configs that name nothing `--input-format auto` can tell the framework by, from the file and what
#: it points to (checked by hand): auto must refuse them (never guess); with the framework named they are linted
AUTO_UNDECIDABLE: dict[tuple[str, str], str] = {
    (
        "Deep-Agent/R1-V",
        "src/scripts/run_grpo_clevr.sh",
    ): "passes only TrainingArguments flags to src/open_r1/grpo.py, a path that exists only after `cd src/r1-v`",
}
_TRL_MARKER = re.compile(r"\bGRPOConfig\b|\bnum_generations\b")
_PY_CONFIG = re.compile(r"\bGRPOConfig\s*\(|\bTrlParser\b")
_PY_GRPO = re.compile(r"\bGRPOConfig\b")


def mirror_dir(repo: str) -> Path | None:
    base = Path(os.environ.get("GRPOLAB_MIRRORS", "/work/.mirror"))
    d = base / repo.replace("/", "+") / "repo"
    return d if (d / "HEAD").exists() or (d / ".git").exists() else None


def _git(repo_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True, check=True).stdout


def head_commit(repo_dir: Path) -> str:
    return _git(repo_dir, "rev-parse", "HEAD").decode().strip()


def framework_of(repo: str, path: str) -> str | None:
    if path.startswith("skyrl-agent/examples/"):  # skyrl-agent drives verl, SkyRL or Tinker (no adapter) from
        if not path.endswith(".sh"):  # launch scripts; its YAML files are its own agent schema
            return None
        return {"run_verl": "verl", "run_skyrl": "skyrl"}.get(path.split("/")[2])
    if repo == "axon-rl/gem":
        for folder, fw in (("train_oat", "gem"), ("train_verl", "verl"), ("train_openrlhf", "openrlhf")):
            if f"examples/{folder}/" in path:
                return fw
        return None
    return REPOS[repo]


def _in_roots(repo: str, path: str) -> bool:
    roots = EXAMPLE_ROOTS.get(repo, ("examples/",))
    return any(
        path == r or (r.endswith("/") and path.startswith(r)) or (r == TOP_LEVEL and "/" not in path)
        for r in roots
    ) and not _EXCLUDED_DIRS.search(path)


def _selected(repo: str, path: str, text: str) -> bool:
    fw = framework_of(repo, path)
    if fw is None:
        return False
    suffix = Path(path).suffix.lower()
    if suffix == ".py":
        return fw == "trl" and bool(_PY_GRPO.search(text) and _PY_CONFIG.search(text))
    if suffix not in (".sh", ".yaml", ".yml"):
        return False
    if fw == "easyr1":  # every launch script starts from a base config that is GRPO's: all are the family
        return suffix == ".sh" or bool(re.search(r"^worker:", text, re.M))
    if fw == "trl" and suffix != ".sh":
        # GRPO recipes (open-r1 keeps them in grpo/ folders; not its data filters)
        grpo_named = "/grpo/" in path or "grpo" in Path(path).stem.lower()
        return bool(_TRL_MARKER.search(text)) and (grpo_named or "GRPOConfig" in text)
    return bool(FAMILY.search(text) or FAMILY.search(path))


@dataclass
class Item:
    repo: str
    commit: str
    path: str
    framework: str
    exit: int | None = None  # 0/1/2 as `grpolab lint --input-format <framework>`; None: the linter crashed
    rules: list[str] = field(default_factory=list)  # "GL006:error", sorted, unique
    auto: str = ""  # the format `--input-format auto` picked ("unknown" when it refused)
    auto_exit: int | None = None
    why: str = ""  # first GL000 message (exit 2) or the crash
    not_config: str = ""  # why this selected file is no trainer config (NOT_CONFIGS)

    @property
    def auto_right(self) -> bool:
        """auto picked the file's framework, or refused a file that is no config."""
        refused = self.auto == "unknown"
        return self.auto == self.framework or (
            refused and (bool(self.not_config) or self.key() in AUTO_UNDECIDABLE)
        )

    def key(self) -> tuple[str, str]:
        return (self.repo, self.path)


def select(repo: str, repo_dir: Path, commit: str) -> list[tuple[str, str]]:
    """(path, framework) of every corpus file of `repo` at `commit` (the selection rule in the docstring)."""
    names = _git(repo_dir, "ls-tree", "-r", "--name-only", commit).decode().splitlines()
    candidates = [
        p for p in names if _in_roots(repo, p) and Path(p).suffix.lower() in (".sh", ".yaml", ".yml", ".py")
    ]
    out = []
    texts = read_blobs(repo_dir, commit, candidates)
    for p in candidates:
        text = texts.get(p)
        if text is not None and _selected(repo, p, text):
            fw = framework_of(repo, p)
            assert fw is not None
            out.append((p, fw))
    return out


def read_blobs(repo_dir: Path, commit: str, paths: list[str]) -> dict[str, str]:
    """Text of many files in one `git cat-file --batch` (undecodable or absent blobs are skipped)."""
    if not paths:
        return {}
    req = "".join(f"{commit}:{p}\n" for p in paths).encode()
    raw = subprocess.run(
        ["git", "-C", str(repo_dir), "cat-file", "--batch"], input=req, capture_output=True, check=True
    ).stdout
    out: dict[str, str] = {}
    pos = 0
    for p in paths:
        nl = raw.index(b"\n", pos)
        header = raw[pos:nl].split()
        pos = nl + 1
        if len(header) < 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        blob = raw[pos : pos + size]
        pos += size + 1
        try:
            out[p] = blob.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return out


_EXPORT_KIND = "v2"  # bump when `export` extracts other files (the cache is keyed by it)


def export(repo: str, repo_dir: Path, commit: str) -> Path:
    """The repository's text files (configs, scripts, Python) at `commit` under the cache, extracted once: linting
    real files lets an adapter open a base config the script names (`--config base.yaml`) as the user's would."""
    dest = CACHE / f"{repo.replace('/', '+')}@{commit[:12]}-{_EXPORT_KIND}"
    done = dest / ".complete"
    if done.exists():
        return dest
    names = _git(repo_dir, "ls-tree", "-r", "--name-only", commit).decode().splitlines()
    wanted = [
        p
        for p in names
        if Path(p).suffix.lower() in (".sh", ".yaml", ".yml", ".py", ".json", ".toml")
        or p.endswith(
            "verl/version/version"
        )  # a vendored verl's version: the linter reads it as the user's would
    ]
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(wanted), 500):  # blobs only, in chunks: absent large files never block the export
        texts = read_blobs(repo_dir, commit, wanted[i : i + 500])
        for p, text in texts.items():
            target = dest / p
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    done.write_text(commit)
    return dest


def lint_one(root: Path, item: Item) -> Item:
    from training.lint import lint_file

    path = root / item.path
    try:
        res = lint_file(path, item.framework)
        item.exit = exit_code(res)
        item.rules = sorted({f"{f.rule}:{f.severity}" for f in res.findings})
        if res.invalid:
            item.why = next(f.message for f in res.findings if f.rule == "GL000")
    except Exception:  # a crash is what the corpus exists to catch: record it, keep going
        item.exit = None
        item.why = traceback.format_exc(limit=-3).strip().splitlines()[-1]
    try:
        auto = lint_file(path, "auto")
        item.auto = auto.format
        item.auto_exit = exit_code(auto)
    except Exception:
        item.auto = "crash"
        item.auto_exit = None
    return item


def exit_code(res: object) -> int:
    """`grpolab lint`'s exit status for one result."""
    if getattr(res, "invalid", False):
        return 2
    return 1 if getattr(res, "blocking", []) else 0


def collect(repos: list[str] | None = None) -> tuple[list[Item], list[str]]:
    """Lint the whole corpus from the mirrors; also returns the repositories whose mirror is missing."""
    sys.path.insert(0, str(ROOT))
    items: list[Item] = []
    missing = []
    for repo in repos or list(REPOS):
        repo_dir = mirror_dir(repo)
        if repo_dir is None:
            missing.append(repo)
            continue
        commit = head_commit(repo_dir)
        root = export(repo, repo_dir, commit)
        for path, fw in select(repo, repo_dir, commit):
            item = Item(
                repo=repo,
                commit=commit,
                path=path,
                framework=fw,
                not_config=NOT_CONFIGS.get((repo, path), ""),
            )
            items.append(lint_one(root, item))
    return items, missing


def load_manifest() -> list[Item]:
    data = json.loads(MANIFEST.read_text())
    return [Item(**entry) for entry in data["files"]]


def write_manifest(items: list[Item]) -> None:
    """One file per line, so a moved verdict is a one-line diff."""
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    about = (
        "grpolab lint over the frameworks' own GRPO-family examples; regenerate with "
        "`.venv/bin/python bench/lint_corpus.py --update` (selection rule: that script's docstring)"
    )
    commits = {i.repo: i.commit for i in items}
    rows = [
        json.dumps(
            {k: v for k, v in asdict(i).items() if k != "commit"} | {"commit": i.commit[:12]},
            ensure_ascii=False,
        )
        for i in sorted(items, key=Item.key)
    ]
    MANIFEST.write_text(
        "{\n"
        f' "about": {json.dumps(about)},\n'
        f' "commits": {json.dumps(commits, indent=2)},\n'
        ' "files": [\n  ' + ",\n  ".join(rows) + "\n ]\n}\n"
    )


def report(items: list[Item], missing: list[str]) -> str:
    lines = []
    per_fw: dict[str, Counter[str]] = {}
    for i in items:
        per_fw.setdefault(i.framework, Counter())[str(i.exit) if i.exit is not None else "crash"] += 1
    lines.append(
        f"{'framework':<10} {'files':>5} {'exit 0':>7} {'exit 1':>7} {'exit 2':>7} {'crash':>6}  auto wrong"
    )
    for fw in sorted(per_fw):
        c = per_fw[fw]
        n = sum(c.values())
        wrong = sum(1 for i in items if i.framework == fw and not i.auto_right)
        lines.append(f"{fw:<10} {n:>5} {c['0']:>7} {c['1']:>7} {c['2']:>7} {c['crash']:>6}  {wrong:>10}")
    total = Counter(str(i.exit) if i.exit is not None else "crash" for i in items)
    lines.append(
        f"{'all':<10} {len(items):>5} {total['0']:>7} {total['1']:>7} {total['2']:>7} {total['crash']:>6}  "
        f"{sum(1 for i in items if not i.auto_right):>10}"
    )
    if missing:
        lines.append(f"mirrors missing (not linted): {', '.join(missing)}")
    for i in items:
        if i.exit is None:
            lines.append(f"crash: {i.repo}:{i.path}: {i.why}")
    for i in items:
        if i.exit == 2:
            extra = f" [no config: {i.not_config}]" if i.not_config else ""
            lines.append(f"unreadable: {i.repo}:{i.path}: {i.why[:160]}{extra}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--update", action="store_true", help="rewrite tests/lint/corpus/manifest.json")
    ap.add_argument(
        "--show", metavar="FRAMEWORK", help="list the files of one framework ('all' for every one)"
    )
    ap.add_argument("--exit", type=int, choices=[0, 1, 2], help="with --show: only files with this exit code")
    ap.add_argument(
        "--auto-wrong", action="store_true", help="with --show: only files auto-detection got wrong"
    )
    args = ap.parse_args()
    items, missing = collect()
    print(report(items, missing))
    if args.show:
        for i in items:
            if args.show not in ("all", i.framework):
                continue
            if args.exit is not None and i.exit != args.exit:
                continue
            if args.auto_wrong and i.auto_right:
                continue
            extra = f" (no config: {i.not_config})" if i.not_config else ""
            print(
                f"{i.exit} {i.repo}:{i.path} [{i.framework}; auto: {i.auto}] {' '.join(i.rules)} {i.why}{extra}"
            )
    if args.update:
        if missing:
            print(
                "refusing to --update with mirrors missing: the manifest would lose their files",
                file=sys.stderr,
            )
            return 2
        write_manifest(items)
        print(f"wrote {MANIFEST.relative_to(ROOT)} ({len(items)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
