"""Reasoning tasks with chat models: gem's `rg:*` ids (reasoning-gym, generated offline), answer extraction, and
gem's hub-dataset envs (`math:*`, `qa:*`), whose datasets are not downloadable here."""

from __future__ import annotations

import ast
import operator
import re

import gem
import pytest
import reasoning_gym

from tests.training.conftest import TINY_CHAT_REPO
from training.backends import SamplingParams
from training.config import ModelConfig
from training.envs import make_env
from training.envs.chat import ConversationFormat
from training.envs.rewards import extract_answer, last_boxed
from training.envs.rg_tasks import ReasoningGymTaskEnv
from training.envs.runner import play_groups
from training.models import load_policy
from training.rollout.hf import HFRolloutBackend

CHAIN = {"min_terms": 2, "max_terms": 3, "min_digits": 2, "max_digits": 2}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.USub: operator.neg}


def arithmetic(question: str) -> int:
    """The value of the `a + b - c =` expression in a chain_sum question, computed by Python's own parser."""
    expr = re.search(r":\s*(.*?)\s*=\s*$", question)
    assert expr, question

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant):
            return int(node.value)
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp):
            return _OPS[type(node.op)](value(node.operand))
        raise AssertionError(ast.dump(node))

    return value(ast.parse(expr.group(1), mode="eval").body)


def test_every_reasoning_gym_dataset_is_an_rg_id_of_our_env():
    names = sorted(reasoning_gym.factory.DATASETS)
    assert len(names) >= 100
    env = gem.make("rg:chain_sum", **CHAIN)
    assert isinstance(env, ReasoningGymTaskEnv)
    from gem.envs.registration import ENV_REGISTRY

    assert all(ENV_REGISTRY[f"rg:{n}"].entry_point.endswith(":ReasoningGymTaskEnv") for n in names)


@pytest.mark.parametrize(
    "name",
    [
        "chain_sum",
        "basic_arithmetic",
        "letter_counting",
        "spell_backward",
        "gcd",
        "number_sorting",
        "maze",
        "dice",
    ],
)
def test_families_generate_offline_and_score_their_own_answer(name):
    env = make_env(f"rg:{name}")
    question, _ = env.reset(seed=11)
    answer = env.entry["answer"]
    assert question and answer is not None
    _, reward, terminated, _, info = env.step(f"Reasoning... the answer is \\boxed{{{answer}}}")
    assert (reward, terminated, info["success"]) == (1.0, True, True)
    env.reset(seed=11)
    assert env.step("\\boxed{certainly not this}")[1] < 1.0


def test_arithmetic_rewards_agree_with_pythons_parser():
    env = make_env("rg:chain_sum", **CHAIN)
    for seed in range(20):
        question, _ = env.reset(seed=seed)
        truth = arithmetic(question)
        assert env.step(f"\\boxed{{{truth}}}")[1] == 1.0
        assert env.step(f"<answer>{truth}</answer>")[1] == 1.0
        assert env.step(str(truth))[1] == 1.0  # a bare answer (small models) is the answer too
        assert env.step(f"\\boxed{{{truth + 1}}}")[1] == 0.0


def test_problem_is_a_function_of_the_seed_and_settings_apply():
    a, b = make_env("rg:chain_sum", **CHAIN), make_env("rg:chain_sum", **CHAIN)
    assert a.reset(seed=7)[0] == b.reset(seed=7)[0]  # a group's G resets replay one problem
    questions = {a.reset(seed=s)[0] for s in range(200)}
    assert len(questions) > 190  # fresh problems, not a fixed pool of 500 reused
    for s in range(50):
        numbers = re.findall(r"\d+", a.reset(seed=s)[0].split(":")[-1])
        assert 2 <= len(numbers) <= 3 and all(len(n) == 2 for n in numbers)


def test_settings_are_checked_and_instruction_is_appended():
    with pytest.raises(ValueError, match=r"no setting 'min_digit'.*min_digits, max_digits"):
        make_env("rg:chain_sum", min_digit=2)
    with pytest.raises(ValueError, match="refused the settings"):
        make_env("rg:chain_sum", min_digits=5, max_digits=2)
    env = make_env("rg:chain_sum", instruction="Put the final answer in \\boxed{}.")
    assert env.reset(seed=1)[0].endswith("\nPut the final answer in \\boxed{}.")


def test_answer_extraction():
    assert last_boxed("a \\boxed{1} then \\boxed{\\frac{1}{2}} end") == "\\frac{1}{2}"
    assert last_boxed("unclosed \\boxed{12") is None
    assert extract_answer("<think>x</think><answer> Paris </answer>") == "Paris"
    assert extract_answer("\\boxed{3} and <answer>4</answer>") == "3"
    assert extract_answer("  42\n") == "42"


def test_chat_model_plays_rg_through_its_template(hub_offline):
    policy = load_policy(ModelConfig(path=TINY_CHAT_REPO))
    fmt = ConversationFormat(policy.tokenizer, policy.fmt)
    backend = HFRolloutBackend(policy.model, policy.tokenizer)
    params = SamplingParams(max_new_tokens=5, temperature=1.0, seed=3, stop_token_ids=fmt.stop_token_ids([]))
    groups = play_groups(lambda: make_env("rg:chain_sum", **CHAIN), [5, 6], 3, backend, fmt, params)
    tok = policy.tokenizer
    for group in groups:
        prompts = {tuple(e.token_ids[: e.action_mask.index(1)]) for e in group}
        assert len(prompts) == 1  # one problem per group
        question = group[0].observations[0]
        assert tok.decode(list(next(iter(prompts)))) == (
            f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
        )
        truth = arithmetic(question)
        for ep in group:
            assert ep.rewards == [1.0 if extract_answer(ep.actions[0]) == str(truth) else 0.0]
            assert ep.done and ep.num_turns == 1


def test_math_env_end_to_end_with_a_local_dataset_and_a_chat_model(hub_offline):
    """gem's MathEnv (math:*) with rows we give it (no hub here): chat prompt, boxed grading, group replay."""
    from datasets import Dataset

    rows = Dataset.from_dict({"problem": ["What is 1/2 + 1/4?", "What is 2 * 21?"], "answer": ["3/4", "42"]})
    env = make_env("math:GSM8K", dataset=rows)
    q, _ = env.reset(seed=4)
    want = "3/4" if "1/2" in q else "42"
    assert env.step(f"so \\boxed{{{want}}}")[1] == 1.0
    assert env.step("\\boxed{7}")[1] == 0.0
    policy = load_policy(ModelConfig(path=TINY_CHAT_REPO))
    fmt = ConversationFormat(policy.tokenizer, policy.fmt)
    params = SamplingParams(max_new_tokens=4, temperature=1.0, seed=1, stop_token_ids=fmt.stop_token_ids([]))
    groups = play_groups(
        lambda: make_env("math:GSM8K", dataset=rows),
        [1, 2],
        2,
        HFRolloutBackend(policy.model, policy.tokenizer),
        fmt,
        params,
    )
    for group in groups:
        assert len({e.observations[0] for e in group}) == 1
        assert all(e.rewards in ([0.0], [1.0]) for e in group)


def test_qa_env_scores_tagged_answers_and_survives_untagged_ones():
    from datasets import Dataset

    rows = Dataset.from_dict({"problem": ["Capital of France?"], "answer": [["Paris"]]})
    env = make_env("qa:HotpotQA", dataset=rows)
    q, _ = env.reset(seed=0)
    assert "Capital of France?" in q and "<answer>" in q  # gem's QA prompt asks for tags
    assert env.step("<answer>Paris</answer>")[1] == 1.0
    assert env.step("<answer>Lyon</answer>")[1] == 0.0
    assert env.step("Paris, no tags")[1] == 0.0  # gem 0.1.0 raises here (unbound name); we score it 0


def test_hub_dataset_envs_fail_clearly_when_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match=r"math:GSM8K reads the hub dataset 'axon-rl/GSM-8k'.*load_dataset"):
        make_env("math:GSM8K")
