"""Sample episodes: what the policy wrote at each step, kept in `<output dir>/samples.jsonl`.

A researcher's first question about a run is "what is the policy writing?". Each step, rank 0 appends one JSON
line `{"step": N, "episodes": [...]}` holding the first `run.sample_episodes` episodes of the step's groups
(whole groups first, in the order they were played; their seeds are random, so this is a random sample). Each
episode keeps:

- `prompt`: the environment's first observation (the task, before any chat template);
- `completion`: the policy's action, and on a multi-turn task every later observation (prefixed `» `) and
  action after it;
- `reward` (the episode's return), `success`, `turns`;
- `advantage`: the one advantage the estimator gave the episode inside its group (the value on its first turn;
  equal on every turn for the episode-level estimators), computed as `training.batch.build_batch` does, before
  any learner-side `algorithm.norm_return` whitening;
- `group`, `episode` (its index in the group), `seed`, and `group_rewards` (every return of its group, so the
  advantage can be read against its group).

Texts are capped at TEXT_CHARS characters (head and tail kept, the cut marked), so a long run's file stays
small: about 4 episodes × 2 texts × 2 KB per step at most. Pure Python and numpy: no torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from training.advantages import compute_advantages
from training.config import RunConfig
from training.envs.runner import Episode

FILE = "samples.jsonl"
#: longest prompt or completion kept (characters); longer texts keep their head and tail
TEXT_CHARS = 2000
_TAIL_CHARS = 600


def cap_text(text: str, limit: int = TEXT_CHARS) -> tuple[str, bool]:
    """`text` cut to about `limit` characters, keeping the head and the tail (a final answer sits at the end)."""
    if len(text) <= limit:
        return text, False
    tail = min(_TAIL_CHARS, limit // 3)
    head = limit - tail
    cut = len(text) - head - tail
    return f"{text[:head]} … [{cut} characters cut] … {text[-tail:]}", True


def transcript(ep: Episode) -> str:
    """The policy's actions, with every later observation of a multi-turn episode between them."""
    parts: list[str] = []
    for turn, action in enumerate(ep.actions):
        if turn > 0 and turn < len(ep.observations):
            parts.append(f"» {ep.observations[turn]}")
        parts.append(action)
    return "\n\n".join(parts)


def pick_episodes(groups: list[list[Episode]], count: int) -> list[tuple[int, int]]:
    """(group, episode) indices of the first `count` episodes, whole groups first."""
    picked: list[tuple[int, int]] = []
    for g, group in enumerate(groups):
        for e in range(len(group)):
            if len(picked) == count:
                return picked
            picked.append((g, e))
    return picked


def step_samples(groups: list[list[Episode]], cfg: RunConfig, count: int) -> list[dict[str, Any]]:
    """The kept episodes of one step, as JSON-ready dicts."""
    picked = pick_episodes(groups, count)
    if not picked:
        return []
    kept_groups = sorted({g for g, _ in picked})
    algo = cfg.algorithm
    adv = compute_advantages(
        [[e.rewards for e in groups[g]] for g in kept_groups],
        algo.estimator,
        gamma=algo.gamma,
        std_eps=algo.std_eps,
        step_token_counts=[[e.action_tokens for e in groups[g]] for g in kept_groups],
    )
    position = {g: i for i, g in enumerate(kept_groups)}
    out: list[dict[str, Any]] = []
    for g, e in picked:
        ep = groups[g][e]
        prompt, prompt_cut = cap_text(ep.observations[0] if ep.observations else "")
        completion, completion_cut = cap_text(transcript(ep))
        turn_adv = adv[position[g]][e]
        out.append(
            {
                "group": g,
                "episode": e,
                "seed": ep.seed,
                "prompt": prompt,
                "completion": completion,
                "truncated": prompt_cut or completion_cut,
                "reward": _finite(ep.ret),
                "advantage": _finite(turn_adv[0]) if turn_adv else 0.0,
                "success": bool(ep.success),
                "turns": ep.num_turns,
                "group_rewards": [_finite(other.ret) for other in groups[g]],
            }
        )
    return out


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: such a value is written as null."""
    v = float(value)
    return v if math.isfinite(v) else None


class SampleLog:
    """Appends each step's sample episodes to `<out_dir>/samples.jsonl` (the writer rank only).

    Created once the run knows its start step: a fresh run empties the file, a resumed one drops the lines
    after its checkpoint (those steps are played again, identically)."""

    def __init__(self, out_dir: Path, cfg: RunConfig, start_step: int, writer: bool):
        self.path = out_dir / FILE
        self.cfg = cfg
        self.count = cfg.run.sample_episodes
        self.enabled = writer and self.count > 0
        if writer:
            _keep_until(self.path, start_step)

    def write(self, step: int, groups: list[list[Episode]]) -> None:
        if not self.enabled:
            return
        line = {"step": step, "episodes": step_samples(groups, self.cfg, self.count)}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n")


def _keep_until(path: Path, step: int) -> None:
    """Keep only the lines of steps <= `step` (none for a fresh run)."""
    if not path.exists():
        return
    if step <= 0:
        path.write_text("")
        return
    keep: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if line.strip() and int(json.loads(line)["step"]) <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a kill while it was written
    path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")
