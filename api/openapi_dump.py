"""Print the API's OpenAPI document (JSON) without a database or a server: the input of the TypeScript client.

    python -m api.openapi_dump > frontend/openapi.json

`npm run gen:api` (frontend/) runs it and regenerates frontend/src/api/schema.gen.ts; tests/api/test_ts_client.py
fails when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from api.app import create_app
from service.settings import Settings


def openapi_document() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        return create_app(settings, run_migrations=False).openapi()


def main() -> None:
    json.dump(openapi_document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
