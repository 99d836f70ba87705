"""Optional supervised warm start: cross-entropy on the action tokens of episodes played by the environment's
scripted player (`random_valid`: format only, no strategy; `solver`: the scripted solver), or on the task
generator's own answers (`answers`, reasoning tasks: plain supervised learning on labels, each answer followed by
EOS so the model learns where its answer ends). The built-in games and `grpolab:ReasoningGym-v0` provide
`demo_action`; an env lists the players it offers in `demo_players`."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import torch

from training.config import WarmStartConfig
from training.envs.chat import ConversationFormat


def demo_sequences(
    make_env: Callable[[], Any], fmt: ConversationFormat, n: int, player: str, rng: random.Random
):
    seqs: list[tuple[list[int], list[int]]] = []
    env = make_env()
    base = getattr(env, "unwrapped", env)
    if not hasattr(base, "demo_action"):
        raise ValueError(
            "warm_start.steps > 0 needs an environment with a scripted player (the built-in "
            "`grpolab:GuessNumber-v0-*` games); set warm_start.steps: 0 for this env"
        )
    offered = getattr(base, "demo_players", ("random_valid", "solver"))
    if player not in offered:
        raise ValueError(
            f"warm_start.player: {player!r} is not offered by this environment; use one of {', '.join(offered)}"
        )
    eos = fmt.tok.eos_token_id
    for _ in range(n):
        obs, _ = env.reset(seed=rng.randrange(2**31))
        ids, mask = fmt.first(obs), []
        mask = [0] * len(ids)
        observations, actions = [obs], []
        while True:
            action = base.demo_action(rng, player)
            a_ids = fmt.encode(action)
            if (fmt.fmt == "chat" or player == "answers") and eos is not None:
                a_ids = [*a_ids, eos]
            ids += a_ids
            mask += [1] * len(a_ids)
            actions.append(action)
            obs, _r, term, trunc, _info = env.step(action)
            if term or trunc:
                break
            nxt = fmt.next(observations, actions, a_ids, obs)
            observations.append(obs)
            ids += nxt
            mask += [0] * len(nxt)
        seqs.append((ids, mask))
    return seqs


def warm_start(
    model: Any,
    make_env: Callable[[], Any],
    fmt: ConversationFormat,
    cfg: WarmStartConfig,
    seed: int,
    log: Callable[[str], None] | None = None,
) -> dict[str, float]:
    rng = random.Random(seed * 7919 + 17)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    model.train()
    loss_v = loss_first = 0.0
    for step in range(cfg.steps):
        batch = demo_sequences(make_env, fmt, cfg.batch_size, cfg.player, rng)
        width = max(len(i) for i, _ in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        attn = torch.zeros_like(ids)
        mask = torch.zeros((len(batch), width))
        for r, (i, m) in enumerate(batch):
            ids[r, : len(i)] = torch.tensor(i)
            attn[r, : len(i)] = 1
            mask[r, : len(m)] = torch.tensor(m, dtype=torch.float32)
        dev = next(model.parameters()).device
        ids, attn, mask = ids.to(dev), attn.to(dev), mask.to(dev)
        logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits[:, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
        m = mask[:, 1:]
        loss = (nll * m).sum() / m.sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_v = float(loss.detach())
        loss_first = loss_v if step == 0 else loss_first
        if log and (step + 1) % 50 == 0:
            log(f"warm start {step + 1}/{cfg.steps}: loss {loss_v:.3f}")
    return {
        "warm_start/loss": loss_v,
        "warm_start/loss_first": loss_first,
        "warm_start/steps": float(cfg.steps),
    }
