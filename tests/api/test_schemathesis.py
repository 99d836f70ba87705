"""Property-based requests generated from the OpenAPI document, validated with every schemathesis check: no 5xx,
and no answer the document does not describe (status, body shape, content type, headers, auth, 405s).

One check is narrowed, not skipped: `POST /runs` carries a run config whose validity is more than its JSON Schema
(YAML syntax, RunConfig's cross-field rules, lint errors). A schema-valid body there may be refused, but only as an
invalid *config* (`invalid_config` / `lint_failed`), never as a malformed request.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from infra import make_token
from schemathesis.specs.openapi.checks import positive_data_acceptance

CONFIG_CARRIERS = {"POST /api/v1/runs", "POST /api/v1/sweeps", "POST /api/v1/sweeps/preview"}
# a schema-valid body may still name a project that does not exist, or a run larger than the operator allows
CONFIG_REFUSALS = {"invalid_config", "lint_failed", "over_limit", "unknown_project", "invalid_grid"}


def run_contract(op, token: str, label: str, statuses: list[int], config_refusals: set[str]) -> None:  # type: ignore[no-untyped-def]
    narrowed = [positive_data_acceptance] if label in CONFIG_CARRIERS else []

    @given(case=op.as_strategy())
    @hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def contract(case) -> None:  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call_and_validate(excluded_checks=narrowed)
        statuses.append(response.status_code)
        if narrowed and response.status_code == 422 and case.meta.generation.mode.is_positive:
            code = response.json()["detail"]["code"]
            config_refusals.add(code)
            assert code in CONFIG_REFUSALS, f"{label}: a schema-valid body refused as {code}: {response.text}"

    contract()


def test_openapi_contract_on_every_operation(settings) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app

    app = create_app(settings)
    token = make_token(settings.db_url)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checked: list[str] = []
    statuses: list[int] = []
    config_refusals: set[str] = set()
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.endswith("/events"):
            continue  # a stream stays open while its run lives; tests/api/test_concurrency.py covers it
        label = f"{op.method.upper()} {op.path}"

        run_contract(op, token, label, statuses, config_refusals)
        checked.append(label)
    assert "POST /api/v1/runs" in checked and len(checked) >= 14, checked
    assert len(statuses) >= 10 * len(checked)  # hypothesis really sent requests to every operation
    assert 201 in statuses and 422 in statuses  # both accepted and refused submissions were generated
    assert config_refusals <= CONFIG_REFUSALS
