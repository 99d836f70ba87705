"""The import boundaries of ARCHITECTURE.md, checked on every source file (direct imports) and at run time.

import-linter (`make lint`) checks the same contracts transitively; this test needs nothing but the AST and
also proves the light entry points stay light when actually imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEAVY = {"torch", "transformers", "vllm", "deepspeed"}
SERVICE = {
    "fastapi",
    "sqlalchemy",
    "celery",
    "redis",
    "api",
    "worker",
    "alembic",
    "kombu",
    "starlette",
    "uvicorn",
}

# (files, forbidden top-level modules, forbidden dotted prefixes)
CONTRACTS = [
    ("training/**/*.py", SERVICE, ()),
    ("training/config*.py", HEAVY, ("training.pipeline",)),
    ("training/config_io.py", HEAVY, ("training.pipeline",)),
    ("training/sourcemap.py", HEAVY, ("training.pipeline",)),
    ("training/lint/**/*.py", HEAVY, ("training.pipeline",)),
    ("api/**/*.py", HEAVY | {"worker"}, ("training.pipeline",)),
    ("worker/**/*.py", {"fastapi", "starlette"}, ("api.routers", "api.app")),
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def violations() -> list[str]:
    out = []
    for pattern, forbidden, prefixes in CONTRACTS:
        for path in sorted(ROOT.glob(pattern)):
            if "migrations" in path.parts and pattern.startswith("api"):
                continue
            for mod in imported_modules(path):
                top = mod.split(".")[0]
                if top in forbidden or any(mod == p or mod.startswith(p + ".") for p in prefixes):
                    out.append(f"{path.relative_to(ROOT)} imports {mod}")
    return out


def test_no_forbidden_direct_imports() -> None:
    assert violations() == []


@pytest.mark.parametrize("module", ["training.config", "training.config_io", "training.lint", "grpolab.cli"])
def test_light_modules_do_not_load_torch(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules))"
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
