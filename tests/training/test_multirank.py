"""Several ranks in one run, for real: 2 gloo ranks on CPU started by training.distributed's launcher.

- group integrity: each rank trains on whole groups whose advantages equal one process's for the same episodes,
  and the summed-gradient update equals one process's update on the whole batch (torch learner);
- `grpolab train --nproc 2` with DeepSpeed ZeRO-2: one metrics writer, each step once, a loadable checkpoint,
  resume;
- the worker's launch: the command line it builds, and that command's stdout (rank 0 reports, once per step).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.training.multirank_probe import probe_config
from training.distributed import launch, launch_command, shard

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "DS_ACCELERATOR": "cpu"}


def test_shards_are_whole_contiguous_and_cover_everything():
    from training.distributed import Ranks

    for n, world in [(3, 2), (8, 3), (1, 4), (0, 2)]:
        parts = [shard(n, Ranks(rank=r, world=world)) for r in range(world)]
        assert [i for p in parts for i in p] == list(range(n))
        assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1


def test_a_failing_rank_stops_the_others_and_its_status_is_returned(tmp_path):
    done = tmp_path / "rank0-finished"
    code = (
        "import os, sys, time\n"
        "if os.environ['RANK'] == '1': sys.exit(3)\n"
        f"time.sleep(60); open({str(done)!r}, 'w').close()"
    )
    assert launch(2, [sys.executable, "-c", code], env=ENV, grace_s=5) == 3
    assert not done.exists()  # rank 0 was terminated, not waited for


def test_worker_builds_the_launcher_command_from_resources(tmp_path):
    from worker.runner import trainer_command

    one = trainer_command({"resources": {"gpus": 1}}, tmp_path)
    assert one == [sys.executable, "-m", "worker.child", str(tmp_path)]
    assert trainer_command({}, tmp_path) == one
    four = trainer_command({"resources": {"gpus": 4, "cpu_ranks": 2}}, tmp_path)
    assert four == [sys.executable, "-m", "training.distributed", "--nproc", "4", "--", *one]
    assert trainer_command({"resources": {"gpus": 0, "cpu_ranks": 2}}, tmp_path) == launch_command(2, one)


def test_each_rank_trains_whole_groups_with_single_process_advantages_and_update(tmp_path):
    """One real step on 2 ranks (3 groups: 2 + 1), `reinforce_pp_baseline` (whitened over the whole batch)."""
    from training.backends import TrainBatch
    from training.learner.torch_learner import TorchLearner
    from training.models import load_policy
    from training.pipeline import build_batch

    probe = ROOT / "tests" / "training" / "multirank_probe.py"
    assert launch(2, [sys.executable, str(probe), str(tmp_path)], env=ENV) == 0
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2

    # every rank gathered the same groups; one process builds the batch from them
    cfg = probe_config()
    groups = r0["groups"]
    assert [[e.token_ids for e in g] for g in groups] == [[e.token_ids for e in g] for g in r1["groups"]]
    rng = np.random.default_rng([cfg.run.seed, 1, 1])
    rng.integers(0, 2**31 - 1, size=3), rng.integers(2**31)  # the draws rollout made (seeds, sampling seed)
    whole, _ = build_batch(groups, cfg, rng)
    assert any(abs(a) > 0.1 for s in whole.sequences for a in s.advantages)  # a batch with signal

    # whole groups: rank 0 has groups 0-1, rank 1 group 2, all G episodes of each
    g0 = sorted({g for g, _, _ in r0["sequences"]})
    g1 = sorted({g for g, _, _ in r1["sequences"]})
    assert (g0, g1) == ([0, 1], [2])
    assert len(r0["sequences"]) + len(r1["sequences"]) == len(whole.sequences) == 24
    expected = {(s.group_id, tuple(s.token_ids)): s.advantages for s in whole.sequences}
    for g, ids, adv in [*r0["sequences"], *r1["sequences"]]:
        assert adv == expected[(g, tuple(ids))]  # bit-equal to one process's advantages

    # the replicas end identical, and equal to one process's update on the whole batch
    for name, w in r0["after"].items():
        torch.testing.assert_close(w, r1["after"][name], rtol=0, atol=0, msg=name)
    policy = load_policy(cfg.model, seed=cfg.run.seed)
    policy.model.load_state_dict(r0["before"])  # warm-started: the policy and its KL reference
    learner = TorchLearner(policy.model, cfg.algorithm, cfg.optim, total_steps=cfg.run.steps)
    one = learner.step(TrainBatch(whole.sequences, temperature=whole.temperature))
    changed = 0
    for name, w in policy.model.state_dict().items():
        torch.testing.assert_close(r0["after"][name], w, rtol=1e-5, atol=1e-6, msg=name)
        changed += int(not torch.equal(w, r0["before"][name]))
    assert changed >= len(r0["before"]) - 2
    for key in ("loss/pg", "loss/kl", "entropy", "grad_norm"):
        assert r0["metrics"][key] == pytest.approx(one[key], rel=1e-5, abs=1e-7), key


def _text(out: str) -> str:
    """Printed text with the console's line wrapping undone."""
    return " ".join(out.split())


def _deepspeed_cfg(path: Path) -> Path:
    path.write_text(
        "model: {hidden_size: 16, num_layers: 1, num_heads: 2, intermediate_size: 32}\n"
        "rollout: {batch_size: 24}\n"
        "algorithm: {group_size: 8}\n"
        "optim: {micro_batch_size: 4}\n"
        "learner: {backend: deepspeed, zero_stage: 2}\n"
        "run: {steps: 2, eval_episodes: 0, checkpoint_every: 0}\n"
        "resources: {cpu_threads: 1}\n"
    )
    return path


@pytest.mark.gpu_path
def test_grpolab_train_nproc_2_deepspeed_zero2_one_writer_checkpoint_resume(tmp_path):
    pytest.importorskip("deepspeed", reason="deepspeed is installed by `make gpu-path` (docs/gpu.md)")
    cfg, out = _deepspeed_cfg(tmp_path / "ds.yaml"), tmp_path / "out"

    def grpolab_train(*extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "grpolab",
            "train",
            str(cfg),
            "--out",
            str(out),
            "--nproc",
            "2",
        ]
        return subprocess.run([*cmd, *extra], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600)

    first = grpolab_train()
    assert first.returncode == 0, first.stderr[-3000:]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]  # one writer: each step once
    assert first.stdout.count('"steps": 2') == 1  # one summary printed
    assert _text(first.stderr).count("episodes/step on 2 ranks") == 1, first.stderr[-3000:]  # one rank logs
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks"] == 2 and summary["steps"] == 2
    ckpt = out / "checkpoints" / "step-000002"
    state = ckpt / "deepspeed" / "state"  # each rank's optimizer partition, written by that rank
    assert [len(list(state.glob(f"*pp_rank_{r}_*optim_states.pt"))) for r in (0, 1)] == [1, 1]
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(ckpt)  # a plain HF folder
    assert sum(p.numel() for p in model.parameters()) == summary["parameters"]

    second = grpolab_train("--steps", "3")
    assert second.returncode == 0, second.stderr[-3000:]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert _text(second.stderr).count("resumed from step-000002 (step 2)") == 1
    assert json.loads((out / "summary.json").read_text())["steps"] == 3


def test_worker_launch_command_reports_once_per_step_from_rank_0(tmp_path):
    """The command the worker runs for `resources.cpu_ranks: 2`, with its real child protocol on stdout."""
    from worker.child import MARK
    from worker.runner import trainer_command

    config = {
        "model": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32},
        "rollout": {"batch_size": 16},
        "algorithm": {"group_size": 8},
        "run": {"steps": 2, "eval_episodes": 0, "checkpoint_every": 0},
        "resources": {"cpu_threads": 1, "cpu_ranks": 2},
    }
    (tmp_path / "run-config.json").write_text(json.dumps(config))
    proc = subprocess.run(
        trainer_command(config, tmp_path), env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # split on newlines only: str.splitlines also splits on MARK (the record separator)
    events = [json.loads(ln[1:]) for ln in proc.stdout.split("\n") if ln.startswith(MARK)]
    assert [e["step"] for e in events if e["type"] == "metric"] == [1, 2]
    assert [e["summary"]["ranks"] for e in events if e["type"] == "summary"] == [2]
    assert not [e for e in events if e["type"] == "error"]
    assert (tmp_path / "checkpoints" / "step-000002" / "model.safetensors").exists()
