"""Property-based requests generated from the OpenAPI document: no input may produce a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from infra import make_token


def test_no_server_errors_on_any_operation(settings) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app

    app = create_app(settings)
    token = make_token(settings.db_url)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checked: list[str] = []
    statuses: list[int] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.endswith("/events"):
            continue  # a stream stays open while its run lives; tests/api/test_endpoints.py covers it

        @given(case=op.as_strategy())
        @hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_5xx(case) -> None:  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call()
            statuses.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
            )

        no_5xx()
        checked.append(f"{op.method.upper()} {op.path}")
    assert "POST /api/v1/runs" in checked and len(checked) >= 14, checked
    assert len(statuses) >= 10 * len(checked)  # hypothesis really sent requests to every operation
    assert 201 in statuses and 422 in statuses  # both accepted and refused submissions were generated
