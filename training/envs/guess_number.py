"""Guess-the-number with levels: GRPO Lab's built-in game that a ~1M-parameter character model learns on CPU.

A secret s is drawn uniformly from 1..N at reset; the player has ceil(log2 N) + 1 turns (binary search always
wins). An action is exactly ndigits(N) digits, zero-padded, followed by `;` (N = 16: `07;`). After a valid guess g
the observation is `<` (s < g), `>` (s > g) or `=` (s == g: reward +1, episode ends). An unparsable or out-of-range
action gets −0.1 and ends the episode; running out of turns gets 0 (truncated). The first observation is `?`.

Registered in gem's registry as `grpolab:GuessNumber-v0-n8` (the demo), `-n16` and `-n32`.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from gem.core import Env

INVALID_REWARD = -0.1
SUCCESS_REWARD = 1.0


class GuessNumberEnv(Env):
    """Text env; `demo_action` plays the scripted players used by the warm start."""

    def __init__(self, n: int = 8, max_turns: int | None = None, seed: int | None = None, **_: Any) -> None:
        if n < 2:
            raise ValueError("GuessNumber: n must be ≥ 2")
        self.n = int(n)
        self.width = len(str(self.n))
        self.max_turns = int(max_turns) if max_turns else math.ceil(math.log2(self.n)) + 1
        #: Hints for the episode runner: tokens an action needs (digits + `;`) and its terminator.
        self.max_action_chars = self.width + 1
        self.stop = ";"
        self._pattern = re.compile(rf"(\d{{{self.width}}});")
        self._rng = random.Random(seed)
        self.secret = 1
        self.turn = 0
        self.lo, self.hi = 1, self.n

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        # A private RNG (not gem's global seeding): replaying a group = resetting G envs with the same seed.
        if seed is not None:
            self._rng = random.Random(seed)
        self.secret = self._rng.randint(1, self.n)
        self.turn = 0
        self.lo, self.hi = 1, self.n
        return "?", {"secret": self.secret}

    def format_action(self, guess: int) -> str:
        return f"{guess:0{self.width}d};"

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.turn += 1
        m = self._pattern.fullmatch(action.strip())
        guess = int(m.group(1)) if m else -1
        if not 1 <= guess <= self.n:
            return "", INVALID_REWARD, True, False, {"success": False, "invalid": True}
        if guess == self.secret:
            return "=", SUCCESS_REWARD, True, False, {"success": True}
        if guess > self.secret:
            self.hi = min(self.hi, guess - 1)
            obs = "<"
        else:
            self.lo = max(self.lo, guess + 1)
            obs = ">"
        return obs, 0.0, False, self.turn >= self.max_turns, {"success": False}

    def demo_action(self, rng: random.Random, player: str) -> str:
        """`solver`: binary search on what the replies allow; `random_valid`: a uniformly random valid guess."""
        if player == "solver":
            return self.format_action((self.lo + self.hi) // 2)
        return self.format_action(rng.randint(1, self.n))

    def sample_random_action(self) -> str:
        return self.format_action(self._rng.randint(1, self.n))
