"""Multi-turn episode runner: observation → model action → `env.step`, for whole groups at once.

A group is G episodes started from the same initial state. gem games have no `get_state`, so a group is
replayed by resetting G environment instances with the same seed (the built-in games too). All active episodes
of a batch are advanced together, one `RolloutBackend.generate` call per turn.

Each episode is kept as one token sequence (prompt, action, observation, action, ...): the learner scores
exactly the sampled tokens, and the action mask says which tokens the policy chose.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.backends import RolloutBackend, SamplingParams
from training.envs.chat import ConversationFormat


@dataclass
class Episode:
    group_id: int
    seed: int
    token_ids: list[int] = field(default_factory=list)
    action_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    #: turn of every token (−1 for prompt/observation tokens)
    turn_index: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)  # one per turn
    action_tokens: list[int] = field(default_factory=list)  # tokens of each turn's action
    actions: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    success: bool = False
    done: bool = False
    invalid: bool = False

    @property
    def ret(self) -> float:
        return math.fsum(self.rewards)

    @property
    def num_turns(self) -> int:
        return len(self.rewards)

    def _append(self, ids: Sequence[int], mask: int, logprobs: Sequence[float] | None, turn: int) -> None:
        self.token_ids.extend(ids)
        self.action_mask.extend([mask] * len(ids))
        self.logprobs.extend(logprobs if logprobs is not None else [0.0] * len(ids))
        self.turn_index.extend([turn] * len(ids))


def is_success(reward: float, info: dict[str, Any], terminated: bool) -> bool:
    """`info["success"]` when the env reports it; else gem's convention (success reward 1.0 at termination)."""
    if "success" in info:
        return bool(info["success"])
    return bool(terminated and reward >= 1.0)


def play_groups(
    make_env: Callable[[], Any],
    seeds: Sequence[int],
    group_size: int,
    backend: RolloutBackend,
    fmt: ConversationFormat,
    params: SamplingParams,
    max_turns: int | None = None,
    env_pool: list[Any] | None = None,
) -> list[list[Episode]]:
    """Play `group_size` episodes from each initial state `seeds[i]`; returns groups of finished episodes.

    `env_pool` (grown as needed) reuses environment instances across calls; `max_turns` caps turns on top of
    the env's own limit (an episode cut by the cap is truncated with no extra reward).
    """
    pool = env_pool if env_pool is not None else []
    n = len(seeds) * group_size
    while len(pool) < n:
        pool.append(make_env())
    envs = pool[:n]
    episodes: list[Episode] = []
    for gi, s in enumerate(seeds):
        for k in range(group_size):
            ep = Episode(group_id=gi, seed=int(s))
            obs, _info = envs[gi * group_size + k].reset(seed=int(s))
            ep._append(fmt.first(obs), 0, None, -1)
            ep.observations.append(obs)
            episodes.append(ep)

    # Per-turn generation length: the env's hint (built-in games) caps the config's max_new_tokens.
    hint = getattr(getattr(envs[0], "unwrapped", envs[0]), "max_action_chars", None)
    if hint is not None and fmt.one_token_per_char:
        params = SamplingParams(
            **{**params.__dict__, "max_new_tokens": min(params.max_new_tokens, int(hint))}
        )

    turn = 0
    base_seed = params.seed
    while True:
        active = [i for i, ep in enumerate(episodes) if not ep.done]
        if not active:
            break
        if max_turns is not None and turn >= max_turns:
            for i in active:
                episodes[i].done = True
            break
        p = (
            params
            if base_seed is None
            else SamplingParams(**{**params.__dict__, "seed": base_seed * 1009 + turn})
        )
        outs = backend.generate([episodes[i].token_ids for i in active], p)
        for i, out in zip(active, outs, strict=True):
            ep = episodes[i]
            ep._append(out.token_ids, 1, out.logprobs, turn)
            text = fmt.decode_action(out.token_ids)
            ep.actions.append(text)
            obs, reward, terminated, truncated, info = envs[i].step(text)
            ep.rewards.append(float(reward))
            ep.action_tokens.append(len(out.token_ids))
            ep.invalid = ep.invalid or bool(info.get("invalid", False))
            if terminated or truncated:
                ep.success = is_success(float(reward), info, terminated)
                ep.done = True
            else:
                ep._append(fmt.next(ep.observations, ep.actions, out.token_ids, obs), 0, None, -1)
                ep.observations.append(obs)
        turn += 1
    groups: list[list[Episode]] = [[] for _ in seeds]
    for ep in episodes:
        groups[ep.group_id].append(ep)
    return groups
