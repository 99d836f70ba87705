"""A small HTTP client for the CLI commands that talk to a running GRPO Lab (submit, runs, logs, cancel)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"


def add_connection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, help=f"server URL (default: $GRPOLAB_URL or {DEFAULT_URL})")
    p.add_argument(
        "--token",
        default=None,
        help="API token (default: $GRPOLAB_TOKEN, else .grpolab/first-token if present)",
    )


class ApiFailure(Exception):
    def __init__(self, status: int, detail: dict[str, Any], sent: bool = True):
        super().__init__(detail.get("message", f"HTTP {status}"))
        self.status = status
        self.detail = detail
        # False when no connection was made: the server cannot have acted on the request
        self.sent = sent


class Client:
    def __init__(self, args: argparse.Namespace):
        self.url = (args.url or os.environ.get("GRPOLAB_URL") or DEFAULT_URL).rstrip("/")
        token = args.token or os.environ.get("GRPOLAB_TOKEN")
        if not token:
            local = Path(os.environ.get("GRPOLAB_DATA_DIR", ".grpolab")) / "first-token"
            token = local.read_text().strip() if local.is_file() else ""
        self.http = httpx.Client(
            base_url=self.url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=30,
        )

    def request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ApiFailure(
                0,
                {"message": f"cannot reach {self.url}: {exc} (is `grpolab up` running?)"},
                sent=not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout),
            ) from None
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail") or {}
            except ValueError:
                detail = {}
            if not isinstance(detail, dict):
                detail = {"message": str(detail)}
            detail.setdefault("message", f"HTTP {r.status_code}")
            raise ApiFailure(r.status_code, detail)
        return r.json() if r.content else None  # 204 No Content (DELETE) has no body


def format_finding(f: dict[str, Any], path: str = "") -> str:
    where = f"{path}:{f['line']}:{f['column']}: " if f.get("line") else (f"{path}: " if path else "")
    allowed = f" (allowed: {f.get('allow_reason')})" if f.get("allowed") else ""
    return f"{where}{f['severity']} {f['rule']} {f['message']}{allowed}"


def report_failure(exc: ApiFailure, path: str = "") -> int:
    d = exc.detail
    print(f"error: {d.get('message')}", file=sys.stderr)
    for e in d.get("errors") or []:
        where = f"{path}:{e['line']}:{e['column']}: " if e.get("line") else ""
        print(f"  {where}{e.get('field') or '(top level)'}: {e.get('message')}", file=sys.stderr)
    for f in d.get("findings") or []:
        print("  " + format_finding(f, path), file=sys.stderr)
        if f.get("severity") == "error" and not f.get("allowed") and f.get("fix"):
            print(f"      fix: {f['fix']}", file=sys.stderr)
    if exc.status == 401:
        print("  set GRPOLAB_TOKEN (see `grpolab token create NAME`)", file=sys.stderr)
    return 1
