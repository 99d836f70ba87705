"""The lean sampling forward (training/rollout/fast_decode.py) reproduces the transformers forward exactly."""

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

from training.backends import SamplingParams
from training.rollout import fast_decode
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


@pytest.mark.parametrize("kind,extra", CASES)
def test_logits_equal_transformers_forward(kind, extra):
    model = _model(kind, **extra)
    rng = random.Random(1)
    prompts = [[rng.randrange(1, VOCAB) for _ in range(rng.randint(1, 11))] for _ in range(6)]
    prompts += [prompts[2], prompts[2]]  # identical prompts share one prefill
    cont = [[rng.randrange(1, VOCAB) for _ in range(5)] for _ in prompts]
    with torch.inference_mode():
        lean = fast_decode.LeanDecoder(model)
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
    assert "gpt2" in (fast_decode.supports(gpt2) or "")
    backend = HFRolloutBackend(gpt2, _Tok())
    assert backend.lean is False
    out = backend.generate([[1, 2, 3], [4]], SamplingParams(max_new_tokens=5, greedy=True))
    assert [len(o.token_ids) for o in out] == [5, 5]
    with pytest.raises(ValueError, match="gpt2"):
        HFRolloutBackend(gpt2, _Tok(), lean=True)


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
