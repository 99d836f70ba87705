"""`rollout.backend: hf` — batched sampling from a transformers causal LM with a KV cache.

Our own loop instead of `model.generate`: one prefill of the left-padded prompts, then one cached forward per
new token for the whole batch, stopping rows on stop tokens / stop strings and the whole loop as soon as every
row stopped. It records the behaviour log-prob of every sampled token (under logits / temperature, as the
learner scores them) at no extra cost, and its per-call overhead is a single forward: on tiny models on CPU the
Python overhead per token dominates, which is what bench/train_step.py measures against TRL.

A LoRA policy (peft model) is sampled through a plain copy with the adapters merged (`lora.rollout_model`): it
shares every frozen tensor with the learner and owns only the adapter-targeted weights, so the lean forward runs
as for a full fine-tune and a sync copies just those weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from training import lean_lm, lora
from training.backends import Completion, RolloutBackend, SamplingParams, WeightPairs


class HFRolloutBackend(RolloutBackend):
    """Samples with `model` in place. When the learner owns the same module (one process, the default), weight
    sync is free: `sync_weights` only copies when given weights of another module."""

    def __init__(
        self, model: Any, tokenizer: Any, device: str | torch.device = "cpu", lean: bool | None = None
    ) -> None:
        """`lean`: sample with the lean Llama/Qwen2 forward (training/lean_lm.py); None = whenever the
        model supports it, False = always the transformers forward."""
        self.model = lora.rollout_model(model) if lora.is_lora(model) else model
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        why_not = lean_lm.supports(self.model)
        if lean and why_not:
            raise ValueError(f"the lean sampling path does not support this model: {why_not}")
        self.lean = why_not is None if lean is None else lean

    @torch.inference_mode()
    def generate(self, prompts: Sequence[Sequence[int]], params: SamplingParams) -> list[Completion]:
        if not prompts:
            return []
        was_training = self.model.training
        self.model.eval()
        try:
            return self._generate(prompts, params)
        finally:
            self.model.train(was_training)

    def _generate(self, prompts: Sequence[Sequence[int]], params: SamplingParams) -> list[Completion]:
        b = len(prompts)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(params.seed if params.seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
        greedy = params.greedy or params.temperature <= 0
        temp = 1.0 if greedy else params.temperature
        stop_ids = torch.tensor(sorted(params.stop_token_ids), dtype=torch.long, device=self.device)
        lean = None
        if self.lean:
            lean = lean_lm.LeanDecoder(self.model)
            logits = lean.prefill(prompts, self.pad_id, params.max_new_tokens)
            advance = lean.decode
        else:
            logits, advance = self._hf_prefill(prompts)

        tokens: list[torch.Tensor] = []
        logps: list[torch.Tensor] = []
        finished = torch.zeros(b, dtype=torch.bool, device=self.device)
        alive_before: list[torch.Tensor] = []
        reason_stop = torch.zeros(b, dtype=torch.bool, device=self.device)
        live = torch.arange(b, device=self.device)  # the rows `logits` belong to (finished rows drop out)
        for t in range(params.max_new_tokens):
            logp_all = torch.log_softmax(logits.float() / temp, dim=-1)
            if greedy:
                tok_live = logp_all.argmax(-1)
            else:
                probs = logp_all.exp()
                if params.top_p < 1.0:
                    probs = _top_p(probs, params.top_p)
                tok_live = torch.multinomial(probs, 1, generator=gen).squeeze(-1)
            tok = torch.full((b,), self.pad_id, dtype=torch.long, device=self.device)
            tok[live] = tok_live
            logp = torch.zeros(b, dtype=torch.float32, device=self.device)
            logp[live] = logp_all.gather(-1, tok_live[:, None]).squeeze(-1)
            alive_before.append(~finished)
            tokens.append(tok)
            logps.append(logp)
            if stop_ids.numel():
                hit = torch.isin(tok, stop_ids) & ~finished
                reason_stop |= hit
                finished |= hit
            if params.stop:
                hit = self._stop_strings(tokens, alive_before, finished, params.stop)
                reason_stop |= hit
                finished |= hit
            if bool(finished.all()) or t == params.max_new_tokens - 1:
                break
            if lean is not None:
                keep = ~finished[live]
                if int(keep.sum()) <= 0.75 * len(live):  # drop finished rows once a quarter of them are done
                    lean.keep(keep.nonzero().squeeze(-1))
                    live = live[keep]
            logits = advance(tok[live])

        tok_m = torch.stack(tokens, 1).tolist()
        lp_m = torch.stack(logps, 1).tolist()
        alive_m = torch.stack(alive_before, 1).tolist()
        stopped = reason_stop.tolist()
        results = []
        for i in range(b):
            n = sum(alive_m[i])  # tokens sampled while the row was still running
            results.append(
                Completion(
                    token_ids=[int(x) for x in tok_m[i][:n]],
                    logprobs=[float(x) for x in lp_m[i][:n]],
                    finish_reason="stop" if stopped[i] else "length",
                )
            )
        return results

    def _hf_prefill(self, prompts: Sequence[Sequence[int]]) -> tuple[torch.Tensor, Any]:
        """The transformers forward with its dynamic cache: the path for models the lean forward does not cover."""
        b = len(prompts)
        width = max(len(p) for p in prompts)
        # left padding: every row's next token sits at the same column
        ids, valid = lean_lm.padded(prompts, width, self.pad_id, left=True, device=self.device)
        mask = valid.long()
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        state = {"cache": out.past_key_values, "mask": mask, "pos": pos[:, -1:] + 1}

        def advance(tok: torch.Tensor) -> torch.Tensor:
            m = state["mask"]
            state["mask"] = torch.cat([m, torch.ones((b, 1), dtype=m.dtype, device=self.device)], dim=1)
            o = self.model(
                input_ids=tok[:, None],
                attention_mask=state["mask"],
                position_ids=state["pos"],
                past_key_values=state["cache"],
                use_cache=True,
            )
            state["cache"], state["pos"] = o.past_key_values, state["pos"] + 1
            return o.logits[:, -1, :]

        return out.logits[:, -1, :], advance

    def _stop_strings(
        self,
        tokens: list[torch.Tensor],
        alive: list[torch.Tensor],
        finished: torch.Tensor,
        stop: Sequence[str],
    ) -> torch.Tensor:
        hit = torch.zeros_like(finished)
        cols = torch.stack(tokens, 1).tolist()
        al = torch.stack(alive, 1).tolist()
        fin = finished.tolist()
        for i, row in enumerate(cols):
            if fin[i]:
                continue
            text = self.tokenizer.decode(
                [t for t, a in zip(row, al[i], strict=True) if a], skip_special_tokens=True
            )
            if any(s in text for s in stop):
                hit[i] = True
        return hit

    def sync_weights(self, weights: WeightPairs) -> None:
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, tensor in weights:
                target = params.get(name)
                if target is not None and target.data_ptr() != tensor.data_ptr():
                    target.copy_(tensor.to(target.device, target.dtype))


def _top_p(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches top_p (the most likely token always stays)."""
    sorted_p, idx = probs.sort(-1, descending=True)
    cum = sorted_p.cumsum(-1)
    drop = (cum - sorted_p) >= top_p
    sorted_p = sorted_p.masked_fill(drop, 0.0)
    return torch.zeros_like(probs).scatter(-1, idx, sorted_p)
