"""The lean forward (training/lean_lm.py) reproduces the transformers forward exactly: sampling and training."""

from __future__ import annotations

import random

import pytest
import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from training import lean_lm
from training.backends import SamplingParams
from training.rollout.hf import HFRolloutBackend

VOCAB = 40


def _model(kind: str, **extra):
    torch.manual_seed(0)
    extra.setdefault("num_key_value_heads", 4)  # Qwen2Config's default (32) assumes 32 heads
    common = dict(
        vocab_size=VOCAB,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=256,
        **extra,
    )
    if kind == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**common)).eval()
    return LlamaForCausalLM(LlamaConfig(**common)).eval()


class _Tok:
    pad_token_id = 0

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(97 + (i % 26)) for i in ids)


CASES = [
    ("qwen2", {"num_key_value_heads": 4}),  # q/k/v biases
    ("qwen2", {"num_key_value_heads": 2, "tie_word_embeddings": False}),  # GQA, separate head
    ("llama", {"num_key_value_heads": 1, "attention_bias": True, "mlp_bias": True}),  # MQA, every bias
    (
        "llama",
        {
            "num_key_value_heads": 4,
            "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 500.0},
        },
    ),  # scaled RoPE
]


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("kind,extra", CASES)
def test_logits_equal_transformers_forward(kind, extra, fuse, monkeypatch):
    if not fuse:
        monkeypatch.setattr(lean_lm, "FUSE_MAX_PARAMS", 0)
    model = _model(kind, **extra)
    rng = random.Random(1)
    prompts = [[rng.randrange(1, VOCAB) for _ in range(rng.randint(1, 11))] for _ in range(6)]
    prompts += [prompts[2], prompts[2]]  # identical prompts share one prefill
    cont = [[rng.randrange(1, VOCAB) for _ in range(5)] for _ in prompts]
    with torch.inference_mode():
        lean = lean_lm.LeanDecoder(model)
        got = [lean.prefill(prompts, 0, 6)]
        for j in range(5):
            got.append(lean.decode(torch.tensor([c[j] for c in cont])))
        for i, (p, c) in enumerate(zip(prompts, cont, strict=True)):
            ref = model(input_ids=torch.tensor([p + c])).logits[0]  # unpadded, no cache
            for j in range(6):
                torch.testing.assert_close(got[j][i], ref[len(p) - 1 + j], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_sampling_matches_the_transformers_path(kind):
    model = _model(kind, num_key_value_heads=2)
    rng = random.Random(2)
    prompts = [[rng.randrange(1, VOCAB) for _ in range(rng.randint(2, 9))] for _ in range(4)]
    prompts = [p for p in prompts for _ in range(4)]
    lean = HFRolloutBackend(model, _Tok(), lean=True)
    ref = HFRolloutBackend(model, _Tok(), lean=False)
    assert lean.lean and not ref.lean
    greedy = SamplingParams(max_new_tokens=12, greedy=True, stop_token_ids=(3,))
    a, b = lean.generate(prompts, greedy), ref.generate(prompts, greedy)
    assert [x.token_ids for x in a] == [x.token_ids for x in b]
    assert [x.finish_reason for x in a] == [x.finish_reason for x in b]
    for x, y in zip(a, b, strict=True):
        assert x.logprobs == pytest.approx(y.logprobs, abs=1e-5)
    sampled = SamplingParams(max_new_tokens=12, temperature=1.0, seed=7)  # no stop: no row drops out
    a, b = lean.generate(prompts, sampled), ref.generate(prompts, sampled)
    same = sum(x.token_ids == y.token_ids for x, y in zip(a, b, strict=True))
    assert same == len(prompts)  # same generator, logits equal to ~1e-6: the same draws
    assert len({tuple(x.token_ids) for x in a}) > 1  # and they really are samples


def test_rows_that_stop_drop_out_and_the_rest_keep_exact_logprobs():
    """Finished rows leave the lean batch (compaction); every recorded log-prob must still be the model's."""
    model = _model("qwen2", num_key_value_heads=2)
    rng = random.Random(3)
    prompts = [[rng.randrange(4, VOCAB) for _ in range(rng.randint(2, 9))] for _ in range(6)]
    prompts = [p for p in prompts for _ in range(5)]
    with torch.no_grad():
        model.lm_head.weight[3] += 0.6  # make the stop token common: rows finish at many different steps
    params = SamplingParams(max_new_tokens=10, temperature=1.3, stop_token_ids=(3,), seed=11)
    out = HFRolloutBackend(model, _Tok(), lean=True).generate(prompts, params)
    lengths = [len(o.token_ids) for o in out]
    assert len(set(lengths)) >= 5 and min(lengths) < 4 and max(lengths) == 10
    assert {o.finish_reason for o in out} == {"stop", "length"}
    for p, o in zip(prompts, out, strict=True):
        assert (o.finish_reason == "stop") == (o.token_ids[-1] == 3) and 3 not in o.token_ids[:-1]
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([p + o.token_ids])).logits[0].float() / 1.3
        want = torch.log_softmax(logits, -1)[len(p) - 1 : -1].gather(-1, torch.tensor(o.token_ids)[:, None])
        assert o.logprobs == pytest.approx(want.squeeze(-1).tolist(), abs=2e-5)


def test_other_architectures_fall_back_to_transformers():
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(
        GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=1, n_head=2, n_positions=64)
    ).eval()
    assert "gpt2" in (lean_lm.supports(gpt2) or "")
    backend = HFRolloutBackend(gpt2, _Tok())
    assert backend.lean is False
    out = backend.generate([[1, 2, 3], [4]], SamplingParams(max_new_tokens=5, greedy=True))
    assert [len(o.token_ids) for o in out] == [5, 5]
    with pytest.raises(ValueError, match="gpt2"):
        HFRolloutBackend(gpt2, _Tok(), lean=True)
    # a Qwen2 model the lean forward would not reproduce in training mode
    assert "dropout" in (lean_lm.supports(_model("qwen2", attention_dropout=0.1)) or "")


def test_weights_are_read_in_place():
    """The learner updates the module's parameters; the next generate call must see them (no stale copy)."""
    model = _model("qwen2")
    backend = HFRolloutBackend(model, _Tok())
    params = SamplingParams(max_new_tokens=4, greedy=True)
    before = backend.generate([[5, 6, 7]], params)[0]
    with torch.no_grad():
        model.lm_head.weight[11] += 100.0  # tied: the embedding moves too; token 11 now wins every argmax
    after = backend.generate([[5, 6, 7]], params)[0]
    assert before.token_ids != [11, 11, 11, 11]
    assert after.token_ids == [11, 11, 11, 11]


def _grouped_batch(rng: random.Random, groups: int = 3, g: int = 4):
    seqs, plens = [], []
    for _ in range(groups):
        prompt = [rng.randrange(1, VOCAB) for _ in range(rng.randint(1, 7))]
        for _ in range(g):
            seqs.append(prompt + [rng.randrange(1, VOCAB) for _ in range(rng.randint(1, 6))])
            plens.append(len(prompt))
    seqs.append([5, 6, 7, 8])  # a sequence that shares its prefix with nobody
    plens.append(2)
    return seqs, plens


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("chunk", [16, 3])
@pytest.mark.parametrize("kind", ["qwen2", "llama"])
def test_shared_prefix_forward_equals_transformers_in_logits_and_gradients(kind, chunk, fuse, monkeypatch):
    if not fuse:  # the path of large models: separate q/k/v and gate/up matmuls, no weight copies
        monkeypatch.setattr(lean_lm, "FUSE_MAX_PARAMS", 0)
    model = _model(kind, num_key_value_heads=2, tie_word_embeddings=True)
    seqs, plens = _grouped_batch(random.Random(4))
    width = max(map(len, seqs))
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)], attn[i, : len(s)] = torch.tensor(s), 1
    weight = torch.randn(len(seqs), width, VOCAB, generator=torch.Generator().manual_seed(0))
    used = torch.zeros(len(seqs), width, 1)  # the positions that predict tokens after the prefix
    for i, (s, p) in enumerate(zip(seqs, plens, strict=True)):
        used[i, p - 1 : len(s) - 1] = 1
    ref = model(input_ids=ids, attention_mask=attn).logits
    (ref * weight * used).sum().backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    got = lean_lm.shared_prefix_logits(model, seqs, plens, chunk=chunk)
    torch.testing.assert_close(got * used, ref.detach() * used, atol=2e-5, rtol=1e-4)
    (got * weight * used).sum().backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, want[name], atol=1e-5, rtol=1e-4, msg=name)


def test_learner_step_is_the_same_with_and_without_prefix_sharing():
    from training.backends import TrainBatch, TrainSequence
    from training.config import AlgorithmConfig, OptimConfig
    from training.learner.torch_learner import TorchLearner

    rng = random.Random(5)
    seqs, plens = _grouped_batch(rng, groups=4, g=4)
    batch = TrainBatch(
        [
            TrainSequence(
                token_ids=s,
                action_mask=[0] * p + [1] * (len(s) - p),
                advantages=[0.0] * p + [rng.gauss(0, 1)] * (len(s) - p),
                behaviour_logprobs=[0.0] * p + [-3.0] * (len(s) - p),
            )
            for s, p in zip(seqs, plens, strict=True)
        ]
    )
    after = {}
    for shared in (False, True):
        model = _model("qwen2", num_key_value_heads=2)
        learner = TorchLearner(
            model,
            AlgorithmConfig(entropy_coef=0.01, tis_c=2.0),
            OptimConfig(lr=1e-2, micro_batch_size=8),
            shared_prefix=shared,
        )
        assert learner.shared_prefix is shared
        metrics = learner.step(batch)
        after[shared] = (metrics, {n: p.grad.clone() for n, p in model.named_parameters()})
    (m0, g0), (m1, g1) = after[False], after[True]
    for key in ("loss/pg", "entropy", "grad_norm"):
        assert m1[key] == pytest.approx(m0[key], rel=1e-4, abs=1e-6)
    assert m0["grad_norm"] > 1e-3  # a real update
    # the accumulated (clipped) gradients of the step: compared rather than the weights, because Adam's first
    # step moves every weight by ±lr whatever its gradient's size, so float noise on a ~0 gradient flips a sign
    for n in g0:
        torch.testing.assert_close(g1[n], g0[n], atol=1e-6, rtol=1e-4, msg=n)
