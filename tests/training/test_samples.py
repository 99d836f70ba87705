"""Sample episodes (training/samples.py): samples.jsonl from a real tiny run, resume, caps, multi-turn text."""

from __future__ import annotations

import json
import math

from tests.training.conftest import tiny_config
from training.envs.runner import Episode
from training.pipeline import train
from training.samples import FILE, TEXT_CHARS, cap_text, pick_episodes, transcript


def read_samples(out):
    return [json.loads(x) for x in (out / FILE).read_text().splitlines()]


def grpo(returns: list[float], eps: float = 1e-9) -> list[float]:
    """(R − mean) / (population std + eps), written out independently of training.advantages."""
    mean = sum(returns) / len(returns)
    if all(r == returns[0] for r in returns):
        return [0.0] * len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns))
    return [(r - mean) / (std + eps) for r in returns]


def test_each_step_keeps_whole_groups_with_text_reward_and_group_advantage(tmp_path):
    # 4 initial states × 8 episodes; 10 samples = all of group 0 and the first two of group 1. A short warm start
    # makes the tiny model's guesses valid, so rewards differ inside groups and advantages are not all 0.
    cfg = tiny_config(
        run={"steps": 3, "sample_episodes": 10}, warm_start={"steps": 20, "batch_size": 32, "lr": 0.01}
    )
    train(cfg, tmp_path)
    lines = read_samples(tmp_path)
    assert [ln["step"] for ln in lines] == [1, 2, 3]
    for line in lines:
        eps = line["episodes"]
        assert [(e["group"], e["episode"]) for e in eps] == [(0, i) for i in range(8)] + [(1, 0), (1, 1)]
        for e in eps:
            assert isinstance(e["prompt"], str) and e["prompt"].strip()
            assert isinstance(e["completion"], str)
            assert len(e["group_rewards"]) == 8
            assert e["reward"] == e["group_rewards"][e["episode"]]
            assert e["turns"] >= 1 and isinstance(e["success"], bool)
            expected = grpo(e["group_rewards"])[e["episode"]]
            assert abs(e["advantage"] - expected) < 1e-9, (e["advantage"], expected)
    advantages = [e["advantage"] for ln in lines for e in ln["episodes"]]
    assert max(advantages) > 0.5 and min(advantages) < -0.1  # groups with signal were checked above
    # the tiny char model's sampled text differs between episodes of a group (a sample, not one repeated line)
    assert len({e["completion"] for ln in lines for e in ln["episodes"]}) > 1


def test_resumed_run_rewrites_the_same_samples_and_zero_keeps_none(tmp_path):
    cfg = tiny_config(run={"steps": 4, "checkpoint_every": 2, "sample_episodes": 3})
    train(cfg, tmp_path / "full")
    calls = {"n": 0}

    def stop_after_three() -> bool:  # stops before step 4; the last checkpoint is step 2
        calls["n"] += 1
        return calls["n"] > 3

    train(cfg, tmp_path / "cut", should_stop=stop_after_three)
    assert [ln["step"] for ln in read_samples(tmp_path / "cut")] == [1, 2, 3]
    train(cfg, tmp_path / "cut")  # resumes at step 2: step 3's line is dropped and played again
    assert read_samples(tmp_path / "cut") == read_samples(tmp_path / "full")

    none = tiny_config(run={"steps": 1, "sample_episodes": 0})
    train(none, tmp_path / "none")
    assert not (tmp_path / "none" / FILE).exists()


def test_long_text_keeps_head_and_tail():
    text = "A" * 5000 + "the answer is 42"
    capped, cut = cap_text(text)
    assert cut and len(capped) < TEXT_CHARS + 60
    assert capped.startswith("AAAA") and capped.endswith("the answer is 42")
    assert "characters cut" in capped
    assert cap_text("short") == ("short", False)


def test_multi_turn_transcript_and_pick_order():
    ep = Episode(group_id=0, seed=1)
    ep.observations = ["guess a number", "higher", "lower"]
    ep.actions = ["5", "8", "7"]
    assert transcript(ep) == "5\n\n» higher\n\n8\n\n» lower\n\n7"
    groups = [[Episode(0, 1), Episode(0, 1)], [Episode(1, 2), Episode(1, 2)]]
    assert pick_episodes(groups, 3) == [(0, 0), (0, 1), (1, 0)]
    assert pick_episodes(groups, 9) == [(0, 0), (0, 1), (1, 0), (1, 1)]
