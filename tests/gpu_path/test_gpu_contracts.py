"""GPU-only parts, contract-tested on CPU. Each real counterpart needs a GPU (the test names say so): the NCCL
weight transfer, sleep mode, tensor parallelism and bf16. The engine is a fake with `LLM`'s method names that
records calls; vLLM's own trainer-side NCCL engine and its worker-side payload classes are the real ones, only
the GPU transport (opening the NCCL endpoint, the packed broadcast) is replaced by a recorder."""

from __future__ import annotations

from typing import Any

import pytest
import torch

pytestmark = pytest.mark.gpu_path


class FakeLLM:
    """Records what a backend asks of vLLM's `LLM` (same method names and signatures)."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[tuple[str, Any]] = []

    def generate(self, prompts, sampling_params=None, use_tqdm=True):
        self.calls.append(("generate", len(prompts)))
        return []

    def collective_rpc(self, method, timeout=None, args=(), kwargs=None):
        self.calls.append((method, kwargs))
        return [None]

    def reset_prefix_cache(self, reset_running_requests=False, reset_connector=False):
        self.calls.append(("reset_prefix_cache", None))
        return True

    def sleep(self, level=1, mode="abort"):
        self.calls.append(("sleep", level))

    def wake_up(self, tags=None):
        self.calls.append(("wake_up", tags))
        return True

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def _weights() -> list[tuple[str, torch.Tensor]]:
    return [("model.embed_tokens.weight", torch.randn(19, 8)), ("model.norm.weight", torch.ones(8))]


def test_reload_sync_pushes_checkpoint_format_pairs_then_resets_the_prefix_cache(vllm_ready):
    from training.config import VllmConfig
    from training.rollout.vllm_backend import VLLMRolloutBackend

    llm = FakeLLM()
    VLLMRolloutBackend(llm, VllmConfig()).sync_weights(iter(_weights()))
    assert llm.names() == ["reload_weights", "reset_prefix_cache"]
    kwargs = llm.calls[0][1]
    assert kwargs["is_checkpoint_format"] is True
    assert [n for n, _ in kwargs["weights_iterator"]] == [n for n, _ in _weights()]


def test_nccl_weight_transfer_needs_gpu_contract(vllm_ready, monkeypatch):
    """`weight_sync: nccl`: the learner opens rank 0 of a group with the engine's workers (rank offset 1), and each
    sync is start → update_weights (names/dtypes/shapes) concurrent with the broadcast → finish → cache reset."""
    from vllm.distributed.weight_transfer import nccl_engine
    from vllm.distributed.weight_transfer.nccl_common import NCCLWeightTransferInitInfo
    from vllm.distributed.weight_transfer.nccl_engine import NCCLWeightTransferUpdateInfo

    from training.config import VllmConfig
    from training.rollout.vllm_backend import NcclWeightSync, VLLMRolloutBackend

    opened: list[Any] = []
    sent: list[tuple[str, torch.Tensor]] = []

    class FakeComm:  # PyNcclCommunicator's methods used by the trainer engine
        def destroy(self):
            opened.append("destroyed")

    def fake_open(init_info):
        opened.append(init_info)
        return FakeComm()

    def fake_broadcast(iterator, group, src, post_iter_func, buffer_size_bytes, num_buffers):
        assert src == 0 and isinstance(group, FakeComm)
        sent.extend(iterator)

    monkeypatch.setattr(nccl_engine, "open_trainer_endpoint", fake_open)
    monkeypatch.setattr(nccl_engine, "packed_nccl_broadcast_producer", fake_broadcast)

    llm = FakeLLM()
    sync = NcclWeightSync(llm, master_address="127.0.0.1", master_port=29555, engine_world_size=2)
    assert opened[0].world_size == 3 and opened[0].rank == 0
    assert llm.names() == ["init_weight_transfer_engine"]
    worker_info = NCCLWeightTransferInitInfo(**llm.calls[0][1]["init_info"])  # what vLLM's worker parses
    assert (worker_info.rank_offset, worker_info.world_size, worker_info.master_port) == (1, 3, 29555)

    backend = VLLMRolloutBackend(llm, VllmConfig(weight_sync="nccl"), nccl=sync)
    llm.calls.clear()
    backend.sync_weights(iter(_weights()))
    assert llm.names() == [
        "start_weight_update",
        "update_weights",
        "finish_weight_update",
        "reset_prefix_cache",
    ]
    update = NCCLWeightTransferUpdateInfo(**llm.calls[1][1]["update_info"])
    assert update.names == [n for n, _ in _weights()]
    assert update.shapes == [[19, 8], [8]] and update.dtype_names == ["float32", "float32"]
    assert [n for n, _ in sent] == update.names
    torch.testing.assert_close(sent[1][1], torch.ones(8))
    backend.close()
    assert opened[-1] == "destroyed"


def test_nccl_weight_sync_without_a_sender_is_refused():
    from training.config import VllmConfig
    from training.rollout.vllm_backend import VLLMRolloutBackend

    with pytest.raises(ValueError, match="weight_sync"):
        VLLMRolloutBackend(FakeLLM(), VllmConfig(weight_sync="nccl"))


def test_sleep_mode_needs_gpu_contract(vllm_ready):
    """Sharing a GPU: sleep before the learner phase; weights wake up before they are overwritten, the KV cache
    after (so the learner's memory peak never meets a full engine)."""
    from training.backends import SamplingParams
    from training.config import VllmConfig
    from training.rollout.vllm_backend import VLLMRolloutBackend

    llm = FakeLLM()
    backend = VLLMRolloutBackend(llm, VllmConfig(enable_sleep_mode=True))
    backend.sleep()
    backend.sleep()  # idempotent
    backend.sync_weights(iter(_weights()))
    assert llm.calls[0] == ("sleep", 1)
    assert llm.names() == ["sleep", "wake_up", "reload_weights", "reset_prefix_cache", "wake_up"]
    assert [c[1] for c in llm.calls if c[0] == "wake_up"] == [["weights"], ["kv_cache"]]
    llm.calls.clear()
    backend.sleep()
    backend.generate([[1, 2]], SamplingParams())  # generating while asleep wakes everything first
    assert llm.names() == ["sleep", "wake_up", "generate"]
    off = FakeLLM()
    VLLMRolloutBackend(off, VllmConfig()).sleep()  # without sleep mode: nothing to free
    assert off.calls == []


def test_tensor_parallel_bf16_engine_settings_need_gpu_contract(vllm_ready, monkeypatch, tmp_path):
    """On a GPU the engine gets bf16, tensor parallelism, its memory share, sleep mode and the NCCL transfer
    config from `rollout.vllm`; on CPU, fp32 and eager mode."""
    import vllm

    from training.config import VllmConfig
    from training.rollout import vllm_backend

    monkeypatch.setattr(vllm, "LLM", FakeLLM)
    monkeypatch.setattr(vllm_backend, "_on_gpu", lambda: True)
    cfg = VllmConfig(
        tensor_parallel_size=2, gpu_memory_utilization=0.4, enable_sleep_mode=True, weight_sync="nccl"
    )
    kw = vllm_backend.make_llm(tmp_path, cfg, seed=7).kwargs
    assert kw["dtype"] == "bfloat16" and kw["tensor_parallel_size"] == 2
    assert kw["gpu_memory_utilization"] == 0.4 and kw["enable_sleep_mode"] is True
    assert kw["weight_transfer_config"] == {"backend": "nccl"} and kw["enforce_eager"] is False
    assert (
        kw["skip_tokenizer_init"] is True and kw["logprobs_mode"] == "processed_logprobs" and kw["seed"] == 7
    )
    monkeypatch.setattr(vllm_backend, "_on_gpu", lambda: False)
    kw = vllm_backend.make_llm(tmp_path, VllmConfig()).kwargs
    assert kw["dtype"] == "float32" and kw["enforce_eager"] is True and "tensor_parallel_size" not in kw


def test_deepspeed_bf16_needs_gpu_contract():
    """`learner.precision: auto` is bf16 on a GPU and fp32 on CPU; asking for bf16 on CPU names the field."""
    from training.config import AlgorithmConfig, LearnerConfig, OptimConfig
    from training.learner.deepspeed_backend import DeepSpeedLearner, ds_config

    optim = OptimConfig(micro_batch_size=4, max_grad_norm=0.5)
    gpu = ds_config(LearnerConfig(backend="deepspeed", zero_stage=3), optim, on_gpu=True)
    assert gpu["bf16"] == {"enabled": True} and gpu["zero_optimization"] == {"stage": 3}
    assert gpu["gradient_clipping"] == 0.5 and gpu["train_micro_batch_size_per_gpu"] == 4
    assert ds_config(LearnerConfig(backend="deepspeed"), optim, on_gpu=False)["bf16"] == {"enabled": False}
    with pytest.raises(ValueError, match=r"learner\.precision"):
        DeepSpeedLearner(
            torch.nn.Linear(2, 2), AlgorithmConfig(), optim, LearnerConfig(precision="bf16"), device="cpu"
        )
