"""The CPU reasoning demo (examples/reasoning-cpu.yaml): its config, the plain reasoning-gym env (0/1 reward,
held-out split), the warm start on the generator's answers and two RL steps. The long runs are
`bench/reasoning_demo.py`, not tests."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from training.config import ModelConfig, RunConfig, WarmStartConfig
from training.config_io import load_file
from training.envs import make_env
from training.envs.chat import ConversationFormat
from training.learner.warm_start import check_problem_seeds, demo_sequences, greedy_accuracy, warm_start
from training.lint import lint_file
from training.models import build_tiny_char
from training.pipeline import play, setup, train

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "reasoning-cpu.yaml"
TINY_MODEL = {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32}


def demo_config(**sections: dict[str, Any]) -> RunConfig:
    """The example config with some sections overridden (a tiny model, a few steps)."""
    raw = json.loads(load_file(EXAMPLE).config.model_dump_json())
    for name, values in sections.items():
        raw[name].update(values)
    return RunConfig.model_validate(raw)


def demo_env(**kwargs: Any) -> Any:
    cfg = load_file(EXAMPLE).config
    return make_env(cfg.env.id, **{**cfg.env.kwargs, **kwargs}).unwrapped


def test_example_validates_and_lints_clean() -> None:
    cfg = load_file(EXAMPLE).config
    assert cfg.env.id == "grpolab:ReasoningGym-v0" and cfg.env.kwargs["task"] == "chain_sum"
    assert cfg.env.kwargs["min_digits"] == cfg.env.kwargs["max_digits"]  # same-width operands
    assert cfg.warm_start.player == "answers" and cfg.warm_start.steps > 0
    assert cfg.warm_start.stop_at_accuracy is not None  # stops at a strength, not at a step count
    assert cfg.run.eval_greedy and cfg.run.final_eval_episodes >= 512
    result = lint_file(EXAMPLE)
    assert not result.invalid
    assert [f.rule for f in result.findings] == []


def test_reward_is_one_for_the_answer_and_zero_otherwise() -> None:
    env = demo_env()
    prompt, _ = env.reset(seed=123)
    a, op, b = int(prompt[:2]), prompt[2], int(prompt[3:5])
    assert prompt.endswith("=") and len(prompt) == 6 and op in "+-"  # `47-83=`: 2-digit operands, no spaces
    answer = a + b if op == "+" else a - b
    assert env.entry["answer"] == str(answer)  # the generator's answer is the arithmetic
    for action, reward in [(str(answer), 1.0), (f" {answer}\n", 1.0), (str(answer + 1), 0.0), ("", 0.0)]:
        env.reset(seed=123)
        _obs, r, terminated, _trunc, info = env.step(action)
        assert (r, info["success"], terminated) == (reward, reward == 1.0, True), action
    env.reset(seed=123)
    # reasoning-gym's own scorer gives partial credit when the answer is inside the response; ours does not
    assert env.step(f"{answer}7")[1] == 0.0


def test_train_and_eval_problems_never_overlap() -> None:
    train_env, eval_env = demo_env(), demo_env(split="eval")
    seeds = random.Random(0).sample(range(2**31), 1500)
    train_prompts = {train_env.reset(seed=s)[0] for s in seeds}
    eval_prompts = {eval_env.reset(seed=s)[0] for s in seeds}
    assert not train_prompts & eval_prompts
    assert len(eval_prompts) > 900  # ~2,000 held-out problems: 1,500 draws are mostly distinct
    # the split is a fixed share of the problem space: about 1 in `holdout` of uniformly drawn problems
    gen = train_env.problem
    drawn = {train_env.render(gen(s)[0]) for s in seeds}
    share = sum(train_env.is_held_out(p) for p in drawn) / len(drawn)
    assert 0.08 < share < 0.17
    # a group replays one problem: the same seed gives the same prompt
    assert train_env.reset(seed=7)[0] == train_env.reset(seed=7)[0]


def test_example_alphabet_covers_the_prompts_and_answers() -> None:
    cfg = load_file(EXAMPLE).config
    tok = build_tiny_char(cfg.model).tokenizer
    env = demo_env()
    for s in range(200):
        prompt, _ = env.reset(seed=s)
        ids = tok.encode(prompt + env.entry["answer"], add_special_tokens=False)
        assert tok.unk_token_id not in ids
        assert tok.decode(ids) == prompt + env.entry["answer"]


def supervised_loss(model: Any, seqs: list[tuple[list[int], list[int]]]) -> float:
    width = max(len(i) for i, _ in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width))
    for r, (i, m) in enumerate(seqs):
        ids[r, : len(i)] = torch.tensor(i)
        mask[r, : len(m)] = torch.tensor(m, dtype=torch.float32)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=(mask >= 0).long()).logits[:, :-1]
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    return float((nll * mask[:, 1:]).sum() / mask[:, 1:].sum())


def test_warm_start_on_answers_lowers_the_supervised_loss() -> None:
    cfg = load_file(EXAMPLE).config
    policy = build_tiny_char(ModelConfig(**{**cfg.model.model_dump(), **TINY_MODEL}), seed=0)
    fmt = ConversationFormat(policy.tokenizer, policy.fmt)

    def new_env() -> Any:
        return make_env(cfg.env.id, **cfg.env.kwargs)

    held = demo_sequences(new_env, fmt, 256, "answers", random.Random(99))
    # the labels: the answer's characters then EOS, and only those are learned
    ids, mask = held[0]
    answer_ids = [t for t, m in zip(ids, mask, strict=True) if m]
    assert answer_ids[-1] == policy.tokenizer.eos_token_id
    assert policy.tokenizer.decode(answer_ids, skip_special_tokens=True).lstrip("-").isdigit()
    before = supervised_loss(policy.model, held)
    torch.set_num_threads(1)
    out = warm_start(
        policy.model, new_env, fmt, WarmStartConfig(steps=60, lr=3e-3, batch_size=64, player="answers"), 0
    )
    after = supervised_loss(policy.model, held)
    assert after < 0.75 * before
    assert after < math.log(len(policy.tokenizer)) - 0.5  # well below guessing uniformly
    assert out["warm_start/loss"] < out["warm_start/loss_first"]


def one_digit_setup(seed: int = 0) -> tuple[Any, ConversationFormat, Any]:
    """A small model and one-digit sums (`3-7=`): learnable to a measurable accuracy in ~100 steps."""
    cfg = load_file(EXAMPLE).config
    model = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}
    policy = build_tiny_char(ModelConfig(**{**cfg.model.model_dump(), **model}), seed=seed)
    kwargs = {**cfg.env.kwargs, "min_digits": 1, "max_digits": 1}

    def new_env() -> Any:
        return make_env(cfg.env.id, **kwargs)

    return policy, ConversationFormat(policy.tokenizer, policy.fmt), new_env


def test_warm_start_stops_when_the_training_accuracy_reaches_the_target() -> None:
    torch.set_num_threads(1)
    policy, fmt, new_env = one_digit_setup()
    cap = 400
    ws = WarmStartConfig(
        steps=cap,
        lr=1e-2,
        batch_size=64,
        player="answers",
        stop_at_accuracy=0.2,
        check_every=10,
        check_problems=64,
    )
    assert (
        greedy_accuracy(policy.model, new_env, fmt, list(range(64)), 3) < 0.2
    )  # untrained: below the target
    out = warm_start(policy.model, new_env, fmt, ws, 0, max_new_tokens=3)
    stopped = int(out["warm_start/steps"])
    assert stopped < cap and stopped % 10 == 0  # early, at a check
    assert out["warm_start/accuracy"] >= 0.2
    # the reported accuracy is the model's: the same check problems, answered again, give the same figure
    seeds = check_problem_seeds(0, 64)
    assert greedy_accuracy(policy.model, new_env, fmt, seeds, 3) == out["warm_start/accuracy"]


def test_accuracy_checks_leave_the_warm_start_unchanged() -> None:
    """An unreachable target runs to the cap, with exactly the weights of a warm start without checks."""
    torch.set_num_threads(1)
    weights = []
    for target in (None, 1.0):
        policy, fmt, new_env = one_digit_setup()
        ws = WarmStartConfig(
            steps=12, lr=1e-2, batch_size=16, player="answers", stop_at_accuracy=target, check_every=4
        )
        out = warm_start(policy.model, new_env, fmt, ws, 0, max_new_tokens=3)
        assert out["warm_start/steps"] == 12.0
        assert ("warm_start/accuracy" in out) == (target is not None)
        weights.append([p.detach().clone() for p in policy.model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights, strict=True))


@pytest.mark.parametrize("value", [0.0, 1.5, float("nan"), "high"])
def test_stop_at_accuracy_refuses_values_outside_0_1(value: Any) -> None:
    with pytest.raises(ValueError, match="stop_at_accuracy"):
        WarmStartConfig(stop_at_accuracy=value)


def test_answers_player_needs_an_env_that_offers_it() -> None:
    policy = build_tiny_char(ModelConfig(**TINY_MODEL))
    fmt = ConversationFormat(policy.tokenizer, policy.fmt)
    with pytest.raises(ValueError, match=r"warm_start\.player: 'answers' is not offered"):
        demo_sequences(lambda: make_env("grpolab:GuessNumber-v0-n8"), fmt, 2, "answers", random.Random(0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompt": "latex"}, "env.kwargs.prompt"),
        ({"split": "test"}, "env.kwargs.split"),
        ({"holdout": 1}, "env.kwargs.holdout"),
    ],
)
def test_bad_env_settings_name_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        demo_env(**kwargs)


def test_alphabet_refuses_duplicates_and_spaces() -> None:
    with pytest.raises(ValueError, match=r"model\.alphabet: '1' is listed twice"):
        ModelConfig(alphabet="0112")
    with pytest.raises(ValueError, match=r"model\.alphabet"):
        ModelConfig(alphabet="01 2")


def test_two_rl_steps_on_the_task(tmp_path: Path) -> None:
    cfg = demo_config(
        model=TINY_MODEL,
        warm_start={"steps": 5, "batch_size": 16},
        rollout={"batch_size": 32},
        run={"steps": 2, "eval_episodes": 64, "final_eval_episodes": 512, "checkpoint_every": 0},
    )
    summary = train(cfg, tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        assert r["batch/transitions"] == 32.0  # 4 problems × 8 samples, one turn each
        assert r["rollout/episode_len"] == 1.0
        assert r["rollout/reward_mean"] == r["rollout/success_rate"]  # 0/1 rewards
    assert summary["warm_start/steps"] == 5.0
    assert 0.0 <= summary["eval/success_rate_start"] <= 1.0
    assert summary["eval/episodes"] == 512


def test_evaluation_plays_held_out_problems_greedily(tmp_path: Path) -> None:
    cfg = demo_config(model=TINY_MODEL, warm_start={"steps": 0}, run={"steps": 1, "checkpoint_every": 0})
    run = setup(cfg, tmp_path)
    seeds = list(range(48))
    greedy = [play(run, seeds, 1, sample_seed=k, evaluation=True) for k in (1, 2)]
    sampled = [play(run, seeds, 1, sample_seed=k) for k in (1, 2)]

    def answers(groups: list[list[Any]]) -> list[str]:
        return [e.actions[0] for g in groups for e in g]

    assert answers(greedy[0]) == answers(greedy[1])  # argmax: the sampling seed does not matter
    assert answers(sampled[0]) != answers(sampled[1])  # training rollouts sample
    held_out = [e.observations[0] for g in greedy[0] for e in g]
    training = [e.observations[0] for g in sampled[0] for e in g]
    probe = demo_env()
    assert all(probe.is_held_out(p) for p in held_out)
    assert not any(probe.is_held_out(p) for p in training)
    assert {env.unwrapped.split for env in run.eval_env_pool} == {"eval"}


def bench_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "reasoning_demo_bench", ROOT / "bench" / "reasoning_demo.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_arms_differ_from_the_example_only_where_they_should() -> None:
    bench = bench_module()
    base = bench.example_raw()
    fixed, double, sft = (
        bench.arm_raw(arm, 2, 150, sft_steps=700, ws_steps=310) for arm in ("fixed", "double", "sft")
    )
    assert fixed["run"]["seed"] == double["run"]["seed"] == sft["run"]["seed"] == 2
    assert {k: v for k, v in fixed.items() if k != "run"} == {k: v for k, v in base.items() if k != "run"}
    # double: the ablation's arm (transition subsample + whitening, acknowledged), on the same warm start
    assert double["rollout"]["subsample"] == {"unit": "transitions", "size": 150}
    assert double["algorithm"]["norm_return"] is True
    assert {a["rule"] for a in double["lint"]["allow"]} == {"GL001", "GL006"}
    assert double["warm_start"] == fixed["warm_start"] and double["model"] == fixed["model"]
    # sft: no RL, the same warm start continued for the extra steps
    assert sft["run"]["steps"] == 0
    # (the fixed run's warm start stopped at step 310), without the stopping check
    assert sft["warm_start"]["steps"] == 310 + 700
    assert sft["warm_start"]["stop_at_accuracy"] is None
    assert {**sft["warm_start"], "steps": 0, "stop_at_accuracy": None} == {
        **fixed["warm_start"],
        "steps": 0,
        "stop_at_accuracy": None,
    }
