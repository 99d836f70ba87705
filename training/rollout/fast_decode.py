"""A lean forward pass for Llama/Qwen2-architecture models, used by the `hf` rollout backend to sample.

Why: on small models on CPU, one decode step of the transformers forward costs several milliseconds of Python and
mask building for well under a millisecond of arithmetic (bench/train_step.py). This module runs the same
computation — same weights (the model's own parameters, read in place, so weight sync stays free), same RMSNorm,
rotary embedding (the model's own `rotary_emb`, so RoPE scaling variants are honoured), GQA, biases and tied
head — with a preallocated KV cache, fused q/k/v and gate/up projections and PyTorch's SDPA, in a few dozen tensor
ops per step. Identical prompts are prefilled once and their cache rows shared (the G samples of a group start from
one prompt).

It only takes models it reproduces exactly (checked in tests against the transformers forward); anything else
(`supports()` says why) falls back to the transformers forward in `training/rollout/hf.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

SUPPORTED = ("llama", "qwen2")


def supports(model: Any) -> str | None:
    """None when `model` can run on the lean path, else the reason it cannot."""
    cfg = getattr(model, "config", None)
    kind = getattr(cfg, "model_type", None)
    if kind not in SUPPORTED:
        return f"model_type {kind!r} (lean path covers {', '.join(SUPPORTED)})"
    if getattr(cfg, "hidden_act", "silu") != "silu":
        return f"hidden_act {getattr(cfg, 'hidden_act', None)!r}"
    if kind == "qwen2" and getattr(cfg, "use_sliding_window", False):
        return "sliding-window attention"
    if any(t != "full_attention" for t in (getattr(cfg, "layer_types", None) or [])):
        return "non-full attention layers"
    if getattr(cfg, "pretraining_tp", 1) not in (None, 1):
        return "pretraining_tp > 1"
    inner = getattr(model, "model", None)
    if inner is None or not hasattr(inner, "layers") or not hasattr(inner, "rotary_emb"):
        return "unexpected module layout"
    return None


class LeanDecoder:
    """Prefill + one-token decode steps for one `generate` call (weights are read when it is built)."""

    def __init__(self, model: Any) -> None:
        cfg = model.config
        inner = model.model
        self.n_heads = int(cfg.num_attention_heads)
        self.head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // self.n_heads)
        self.n_kv = int(inner.layers[0].self_attn.k_proj.out_features) // self.head_dim
        self.embed = inner.embed_tokens.weight
        self.rotary = inner.rotary_emb
        self.final_norm = (inner.norm.weight, float(inner.norm.variance_epsilon))
        self.head = model.lm_head.weight
        self.head_bias = model.lm_head.bias
        self.layers = []
        for layer in inner.layers:
            att, mlp = layer.self_attn, layer.mlp
            biases = [att.q_proj.bias, att.k_proj.bias, att.v_proj.bias]
            self.layers.append(
                (
                    (layer.input_layernorm.weight, float(layer.input_layernorm.variance_epsilon)),
                    torch.cat([att.q_proj.weight, att.k_proj.weight, att.v_proj.weight]),
                    None if biases[0] is None else torch.cat(biases),
                    (att.o_proj.weight, att.o_proj.bias),
                    (
                        layer.post_attention_layernorm.weight,
                        float(layer.post_attention_layernorm.variance_epsilon),
                    ),
                    torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]),
                    None if mlp.gate_proj.bias is None else torch.cat([mlp.gate_proj.bias, mlp.up_proj.bias]),
                    (mlp.down_proj.weight, mlp.down_proj.bias),
                )
            )
        self.scale = float(inner.layers[0].self_attn.scaling)
        self.dtype = self.embed.dtype
        self.device = self.embed.device

    # ---- pieces -------------------------------------------------------------------------------------------------
    @staticmethod
    def _rms(x: torch.Tensor, norm: tuple[torch.Tensor, float]) -> torch.Tensor:
        w, eps = norm
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
        return w * xf.to(x.dtype)

    @staticmethod
    def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rot * sin

    def _tables(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(length, device=self.device)[None]
        cos, sin = self.rotary(self.embed[:1][None], pos)
        return cos[0], sin[0]  # [length, head_dim]

    def _layers(
        self,
        h: torch.Tensor,  # [B, S, hidden]
        cos: torch.Tensor,  # [B, 1, S, D]
        sin: torch.Tensor,
        mask: torch.Tensor,  # bool [B, 1, S, T]
        at: slice,  # where this chunk's keys/values go in the cache
        width: int,  # keys attended so far, this chunk included
    ) -> torch.Tensor:
        b, s, _ = h.shape
        hd, nh, nk = self.head_dim, self.n_heads, self.n_kv
        for i, (n1, wqkv, bqkv, (wo, bo), n2, wgu, bgu, (wd, bd)) in enumerate(self.layers):
            x = self._rms(h, n1)
            qkv = F.linear(x, wqkv, bqkv)
            q = qkv[..., : nh * hd].view(b, s, nh, hd).transpose(1, 2)
            k = qkv[..., nh * hd : (nh + nk) * hd].view(b, s, nk, hd).transpose(1, 2)
            v = qkv[..., (nh + nk) * hd :].view(b, s, nk, hd).transpose(1, 2)
            q, k = self._rope(q, cos, sin), self._rope(k, cos, sin)
            self.k[i][:, :, at] = k
            self.v[i][:, :, at] = v
            a = F.scaled_dot_product_attention(
                q,
                self.k[i][:, :, :width],
                self.v[i][:, :, :width],
                attn_mask=mask,
                scale=self.scale,
                enable_gqa=nk != nh,
            )
            h = h + F.linear(a.transpose(1, 2).reshape(b, s, nh * hd), wo, bo)
            gate, up = F.linear(self._rms(h, n2), wgu, bgu).chunk(2, dim=-1)
            h = h + F.linear(F.silu(gate) * up, wd, bd)
        return h

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(self._rms(h, self.final_norm), self.head, self.head_bias)

    # ---- the two calls ------------------------------------------------------------------------------------------
    def prefill(self, prompts: Sequence[Sequence[int]], pad_id: int, max_new_tokens: int) -> torch.Tensor:
        """Left-pads `prompts`, runs each distinct prompt once, and returns the last-position logits [B, vocab]."""
        b = len(prompts)
        width = max(len(p) for p in prompts)
        self.total = width + max_new_tokens
        keys: dict[tuple[int, ...], int] = {}
        row_of = [keys.setdefault(tuple(p), len(keys)) for p in prompts]
        uniq = list(keys)
        u = len(uniq)
        ids = torch.full((u, width), pad_id, dtype=torch.long)
        valid = torch.zeros((u, width), dtype=torch.bool)
        for i, p in enumerate(uniq):
            if p:
                ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
                valid[i, width - len(p) :] = True
        ids, valid = ids.to(self.device), valid.to(self.device)
        pos = (valid.long().cumsum(-1) - 1).clamp(min=0)
        self.cos_t, self.sin_t = self._tables(self.total)
        cos, sin = self.cos_t[pos][:, None], self.sin_t[pos][:, None]  # [U, 1, W, D]
        causal = torch.ones((width, width), dtype=torch.bool, device=self.device).tril()
        # a padding query sees itself only: no all-masked rows (SDPA would return NaN and spread it)
        mask = (causal[None] & valid[:, None, :]) | torch.eye(width, dtype=torch.bool, device=self.device)[
            None
        ]
        shape = (u, self.n_kv, self.total, self.head_dim)
        self.k = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in self.layers]
        self.v = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in self.layers]
        h = self._layers(F.embedding(ids, self.embed), cos, sin, mask[:, None], slice(0, width), width)
        logits = self._logits(h[:, -1])
        index = torch.tensor(row_of, dtype=torch.long, device=self.device)
        if u != b:  # share the cache rows of identical prompts
            self.k = [x.index_select(0, index) for x in self.k]
            self.v = [x.index_select(0, index) for x in self.v]
            logits, valid, pos = logits[index], valid[index], pos[index]
        self.keymask = torch.zeros((b, 1, 1, self.total), dtype=torch.bool, device=self.device)
        self.keymask[:, 0, 0, :width] = valid
        self.next_pos = pos[:, -1] + 1
        self.filled = width
        return logits

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feeds one token per row ([B]) and returns the next logits [B, vocab]."""
        t = self.filled
        self.keymask[:, 0, 0, t] = True
        pos = self.next_pos
        cos, sin = self.cos_t[pos][:, None, None], self.sin_t[pos][:, None, None]  # [B, 1, 1, D]
        h = F.embedding(tokens[:, None], self.embed)
        h = self._layers(h, cos, sin, self.keymask[..., : t + 1], slice(t, t + 1), t + 1)
        self.filled = t + 1
        self.next_pos = pos + 1
        return self._logits(h[:, -1])

    def keep(self, rows: torch.Tensor) -> None:
        """Keeps only `rows` (indices into the current rows) for the following decode steps."""
        self.k = [x.index_select(0, rows) for x in self.k]
        self.v = [x.index_select(0, rows) for x in self.v]
        self.keymask = self.keymask.index_select(0, rows)
        self.next_pos = self.next_pos.index_select(0, rows)
