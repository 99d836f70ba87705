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
    if float(getattr(cfg, "attention_dropout", 0.0) or 0.0) > 0:
        return "attention dropout (the lean forward has none)"
    inner = getattr(model, "model", None)
    if inner is None or not hasattr(inner, "layers") or not hasattr(inner, "rotary_emb"):
        return "unexpected module layout"
    return None


#: Up to this many parameters, projections that read the same input are fused into one matmul.
FUSE_MAX_PARAMS = 50_000_000


def _rms(x: torch.Tensor, norm: tuple[torch.Tensor, float]) -> torch.Tensor:
    """RMSNorm as transformers computes it: in float32, the weight applied in the input's dtype."""
    w, eps = norm
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return w * xf.to(x.dtype)


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rot * sin


def _distinct(rows: Sequence[Sequence[int]]) -> tuple[list[tuple[int, ...]], list[int]]:
    """The distinct rows, in first-seen order, and for every row the index of its distinct row."""
    index: dict[tuple[int, ...], int] = {}
    of = [index.setdefault(tuple(r), len(index)) for r in rows]
    return list(index), of


def padded(
    rows: Sequence[Sequence[int]], width: int, pad_id: int, left: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids [N, width] padded with `pad_id` on the left or the right, and the mask of real tokens."""
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    valid = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        if r:
            at = slice(width - len(r), width) if left else slice(0, len(r))
            ids[i, at] = torch.tensor(r, dtype=torch.long)
            valid[i, at] = True
    return ids.to(device), valid.to(device)


class _Proj:
    """Linear layers that read the same input, applied as one: their outputs concatenated on the last dim."""

    def __init__(self, linears: list[Any], fuse: bool) -> None:
        self.parts = [(lin.weight, lin.bias) for lin in linears]
        self.fused: tuple[torch.Tensor, torch.Tensor | None] | None = None
        if fuse and len({b is None for _, b in self.parts}) == 1:  # all with a bias or all without
            bias = None if self.parts[0][1] is None else torch.cat([b for _, b in self.parts])
            self.fused = (torch.cat([w for w, _ in self.parts]), bias)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            return F.linear(x, *self.fused)
        return torch.cat([F.linear(x, w, b) for w, b in self.parts], dim=-1)


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
        # Small models: one matmul for q/k/v and one for gate/up, on weights concatenated per call (a copy of
        # the layer weights). Large models: separate matmuls, no copy.
        fuse = sum(p.numel() for p in model.parameters()) <= FUSE_MAX_PARAMS
        self.layers = []
        for layer in inner.layers:
            att, mlp = layer.self_attn, layer.mlp
            self.layers.append(
                (
                    (layer.input_layernorm.weight, float(layer.input_layernorm.variance_epsilon)),
                    _Proj([att.q_proj, att.k_proj, att.v_proj], fuse),
                    (att.o_proj.weight, att.o_proj.bias),
                    (
                        layer.post_attention_layernorm.weight,
                        float(layer.post_attention_layernorm.variance_epsilon),
                    ),
                    _Proj([mlp.gate_proj, mlp.up_proj], fuse),
                    (mlp.down_proj.weight, mlp.down_proj.bias),
                )
            )
        self.scale = float(inner.layers[0].self_attn.scaling)
        self.dims = (self.n_heads, self.n_kv, self.head_dim, self.scale)
        self.dtype = self.embed.dtype
        self.device = self.embed.device

    # ---- pieces -------------------------------------------------------------------------------------------------
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
        for i, layer in enumerate(self.layers):
            h, _ = _block(layer, self.dims, h, cos, sin, mask, cache=(self.k[i], self.v[i], at, width))
        return h

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(_rms(h, self.final_norm), self.head, self.head_bias)

    # ---- the two calls ------------------------------------------------------------------------------------------
    def prefill(self, prompts: Sequence[Sequence[int]], pad_id: int, max_new_tokens: int) -> torch.Tensor:
        """Left-pads `prompts`, runs each distinct prompt once, and returns the last-position logits [B, vocab]."""
        b = len(prompts)
        width = max(len(p) for p in prompts)
        self.total = width + max_new_tokens
        uniq, row_of = _distinct(prompts)
        u = len(uniq)
        ids, valid = padded(uniq, width, pad_id, left=True, device=self.device)
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


# ---- training: one forward for G sequences that share a prefix -------------------------------------------------
def _block(
    layer: tuple[Any, ...],
    dims: tuple[int, int, int, float],
    h: torch.Tensor,  # [N, S, hidden]
    cos: torch.Tensor,  # [N or 1, 1, S, D]
    sin: torch.Tensor,
    mask: torch.Tensor,  # bool [N, 1, S, keys]
    past: tuple[torch.Tensor, torch.Tensor]
    | None = None,  # keys/values [N, kv, P, D] attended before the chunk
    cache: tuple[torch.Tensor, torch.Tensor, slice, int]
    | None = None,  # (K, V, where this chunk goes, width)
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One decoder layer on chunk `h`. Its keys/values attend after `past` (concatenated: training), or are
    written into a preallocated `cache` that is read up to `width` (sampling), or alone."""
    n1, qkv_proj, (wo, bo), n2, gu_proj, (wd, bd) = layer
    nh, nk, hd, scale = dims
    b, s, _ = h.shape
    qkv = qkv_proj(_rms(h, n1))
    q = qkv[..., : nh * hd].view(b, s, nh, hd).transpose(1, 2)
    k = qkv[..., nh * hd : (nh + nk) * hd].view(b, s, nk, hd).transpose(1, 2)
    v = qkv[..., (nh + nk) * hd :].view(b, s, nk, hd).transpose(1, 2)
    q, k = _rope(q, cos, sin), _rope(k, cos, sin)
    if cache is not None:
        kc, vc, at, width = cache
        kc[:, :, at], vc[:, :, at] = k, v
        keys, values = kc[:, :, :width], vc[:, :, :width]
    elif past is not None:
        keys, values = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
    else:
        keys, values = k, v
    a = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, scale=scale, enable_gqa=nk != nh)
    h = h + F.linear(a.transpose(1, 2).reshape(b, s, nh * hd), wo, bo)
    gate, up = gu_proj(_rms(h, n2)).chunk(2, dim=-1)
    return h + F.linear(F.silu(gate) * up, wd, bd), (k, v)


def shared_prefix_logits(
    model: Any, token_ids: Sequence[Sequence[int]], prefix_lens: Sequence[int], chunk: int = 16
) -> torch.Tensor:
    """Logits [B, W, vocab] (W = longest sequence, right padding) of the transformers forward, computing each
    distinct prefix once: sequence b's first `prefix_lens[b]` tokens are run once per distinct prefix, and its
    remaining tokens attend to that prefix's keys and values (gradients flow back through the sharing). The
    remainders run in chunks of `chunk` rows of similar length, so little compute goes to padding.

    Position j of row b holds the logits after token j, as the transformers forward gives them, for
    j ≥ prefix_lens[b] − 1 (the positions that predict the tokens after the prefix); earlier positions are 0: they
    predict prefix tokens, which carry no loss. The G episodes of a GRPO group share their prompt, so the learner's
    work on prompts drops by about a factor G.
    """
    net = LeanDecoder(model)  # with autograd on, the fused weights are differentiable views of the parameters
    dims, dev = net.dims, net.device
    b = len(token_ids)
    width = max(len(t) for t in token_ids)
    prefixes, group = _distinct([t[:p] for t, p in zip(token_ids, prefix_lens, strict=True)])
    wp = max(len(p) for p in prefixes)
    cos_t, sin_t = net._tables(width + 1)

    # prefixes: causal over their own (right-padded) tokens, positions 0..wp−1
    pre_ids, pre_valid = padded(prefixes, wp, 0, left=False, device=dev)
    causal_p = torch.ones((wp, wp), dtype=torch.bool, device=dev).tril()
    mask_p = (causal_p[None] & pre_valid[:, None, :])[:, None]
    h = F.embedding(pre_ids, net.embed)
    cos_p, sin_p = cos_t[:wp][None, None], sin_t[:wp][None, None]
    past = []
    for layer in net.layers:
        h, kv = _block(layer, dims, h, cos_p, sin_p, mask_p)
        past.append(kv)
    h_pre = h

    # the rest of each sequence, in chunks of similar length: its own prefix (shared rows), then causal over
    # itself; positions continue after the prefix
    rows_out: list[torch.Tensor] = []
    vals_out: list[torch.Tensor] = []
    hid = h_pre.shape[-1]
    plen_all = torch.tensor(prefix_lens, dtype=torch.long, device=dev)
    g_all = torch.tensor(group, dtype=torch.long, device=dev)
    rows_all = torch.arange(b, device=dev)
    rows_out.append(rows_all * width + plen_all - 1)  # the prefix's last position predicts the next token
    vals_out.append(h_pre[g_all, plen_all - 1])
    order = sorted(range(b), key=lambda i: len(token_ids[i]) - prefix_lens[i])
    for c in range(0, b, chunk):
        idx = order[c : c + chunk]
        n = len(idx)
        lens = [len(token_ids[i]) - prefix_lens[i] for i in idx]
        ws = max(lens)
        if ws == 0:
            continue
        suf_ids, suf_valid = padded(
            [token_ids[i][prefix_lens[i] :] for i in idx], ws, 0, left=False, device=dev
        )
        sel = torch.tensor(idx, dtype=torch.long, device=dev)
        plen, g = plen_all[sel], g_all[sel]
        sees_prefix = torch.arange(wp, device=dev)[None, :] < plen[:, None]  # [n, wp]
        causal_s = torch.ones((ws, ws), dtype=torch.bool, device=dev).tril()
        mask_s = torch.cat(
            [sees_prefix[:, None, :].expand(n, ws, wp), causal_s[None] & suf_valid[:, None, :]], dim=-1
        )[:, None]
        pos = (plen[:, None] + torch.arange(ws, device=dev)[None]).clamp(max=width)
        cos_s, sin_s = cos_t[pos][:, None], sin_t[pos][:, None]
        h = F.embedding(suf_ids, net.embed)
        for layer, (k, v) in zip(net.layers, past, strict=True):
            h, _ = _block(
                layer, dims, h, cos_s, sin_s, mask_s, past=(k.index_select(0, g), v.index_select(0, g))
            )
        sv = suf_valid.reshape(-1)
        rows_out.append((sel[:, None] * width + pos).reshape(-1)[sv])
        vals_out.append(h.reshape(-1, hid)[sv])

    # back to the [B, W] layout
    full = h_pre.new_zeros((b * width, hid)).index_put((torch.cat(rows_out),), torch.cat(vals_out))
    return net._logits(full.view(b, width, hid))
