"""How observations and actions become one token sequence per episode.

`plain` (the built-in character model): BOS, then observation and action text back to back (`?4;>6;<5;=`).
`chat` (local HF models with a chat template): one user message per observation, the sampled action as the
assistant message; each new observation appends only the template's *delta* (closing of the assistant turn,
the new user turn, the generation prompt), so earlier tokens are never re-tokenized and the learner scores
exactly what was sampled. A `system` prompt (the dataset env's `system_prompt`) is the first message of every
conversation (`plain`: its text and a newline after BOS).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ConversationFormat:
    def __init__(self, tokenizer: Any, fmt: str = "plain", system: str | None = None) -> None:
        if fmt not in ("plain", "chat"):
            raise ValueError(f"unknown conversation format {fmt!r}")
        if fmt == "chat" and not getattr(tokenizer, "chat_template", None):
            fmt = "plain"
        self.tok = tokenizer
        self.fmt = fmt
        self.system = system or None
        vocab = tokenizer.get_vocab()
        #: True for character tokenizers: an env's `max_action_chars` hint is then a token budget too.
        self.one_token_per_char = fmt == "plain" and all(len(t) == 1 for t in vocab if not t.startswith("<"))

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False)) if text else []

    def decode_action(self, ids: Sequence[int]) -> str:
        return str(self.tok.decode(list(ids), skip_special_tokens=True))

    def stop_token_ids(self, stop: Sequence[str]) -> tuple[int, ...]:
        """EOS plus every stop string that is a single token (others are matched as text by the backend)."""
        ids = set()
        if self.tok.eos_token_id is not None:
            ids.add(int(self.tok.eos_token_id))
        for s in stop:
            enc = self.encode(s)
            if len(enc) == 1:
                ids.add(enc[0])
        return tuple(sorted(ids))

    # -- conversation --------------------------------------------------------------------------------------
    def first(self, obs: str) -> list[int]:
        if self.fmt == "plain":
            bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
            return bos + self.encode(f"{self.system}\n{obs}" if self.system else obs)
        return self.encode(self._render([{"role": "user", "content": obs}], True))

    def next(
        self, observations: Sequence[str], actions: Sequence[str], last_ids: Sequence[int], obs: str
    ) -> list[int]:
        """Tokens to append after the last action so that the model sees observation `obs` next."""
        if self.fmt == "plain":
            return self.encode(obs)
        msgs: list[dict[str, str]] = []
        for o, a in zip(observations, actions, strict=True):
            msgs += [{"role": "user", "content": o}, {"role": "assistant", "content": a}]
        opened = self._render(msgs[:-1], True)
        closed = self._render(msgs, False)
        full = self._render([*msgs, {"role": "user", "content": obs}], True)
        tail = closed[len(opened) :] if closed.startswith(opened) else ""
        action = actions[-1]
        rest = tail[len(action) :] if tail.startswith(action) else tail
        eos = self.tok.eos_token or ""
        if last_ids and eos and int(last_ids[-1]) == self.tok.eos_token_id and rest.startswith(eos):
            rest = rest[len(eos) :]  # the sampled EOS already closed the turn
        delta = full[len(closed) :] if full.startswith(closed) else full
        return self.encode(rest + delta)

    def _render(self, msgs: list[dict[str, str]], gen: bool) -> str:
        if self.system:
            msgs = [{"role": "system", "content": self.system}, *msgs]
        return str(self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen))
