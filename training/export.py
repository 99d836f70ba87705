"""A run's checkpoint as a plain Hugging Face model folder (`grpolab export`).

The folder holds config.json, model.safetensors (LoRA adapters merged into their base weights), the generation
config and the tokenizer: `AutoModelForCausalLM.from_pretrained` and vLLM load it with nothing of GRPO Lab
installed. It also carries GRPO Lab's small marker (how to format conversations), so `model.path: <folder>` can
train it further.

A full fine-tune's checkpoint already holds the weights. A LoRA checkpoint holds only the adapter: the base is
rebuilt from the run's own config (`model.path`, `run.seed` for the built-in model), the adapter loaded into it
and merged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from training import checkpoint


class ExportError(ValueError):
    """A run or checkpoint that cannot be exported, with what to do in the message."""


@dataclass
class Exported:
    out: Path
    checkpoint: Path
    step: int
    lora: bool
    parameters: int


#: Files of the run folder holding its RunConfig: written by the pipeline, and by the worker before it starts.
CONFIG_FILES = ("config.json", "run-config.json")


def find_checkpoint(run_dir: Path, step: int | None = None) -> Path:
    """The latest checkpoint of `run_dir`, or the one of `step`; a clear error when there is none."""
    if not run_dir.exists():
        raise ExportError(f"{run_dir}: no such run folder (give the --out folder of `grpolab train`)")
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir} is a file; give the run's folder (it holds checkpoints/)")
    found = checkpoint.list_checkpoints(run_dir)
    if not found:
        raise ExportError(
            f"{run_dir} holds no checkpoint (no checkpoints/step-*/ with a state.json): is it a run folder, and did "
            "the run save at least one checkpoint (run.checkpoint_every, or the end of the run)?"
        )
    if step is None:
        return found[-1]
    for ckpt in found:
        if int(ckpt.name[len(checkpoint.PREFIX) :]) == step:
            return ckpt
    steps = ", ".join(str(int(c.name[len(checkpoint.PREFIX) :])) for c in found)
    raise ExportError(f"{run_dir} has no checkpoint of step {step}; it has steps {steps}")


def read_run_config(run_dir: Path):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from training.config import RunConfig

    for name in CONFIG_FILES:
        path = run_dir / name
        if path.is_file():
            try:
                return RunConfig.model_validate_json(path.read_text())
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(top level)"
                raise ExportError(f"{path}: not a valid run config ({where}: {first['msg']})") from None
    raise ExportError(
        f"{run_dir} has no {' or '.join(CONFIG_FILES)}: the run's config is needed to rebuild it"
    )


def export_run(run_dir: Path, out: Path, step: int | None = None) -> Exported:
    """Write the checkpoint (latest, or of `step`) of `run_dir` to `out` as a plain Hugging Face folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

    from training.lora import ADAPTER_CONFIG, apply_lora, load_adapter, rollout_model
    from training.models import ModelLoadError, Policy, load_policy, save_policy

    run_dir, out = Path(run_dir), Path(out)
    ckpt = find_checkpoint(run_dir, step)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"--out {out} exists and is not an empty folder; choose a new folder")
    cfg = read_run_config(run_dir)
    lora = (ckpt / ADAPTER_CONFIG).is_file()
    builtin = cfg.model.path.startswith("builtin:")
    try:
        if lora:
            if cfg.model.lora is None:
                raise ExportError(f"{ckpt} holds a LoRA adapter but the run's config has no model.lora")
            policy = apply_lora(load_policy(cfg.model, seed=cfg.run.seed), cfg.model.lora, seed=cfg.run.seed)
            load_adapter(policy.model, ckpt)
            model = rollout_model(policy.model)
        else:
            if not (ckpt / "model.safetensors").is_file():
                raise ExportError(
                    f"{ckpt} holds neither model.safetensors nor a LoRA adapter; it is incomplete"
                )
            model = AutoModelForCausalLM.from_pretrained(
                ckpt,
                dtype=getattr(torch, cfg.model.dtype),
                trust_remote_code=cfg.model.trust_remote_code,
                local_files_only=True,
            )
        # the built-in character tokenizer must stay the generic fast tokenizer (see training/models.py)
        tokenizer = (
            PreTrainedTokenizerFast.from_pretrained(ckpt, local_files_only=True)
            if builtin
            else AutoTokenizer.from_pretrained(
                ckpt, trust_remote_code=cfg.model.trust_remote_code, local_files_only=True
            )
        )
    except (ModelLoadError, OSError) as exc:
        raise ExportError(f"cannot rebuild the policy of {ckpt}: {exc}") from None
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    fmt = "plain" if builtin else _format_of(cfg, tokenizer)
    save_policy(Policy(model=model, tokenizer=tokenizer, fmt=fmt, source=cfg.model.path), out)
    meta = {"run": str(run_dir.resolve()), "checkpoint": ckpt.name, "lora_merged": lora}
    (out / "grpolab_export.json").write_text(json.dumps(meta, indent=2))
    return Exported(
        out=out,
        checkpoint=ckpt,
        step=int(ckpt.name[len(checkpoint.PREFIX) :]),
        lora=lora,
        parameters=sum(p.numel() for p in model.parameters()),
    )


def _format_of(cfg, tokenizer) -> str:  # type: ignore[no-untyped-def]
    """How the run formatted conversations for a model folder, as `load_folder` decides it."""
    marker = Path(cfg.model.path).expanduser() / "grpolab_model.json"
    if marker.is_file():
        return str(json.loads(marker.read_text()).get("format", "plain"))
    return "chat" if cfg.model.chat_template and getattr(tokenizer, "chat_template", None) else "plain"
