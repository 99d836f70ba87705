"""Built-in games in gem's registry, the episode runner, the character model's save/load."""

from __future__ import annotations

import gem
import pytest

from training.backends import SamplingParams
from training.config import ModelConfig
from training.envs import BUILTIN_IDS, make_env
from training.envs.chat import ConversationFormat
from training.envs.runner import play_groups
from training.models import ModelLoadError, build_tiny_char, load_policy, save_policy
from training.rollout.hf import HFRolloutBackend


@pytest.mark.parametrize(
    ("env_id", "n", "turns"), [(BUILTIN_IDS[0], 8, 4), (BUILTIN_IDS[1], 16, 5), (BUILTIN_IDS[2], 32, 6)]
)
def test_levels_are_in_gems_registry(env_id, n, turns):
    env = gem.make(env_id)
    assert env.n == n and env.max_turns == turns
    obs, _ = env.reset(seed=3)
    assert obs == "?"


def test_rules_replies_rewards_and_turn_limit():
    env = make_env("grpolab:GuessNumber-v0-n16")
    env.reset(seed=0)
    s = env.secret
    lo = "01;" if s != 1 else "02;"
    obs, r, term, trunc, _ = env.step(lo)
    assert (obs, r, term, trunc) == (
        ("=" if s == int(lo[:2]) else ">" if s > int(lo[:2]) else "<"),
        r,
        term,
        False,
    )
    env.reset(seed=0)
    assert env.step(f"{s:02d};")[:3] == ("=", 1.0, True)
    env.reset(seed=0)
    assert env.step(f"{s};" if s < 10 else "x;")[1:3] == (
        -0.1,
        True,
    )  # not zero-padded: invalid, episode ends
    env.reset(seed=0)
    wrong = "16;" if s != 16 else "15;"
    results = [env.step(wrong) for _ in range(env.max_turns)]
    assert [x[3] for x in results] == [False] * (env.max_turns - 1) + [True]
    assert sum(x[1] for x in results) == 0.0


def test_same_seed_same_secret_unknown_id_is_clear():
    a, b = make_env(BUILTIN_IDS[0]), make_env(BUILTIN_IDS[0])
    a.reset(seed=42)
    b.reset(seed=42)
    assert a.secret == b.secret
    with pytest.raises(ValueError, match="GuessTheNumber-v0-easy"):
        make_env("game:GuessTheNumber-v0")


def test_groups_replay_the_same_initial_state_and_mask_observations():
    policy = build_tiny_char(ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32))
    fmt = ConversationFormat(policy.tokenizer, "plain")
    backend = HFRolloutBackend(policy.model, policy.tokenizer)
    params = SamplingParams(max_new_tokens=8, stop_token_ids=fmt.stop_token_ids([";"]), seed=0)
    groups = play_groups(lambda: make_env(BUILTIN_IDS[0]), [5, 9], 4, backend, fmt, params)
    assert [len(g) for g in groups] == [4, 4]
    for g in groups:
        assert len({e.seed for e in g}) == 1
        for e in g:
            assert len(e.token_ids) == len(e.action_mask) == len(e.logprobs) == len(e.turn_index)
            assert e.action_mask[:2] == [0, 0]  # BOS and the first observation are never trained on
            assert sum(e.action_mask) == sum(e.action_tokens)
            assert all(lp <= 0.0 for lp, m in zip(e.logprobs, e.action_mask, strict=True) if m)
            assert all(len(a) <= 2 for a in e.actions)  # the env's hint caps an N = 8 action at 2 tokens


def test_tiny_char_round_trip(tmp_path):
    cfg = ModelConfig(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)
    p = build_tiny_char(cfg, seed=1)
    save_policy(p, tmp_path / "m")
    q = load_policy(ModelConfig(path=str(tmp_path / "m")))
    assert q.fmt == "plain"
    assert q.tokenizer.encode("?12;<", add_special_tokens=False) == p.tokenizer.encode(
        "?12;<", add_special_tokens=False
    )
    import torch

    sd_p, sd_q = p.model.state_dict(), q.model.state_dict()
    assert all(torch.equal(sd_p[k], sd_q[k]) for k in sd_p)


def test_model_path_errors_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match=r"not in the Hugging Face cache.*huggingface-cli download"):
        load_policy(ModelConfig(path="Qwen/Qwen2.5-0.5B-Instruct"))
    with pytest.raises(ModelLoadError, match="unknown built-in"):
        load_policy(ModelConfig(path="builtin:huge"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        load_policy(ModelConfig(path=str(tmp_path / "empty")))


def test_chat_format_appends_template_deltas_only():
    """With a chat template, each observation appends only the template's delta: the episode's token sequence
    equals the template rendering of the whole conversation (what the learner must score)."""
    import string

    from training.models import build_char_tokenizer

    tok = build_char_tokenizer(string.printable)
    tok.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<eos>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    fmt = ConversationFormat(tok, "chat")
    ids = fmt.first("guess 1-8")
    actions, observations = ["4"], ["guess 1-8"]
    sampled = [*fmt.encode("4"), tok.eos_token_id]  # the model ended its turn with EOS
    ids += sampled
    ids += fmt.next(observations, actions, sampled, "higher")
    full = tok.apply_chat_template(
        [
            {"role": "user", "content": "guess 1-8"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "higher"},
        ],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert tok.decode(ids) == full
