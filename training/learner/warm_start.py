"""Optional supervised warm start: cross-entropy on the action tokens of episodes played by the environment's
scripted player (`random_valid`: format only, no strategy; `solver`: the scripted solver), or on the task
generator's own answers (`answers`, reasoning tasks: plain supervised learning on labels, each answer followed by
EOS so the model learns where its answer ends). The built-in games and `grpolab:ReasoningGym-v0` provide
`demo_action`; an env lists the players it offers in `demo_players`.

With `stop_at_accuracy`, the warm start stops once the model answers that share of a fixed set of training problems
correctly (greedy decoding), checked every `check_every` steps: RL then starts from a policy of known strength
rather than from whatever a fixed step count gave for this seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import torch

from training import metrics as M
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


def check_problem_seeds(seed: int, n: int) -> list[int]:
    """The env reset seeds of a run's accuracy-check problems: fixed per run seed, and drawn from their own
    generator so that checking never changes the warm start's training data."""
    rng = random.Random(seed * 104_729 + 3)
    return [rng.randrange(2**31) for _ in range(n)]


@torch.no_grad()
def greedy_accuracy(
    model: Any, make_env: Callable[[], Any], fmt: ConversationFormat, seeds: list[int], max_new_tokens: int
) -> float:
    """Share of the problems `seeds` (env reset seeds) whose greedy answer the env scores a success: one turn each,
    at most `max_new_tokens` tokens, EOS ends an answer. Prompts of one length are decoded as one batch."""
    env = make_env()
    base = getattr(env, "unwrapped", env)
    prompts = [fmt.first(base.reset(seed=s)[0]) for s in seeds]
    eos = fmt.tok.eos_token_id
    answers: dict[int, list[int]] = {}
    by_length: dict[int, list[int]] = {}
    for k, p in enumerate(prompts):
        by_length.setdefault(len(p), []).append(k)
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    for rows in by_length.values():
        ids = torch.tensor([prompts[k] for k in rows], dtype=torch.long, device=dev)
        for _ in range(max_new_tokens):
            logits = model(input_ids=ids, use_cache=False).logits[:, -1]
            ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
        width = len(prompts[rows[0]])
        for r, k in enumerate(rows):
            out = ids[r, width:].tolist()
            answers[k] = out[: out.index(eos)] if eos is not None and eos in out else out
    model.train(was_training)
    successes = 0
    for k, s in enumerate(seeds):
        base.reset(seed=s)
        _obs, reward, _term, _trunc, info = base.step(fmt.decode_action(answers[k]))
        successes += bool(info.get("success", reward >= 1.0))
    return successes / len(seeds)


def warm_start(
    model: Any,
    make_env: Callable[[], Any],
    fmt: ConversationFormat,
    cfg: WarmStartConfig,
    seed: int,
    log: Callable[[str], None] | None = None,
    max_new_tokens: int = 8,
) -> dict[str, float]:
    """Supervised steps on the scripted player's episodes: `cfg.steps` of them, or fewer when `cfg.stop_at_accuracy`
    is reached at a check. Returns the last loss, the first loss, the steps taken and (with checks) the last
    greedy accuracy on the check problems."""
    rng = random.Random(seed * 7919 + 17)
    check_seeds = check_problem_seeds(seed, cfg.check_problems)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    model.train()
    loss_v = loss_first = 0.0
    accuracy: float | None = None
    steps_done = 0
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
        steps_done = step + 1
        if log and steps_done % 50 == 0:
            log(f"warm start {steps_done}/{cfg.steps}: loss {loss_v:.3f}")
        if cfg.stop_at_accuracy is not None and steps_done % cfg.check_every == 0:
            accuracy = greedy_accuracy(model, make_env, fmt, check_seeds, max_new_tokens)
            if accuracy >= cfg.stop_at_accuracy:
                if log:
                    log(
                        f"warm start stopped at step {steps_done}: greedy accuracy {accuracy:.3f} on "
                        f"{cfg.check_problems} training problems ≥ {cfg.stop_at_accuracy}"
                    )
                break
    figures = {
        M.WARM_START_LOSS: loss_v,
        "warm_start/loss_first": loss_first,
        M.WARM_START_STEPS: float(steps_done),
    }
    if accuracy is not None:
        figures[M.WARM_START_ACCURACY] = accuracy
    return figures
