"""LoRA (`model.lora`) with peft: wrapping the policy once, the merged weights that rollouts and exports see,
and adapter checkpoints.

The learner trains a peft model: base weights frozen, adapters (A, B per targeted linear layer) trainable. Three
consumers need plain Hugging Face weights instead, and all get them from `merged_weights` (W + (alpha/r)·B·A,
computed afresh from the frozen W each time, so repeated syncs never drift):
- the `hf` rollout samples with a plain copy (`rollout_model`) that shares every frozen tensor with the learner
  and owns only the targeted weights, so the lean forward runs unchanged and a sync copies only those;
- the vLLM engine receives the merged (name, tensor) pairs through its usual `reload_weights`;
- `grpolab export` writes them as a plain folder.
The KL reference is the same module with its adapters switched off (`peft_model.disable_adapter()`): no copy.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from training.config import LoraConfig
from training.models import ModelLoadError, Policy

#: peft's adapter name; one adapter per policy.
ADAPTER = "default"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"

#: Gathers partitioned parameters (DeepSpeed ZeRO-3) for the duration of a `with` block.
Gather = Callable[[list[torch.nn.Parameter]], contextlib.AbstractContextManager[Any]]


def _no_gather(_params: list[torch.nn.Parameter]) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


def apply_lora(policy: Policy, cfg: LoraConfig | None, seed: int = 0) -> Policy:
    """Wrap `policy.model` with peft LoRA adapters (None: unchanged, a full fine-tune). The base module is
    modified in place (peft swaps the targeted layers); the A matrices are initialised from `seed` without moving
    torch's global RNG, so a resumed run builds the same model before loading its adapter."""
    if cfg is None:
        return policy
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    linear = sorted(
        {n.rsplit(".", 1)[-1] for n, m in policy.model.named_modules() if isinstance(m, torch.nn.Linear)}
    )
    missing = [t for t in cfg.target_modules if t.rsplit(".", 1)[-1] not in linear]
    if missing:
        raise ModelLoadError(
            f"model.lora.target_modules: {missing} match no linear layer of {policy.source}; its linear layers "
            f"are {linear}"
        )
    peft_cfg = PeftLoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,  # type: ignore[arg-type]  # peft hints int; scaling is alpha / r, a float
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = get_peft_model(policy.model, peft_cfg, adapter_name=ADAPTER)
        except ValueError as exc:  # peft's NoMatchingPeftModuleError and other refusals
            raise ModelLoadError(f"model.lora: peft refused the adapters: {exc}") from None
    return dataclasses.replace(policy, model=model)


def is_lora(model: Any) -> bool:
    """True for a peft model (the learner's module, not a DeepSpeed engine around it)."""
    return getattr(model, "peft_config", None) is not None and hasattr(model, "get_base_model")


def _lora_layers(inner: Any) -> dict[str, Any]:
    from peft.tuners.lora import LoraLayer

    return {name: m for name, m in inner.named_modules() if isinstance(m, LoraLayer)}


def merged_weights(model: Any, gather: Gather = _no_gather) -> Iterator[tuple[str, torch.Tensor]]:
    """The (name, tensor) pairs of the plain model — Hugging Face names, every state_dict entry — with each
    adapter merged into its base weight. `model` is not modified; frozen tensors are yielded as they are (no
    copy), merged ones are new tensors. `gather` makes partitioned parameters whole while they are read."""
    inner = model.get_base_model()
    layers = _lora_layers(inner)
    params = dict(inner.named_parameters(remove_duplicate=False))
    buffers = dict(inner.named_buffers())
    with torch.no_grad():
        for key in list(inner.state_dict().keys()):
            owner, _, leaf = key.rpartition(".")
            if any(part.startswith("lora_") for part in owner.split(".")):
                continue  # adapter weights: folded into their base weight below
            layer = owner.removesuffix(".base_layer") if owner.endswith(".base_layer") else None
            name = f"{layer}.{leaf}" if layer is not None else key
            if key in buffers:
                yield name, buffers[key].detach()
                continue
            tensor = params[key]
            if layer is not None and leaf == "weight" and layer in layers:
                lora = layers[layer]
                with gather([tensor, *lora.parameters()]):
                    yield name, tensor.detach() + lora.get_delta_weight(ADAPTER).to(tensor.dtype)
            else:
                with gather([tensor]):
                    yield name, tensor.detach()


def rollout_model(model: Any) -> Any:
    """A plain transformers model equal to the current policy, for sampling: every frozen tensor is the learner's
    own (shared, not copied); the adapter-targeted weights are its own, holding W + delta. Refreshed by copying
    `merged_weights` into it (the shared tensors are skipped: same storage)."""
    inner = model.get_base_model()
    layers = _lora_layers(inner)
    own = {id(layer.get_base_layer().weight) for layer in layers.values()}
    shared = [*inner.parameters(), *inner.buffers()]
    # deepcopy reuses whatever the memo already maps: the frozen tensors stay shared
    memo: dict[int, Any] = {id(t): t for t in shared if id(t) not in own}
    plain = copy.deepcopy(inner, memo)
    with torch.no_grad():
        for name, original in layers.items():
            parent_name, _, attr = name.rpartition(".")
            parent = plain.get_submodule(parent_name) if parent_name else plain
            base = getattr(parent, attr).get_base_layer()
            base.weight.add_(original.get_delta_weight(ADAPTER).to(base.weight.dtype))
            base.weight.requires_grad_(False)
            setattr(parent, attr, base)
    plain.eval()
    return plain


def save_merged(policy: Policy, directory: Path) -> None:
    """A plain Hugging Face folder (adapters merged) of `policy`, loadable by transformers and vLLM."""
    from training.models import save_policy

    model = rollout_model(policy.model) if is_lora(policy.model) else policy.model
    save_policy(dataclasses.replace(policy, model=model), directory)


# -- checkpoints -----------------------------------------------------------------------------------------------
def save_adapter(model: Any, directory: Path) -> None:
    """`adapter_config.json` + `adapter_model.safetensors` (peft's layout: `PeftModel.from_pretrained` reads it)."""
    # save_embedding_layers=False: with lm_head targeted peft would also store the frozen head; the base is
    # rebuilt from model.path, so the adapter file holds only A and B.
    model.save_pretrained(
        str(directory), safe_serialization=True, selected_adapters=[ADAPTER], save_embedding_layers=False
    )
    (Path(directory) / "README.md").unlink(missing_ok=True)  # peft's empty model card: not ours to ship


def check_adapter(directory: Path, model: Any) -> None:
    """Refuse, with the fields named, an adapter checkpoint that does not fit the configured `model.lora`."""
    path = Path(directory) / ADAPTER_CONFIG
    if not path.is_file() or not (Path(directory) / ADAPTER_WEIGHTS).is_file():
        raise ValueError(
            f"checkpoint {directory} holds no LoRA adapter ({ADAPTER_CONFIG} + {ADAPTER_WEIGHTS}); it was written "
            "by a full fine-tune: resume with the same model.lora (null) or start a new run"
        )
    saved = json.loads(path.read_text())
    want = model.peft_config[ADAPTER]
    mine = {"r": want.r, "lora_alpha": want.lora_alpha, "target_modules": sorted(want.target_modules)}
    theirs = {
        "r": saved.get("r"),
        "lora_alpha": saved.get("lora_alpha"),
        "target_modules": sorted(saved.get("target_modules") or []),
    }
    if mine != theirs:
        raise ValueError(
            f"checkpoint {directory} holds an adapter with {theirs}, but model.lora asks for {mine}: resume with "
            "the run's own model.lora"
        )


def load_adapter(model: Any, directory: Path) -> None:
    """Load a checkpoint's adapter weights into `model` (exactly: no dtype round trip for float32 runs)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    check_adapter(directory, model)
    result: Any = set_peft_model_state_dict(
        model, load_file(Path(directory) / ADAPTER_WEIGHTS), adapter_name=ADAPTER
    )
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"checkpoint {directory}: the adapter does not match the model (missing {missing[:3]}, unexpected "
            f"{list(result.unexpected_keys)[:3]}): resume with the run's own model.path and model.lora"
        )
