"""The TypeScript types of the UI are generated from the OpenAPI document (frontend/src/api/schema.gen.ts,
`npm run gen:api`): this test regenerates them and fails when the committed file is stale."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from api.openapi_dump import openapi_document

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
COMMITTED = FRONTEND / "src" / "api" / "schema.gen.ts"


@pytest.mark.skipif(
    not GENERATOR.exists() or shutil.which("node") is None,
    reason="needs the frontend's node_modules (make frontend) and Node 20",
)
def test_generated_typescript_client_is_current(tmp_path: Path) -> None:
    doc = tmp_path / "openapi.json"
    doc.write_text(json.dumps(openapi_document(), indent=1, sort_keys=True) + "\n")
    out = tmp_path / "schema.gen.ts"
    subprocess.run([str(GENERATOR), str(doc), "-o", str(out)], check=True, capture_output=True, timeout=120)
    assert COMMITTED.exists(), (
        "frontend/src/api/schema.gen.ts is missing: run `cd frontend && npm run gen:api`"
    )
    assert out.read_text() == COMMITTED.read_text(), (
        "frontend/src/api/schema.gen.ts is stale (the API changed): run `cd frontend && npm run gen:api` and commit"
    )


def test_openapi_document_names_every_router() -> None:
    paths = openapi_document()["paths"]
    assert isinstance(paths, dict)
    for path in ("/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/lint", "/api/v1/me"):
        assert path in paths, path
