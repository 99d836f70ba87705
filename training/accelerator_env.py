"""DeepSpeed's accelerator, named before transformers imports it on a machine that has only a CPU.

transformers.integrations.deepspeed imports accelerate, which imports DeepSpeed when it is installed; DeepSpeed then
probes for an accelerator and, finding none, logs "Setting accelerator to CPU. If you have GPU or other accelerator,
we were unable to detect it." into every CPU run log and `grpolab export`. Naming the CPU (DS_ACCELERATOR=cpu) skips
the probe and its warning. Only where DeepSpeed's own probe would fall back to the CPU: a user's DS_ACCELERATOR is
kept, and a machine with CUDA, XPU, MPS or a vendor extension DeepSpeed knows is left to DeepSpeed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import MutableMapping

# the extensions DeepSpeed's probe imports to pick an accelerator other than CUDA (deepspeed/accelerator)
VENDOR_EXTENSIONS = ("torch_npu", "torch_sdaa", "habana_frameworks", "torch_mlu", "torch_supa", "torch_xmlir")


def only_cpu() -> bool:
    """True where DeepSpeed's probe would find no accelerator (torch is imported; no extension is)."""
    import torch

    if torch.cuda.is_available():
        return False
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return False
    if torch.backends.mps.is_available():
        return False
    return not any(importlib.util.find_spec(name) is not None for name in VENDOR_EXTENSIONS)


def name_cpu_accelerator(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set DS_ACCELERATOR=cpu in `environ` (default: this process) where it is unset and there is only a CPU.

    Call before anything imports transformers or DeepSpeed. Returns whether it set it."""
    env = os.environ if environ is None else environ
    if "DS_ACCELERATOR" in env or not only_cpu():
        return False
    env["DS_ACCELERATOR"] = "cpu"
    return True
