"""Hub ids: a tiny chat model (real BPE tokenizer, chat template) stored in the HF cache layout loads by id with
HF_HUB_OFFLINE=1 and trains on a reasoning-gym task; an uncached id fails at once with the id and the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.training.conftest import TINY_CHAT_REPO as REPO
from training.config import ModelConfig, RunConfig, hub_id_problem
from training.config_io import load_text
from training.lint import lint_loaded
from training.models import ModelLoadError, cached_snapshot, count_parameters, load_policy
from training.tiny_models import IM_END

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hf_home(tiny_chat_hf_home):
    return tiny_chat_hf_home


@pytest.fixture
def offline(hub_offline):
    return hub_offline


def test_cache_layout_is_the_hubs(hf_home):
    repo = hf_home / "hub" / "models--grpolab-test--tiny-chat"
    commit = (repo / "refs" / "main").read_text()
    snapshot = repo / "snapshots" / commit
    assert len(commit) == 40 and snapshot.is_dir()
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in snapshot.iterdir()}
    weights = snapshot / "model.safetensors"
    assert weights.is_symlink() and weights.resolve().parent == repo / "blobs"
    assert cached_snapshot(REPO, "main", hf_home / "hub") == snapshot
    assert (repo / "refs" / "v1").read_text() != commit


def test_cached_id_loads_offline_with_its_tokenizer_and_template(offline):
    policy = load_policy(ModelConfig(path=REPO))
    assert policy.source == REPO and policy.fmt == "chat"
    assert type(policy.model).__name__ == "Qwen2ForCausalLM"
    assert 10_000 <= count_parameters(policy.model) <= 100_000
    tok = policy.tokenizer
    text = "State the final answer: 47 + 83 = \\boxed{130}"
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    assert len(ids) < len(text)  # subword merges, not one token per character
    assert [tok.decode([i]) for i in tok.encode("4783", add_special_tokens=False)] == ["4", "7", "8", "3"]
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == IM_END


def test_revision_picks_its_snapshot(offline):
    main = load_policy(ModelConfig(path=REPO)).model
    v1 = load_policy(ModelConfig(path=REPO, revision="v1"))
    assert v1.source == f"{REPO}@v1"
    assert not torch.equal(main.model.embed_tokens.weight, v1.model.model.embed_tokens.weight)
    with pytest.raises(ModelLoadError, match=r"'grpolab-test/tiny-chat' \(revision 'v9'\).*--revision v9"):
        load_policy(ModelConfig(path=REPO, revision="v9"))


def test_uncached_id_offline_fails_at_once_with_id_and_fix(offline):
    t0 = time.perf_counter()
    with pytest.raises(ModelLoadError) as exc:
        load_policy(ModelConfig(path="nobody-here/absent-model"))
    elapsed = time.perf_counter() - t0
    msg = str(exc.value)
    assert "'nobody-here/absent-model'" in msg and "HF_HUB_OFFLINE=1" in msg
    assert f"HF_HOME={offline} huggingface-cli download nobody-here/absent-model" in msg
    print(f"uncached id refused in {elapsed:.3f} s")


def test_neither_folder_nor_hub_id_is_refused_with_both_forms_named(offline, tmp_path):
    with pytest.raises(ModelLoadError, match=r"not an existing folder.*not a hub id"):
        load_policy(ModelConfig(path=str(tmp_path / "no" / "such" / "folder")))


def test_hub_id_syntax():
    assert hub_id_problem("Qwen/Qwen2.5-1.5B-Instruct") is None
    assert hub_id_problem("meta-llama/Llama-3.2-1B") is None
    for bad in ("Qwen", "a/b/c", "org/na me", "-org/name", "org/name--x", "org/..", "org/name.git", "/org/x"):
        assert hub_id_problem(bad) is not None, bad


def test_lint_accepts_a_hub_id():
    loaded = load_text("model:\n  path: Qwen/Qwen2.5-0.5B-Instruct\n  revision: main\n", "hub.yaml")
    result = lint_loaded(loaded)
    assert not result.blocking
    assert not [f for f in result.findings if "model" in (f.pointer or "")]


def test_cached_id_trains_two_steps_on_a_reasoning_gym_task(offline, tmp_path):
    from training.pipeline import train

    cfg = RunConfig.model_validate(
        {
            "model": {"path": REPO},
            "env": {"id": "rg:chain_sum", "kwargs": {"min_terms": 2, "max_terms": 2, "max_digits": 1}},
            "rollout": {"batch_size": 8, "max_new_tokens": 6},
            "algorithm": {"group_size": 4},
            "run": {"steps": 2, "eval_episodes": 0, "checkpoint_every": 0},
            "resources": {"cpu_threads": 1},
        }
    )
    before = {k: v.clone() for k, v in load_policy(cfg.model).model.state_dict().items()}
    summary = train(cfg, tmp_path / "run")
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and summary["model"] == REPO
    assert all(0.0 <= r["rollout/reward_mean"] <= 1.0 for r in rows)
    from transformers import AutoModelForCausalLM

    after = AutoModelForCausalLM.from_pretrained(summary["checkpoint"]).state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "two GRPO steps left every weight unchanged"


def test_cli_prints_the_message_without_a_traceback(hf_home, tmp_path):
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"path": "nobody-here/absent-model"}, "run": {"steps": 1}}))
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "grpolab", "train", str(cfg), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "nobody-here/absent-model" in proc.stderr and "huggingface-cli download" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_worker_fails_the_run_with_the_message(offline, tmp_path, capsys):
    """The worker's training process reports the id and the fix as the run's error."""
    from worker.child import MARK, main

    cfg = RunConfig.model_validate({"model": {"path": "nobody-here/absent-model"}})
    (tmp_path / "run-config.json").write_text(cfg.model_dump_json())
    assert main([str(tmp_path)]) == 1
    events = [json.loads(x[1:]) for x in capsys.readouterr().out.split("\n") if x.startswith(MARK)]
    errors = [e["message"] for e in events if e["type"] == "error"]
    assert len(errors) == 1
    assert "'nobody-here/absent-model'" in errors[0] and "huggingface-cli download" in errors[0]


def test_a_partial_snapshot_names_the_fix(tmp_path, monkeypatch):
    from training.tiny_models import build_bpe_tokenizer, build_tiny_chat_model, save_to_hub_cache

    tok = build_bpe_tokenizer(["1 + 2 = 3", "hello there"] * 20, vocab_size=264)
    snapshot = save_to_hub_cache(build_tiny_chat_model(tok), tok, "grpolab-test/partial", tmp_path / "hub")
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        (snapshot / name).unlink()
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match=r"cannot load .*huggingface-cli download grpolab-test/partial"):
        load_policy(ModelConfig(path="grpolab-test/partial"))
