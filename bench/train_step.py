"""Seconds per GRPO optimizer step (rollout + advantages + update) of our pipeline, optionally beside TRL.

Settings (issue 4): Qwen2 architecture, hidden 128, 4 layers, 4 heads, intermediate 512, character vocabulary
(~1.05M parameters), G = 8, 16 prompts × 8 = 128 completions per step, prompts ≤ 32 tokens, completions up to
32 tokens, temperature 1.0, 2 threads, no KL, fp32. Each engine runs in its own subprocess so that its peak RSS
is its own.

    python bench/train_step.py                 # ours
    python bench/train_step.py --vs-trl        # ours, then TRL GRPOTrainer at the same settings, and the ratio
    python bench/train_step.py --rollout vllm --learner deepspeed   # the GPU path's backends (docs/gpu.md)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HIDDEN, LAYERS, HEADS, INTER = 128, 4, 4, 512
PROMPTS, G, PROMPT_LEN, COMPLETION_LEN = 16, 8, 32, 32


def _setup(threads: int):
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    from training.config import ModelConfig
    from training.models import build_tiny_char

    cfg = ModelConfig(
        hidden_size=HIDDEN,
        num_layers=LAYERS,
        num_heads=HEADS,
        intermediate_size=INTER,
        init_std=0.02,
        tie_embeddings=True,
    )
    return build_tiny_char(cfg, seed=0)


def _prompts(rng, alphabet: str) -> list[str]:
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(8, PROMPT_LEN - 1))) for _ in range(PROMPTS)
    ]


def _reward(text: str) -> float:
    return text.count("7") / max(len(text), 1)  # any cheap text reward; only the cost matters


def run_ours(
    steps: int, threads: int, rollout_kind: str = "hf", learner_kind: str = "torch"
) -> dict[str, float]:
    import random

    from training.advantages import compute_advantages
    from training.backends import SamplingParams, TrainBatch, TrainSequence
    from training.config import AlgorithmConfig, OptimConfig
    from training.learner.torch_learner import TorchLearner
    from training.models import CHAR_ALPHABET
    from training.rollout.hf import HFRolloutBackend

    policy = _setup(threads)
    tok = policy.tokenizer
    rollout = HFRolloutBackend(policy.model, tok)
    learner = TorchLearner(policy.model, AlgorithmConfig(), OptimConfig(lr=1e-5))
    if learner_kind == "deepspeed":  # the GPU path's learner (ZeRO 0, fp32 on CPU); docs/gpu.md
        from training.config import LearnerConfig
        from training.learner.deepspeed_backend import DeepSpeedLearner

        learner = DeepSpeedLearner(
            policy.model,
            AlgorithmConfig(),
            OptimConfig(lr=1e-5, micro_batch_size=16),  # HF forward: sorted micro-batches of 16
            LearnerConfig(backend="deepspeed"),
        )
    if rollout_kind == "vllm":  # vLLM engine on a saved copy; weights are pushed after every step (timed)
        import tempfile
        from pathlib import Path

        from training.config import VllmConfig
        from training.models import save_policy
        from training.rollout.vllm_backend import VLLMRolloutBackend

        folder = Path(tempfile.mkdtemp(prefix="bench-vllm-"))
        save_policy(policy, folder)
        rollout = VLLMRolloutBackend.from_folder(folder, VllmConfig(), tokenizer=tok)
    rng = random.Random(0)
    times, gen_times, tokens, completions = [], [], 0, 0
    for step in range(steps + 2):
        t0 = time.perf_counter()
        prompts = [
            [tok.bos_token_id, *tok.encode(p, add_special_tokens=False)] for p in _prompts(rng, CHAR_ALPHABET)
        ]
        batch_prompts = [p for p in prompts for _ in range(G)]
        params = SamplingParams(
            max_new_tokens=COMPLETION_LEN, temperature=1.0, stop_token_ids=(tok.eos_token_id,), seed=step
        )
        outs = rollout.generate(batch_prompts, params)
        t_gen = time.perf_counter() - t0
        rewards = [_reward(tok.decode(o.token_ids, skip_special_tokens=True)) for o in outs]
        groups = [[[rewards[i * G + k]] for k in range(G)] for i in range(PROMPTS)]
        adv = compute_advantages(groups, "grpo")
        seqs = []
        for j, (p, o) in enumerate(zip(batch_prompts, outs, strict=True)):
            a = adv[j // G][j % G][0]
            n = len(o.token_ids)
            seqs.append(
                TrainSequence(
                    token_ids=[*p, *o.token_ids],
                    action_mask=[0] * len(p) + [1] * n,
                    advantages=[0.0] * len(p) + [a] * n,
                    behaviour_logprobs=[0.0] * len(p) + o.logprobs,
                )
            )
        learner.step(TrainBatch(seqs))
        if rollout_kind == "vllm":  # the engine holds its own copy: push (reload_weights), timed in the step
            rollout.sync_weights(learner.export_weights())
        dt = time.perf_counter() - t0
        if step >= 2:  # two warm-up steps
            times.append(dt)
            gen_times.append(t_gen)
            tokens += sum(len(o.token_ids) for o in outs)
            completions += len(outs)
    return _result("ours", times, gen_times, tokens, completions)


def run_trl(steps: int, threads: int) -> dict[str, float]:
    import random

    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from training.models import CHAR_ALPHABET

    policy = _setup(threads)
    tok = policy.tokenizer
    rng = random.Random(0)
    data = Dataset.from_dict({"prompt": [p for _ in range(steps + 2) for p in _prompts(rng, CHAR_ALPHABET)]})
    stamps: list[float] = []
    gen: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            stamps.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kw):
            stamps.append(time.perf_counter())

    lengths: list[int] = []

    def reward(completions, **kw):
        lengths.extend(len(c) + 1 for c in completions)  # one character = one token (+ EOS, when sampled)
        return [_reward(c) for c in completions]

    args = GRPOConfig(
        output_dir="/tmp/grpolab-bench-trl",
        per_device_train_batch_size=PROMPTS * G,
        num_generations=G,
        max_completion_length=COMPLETION_LEN,
        temperature=1.0,
        beta=0.0,
        learning_rate=1e-5,
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        max_steps=steps + 2,
        logging_steps=1000,
        save_strategy="no",
        report_to=[],
        dataloader_num_workers=0,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=policy.model,
        reward_funcs=reward,
        args=args,
        train_dataset=data,
        processing_class=tok,
        callbacks=[Clock()],
    )
    trainer.train()
    times = [stamps[i + 1] - stamps[i] for i in range(0, len(stamps) - 1, 2)][2:]
    n = len(times) * PROMPTS * G
    return _result("trl", times, gen, sum(lengths[-n:]), n, approx_tokens=True)


def _result(name, times, gen_times, tokens, completions, approx_tokens=False) -> dict[str, float]:
    total = sum(times)
    out = {
        "engine": name,
        "median_step_s": statistics.median(times),
        "completions_per_s": completions / total,
        "tokens_per_s": tokens / total,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps": len(times),
    }
    if gen_times:
        out["median_generate_s"] = statistics.median(gen_times)
    if approx_tokens:
        out["tokens_note"] = "TRL: completion characters + 1 per completion (the char tokenizer's count)"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10, help="measured steps (after 2 warm-up steps)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vs-trl", action="store_true", help="also run TRL's GRPOTrainer at the same settings")
    ap.add_argument("--engine", choices=["ours", "trl"], help=argparse.SUPPRESS)
    ap.add_argument("--rollout", choices=["hf", "vllm"], default="hf", help="our rollout backend")
    ap.add_argument("--learner", choices=["torch", "deepspeed"], default="torch", help="our learner backend")
    a = ap.parse_args()
    if a.engine:  # child process
        res = (
            run_ours(a.steps, a.threads, a.rollout, a.learner)
            if a.engine == "ours"
            else run_trl(a.steps, a.threads)
        )
        print("RESULT " + json.dumps(res))
        return 0
    results = {}
    for engine in ["ours", "trl"] if a.vs_trl else ["ours"]:
        cmd = [
            sys.executable,
            __file__,
            "--engine",
            engine,
            "--steps",
            str(a.steps),
            "--threads",
            str(a.threads),
            "--rollout",
            a.rollout,
            "--learner",
            a.learner,
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(a.threads)}
        )
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{engine} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        results[engine] = json.loads(line[0][7:])
        r = results[engine]
        print(
            f"{engine:>5}: median {r['median_step_s']:.3f} s/step, {r['completions_per_s']:.0f} completions/s, "
            f"{r['tokens_per_s']:.0f} tokens/s, peak RSS {r['peak_rss_mib']:.0f} MiB ({r['steps']} steps)"
            + (f"; generation {r['median_generate_s']:.3f} s/step" if "median_generate_s" in r else "")
        )
    if "trl" in results:
        ratio = results["trl"]["median_step_s"] / results["ours"]["median_step_s"]
        print(
            f"speed-up vs TRL: {ratio:.2f}x (median step time); RSS {results['ours']['peak_rss_mib']:.0f} vs "
            f"{results['trl']['peak_rss_mib']:.0f} MiB"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2-core machine; >2 means contended)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
