"""service.settings: what each environment variable sets, the limits it must respect, and a description per
setting (read from the field docstrings, so a setting without one, or a lost docstring, shows here)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_every_setting_has_its_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []
    assert Settings.model_fields["max_steps"].description == (
        "Largest run.steps accepted at submission (0 = no limit)."
    )


def test_environment_names_and_defaults() -> None:
    s = Settings.from_env(
        {
            "GRPOLAB_MAX_STEPS": "5",
            "GRPOLAB_HEARTBEAT_TIMEOUT_S": "8",
            "GRPOLAB_CHILD_MEM_LIMIT_MB": "",  # empty: the default
            "DATABASE_URL": "postgresql+psycopg://db/grpolab",
            "BROKER_URL": "redis://broker:6379/0",
        }
    )
    assert (s.max_steps, s.heartbeat_timeout_s, s.child_mem_limit_mb) == (5, 8.0, None)
    assert (s.db_url, s.broker) == ("postgresql+psycopg://db/grpolab", "redis://broker:6379/0")
    d = Settings()
    assert (d.max_attempts, d.heartbeat_interval_s, d.max_queued_runs_per_user, d.max_wall_time_s) == (
        3,
        2.0,
        100,
        0,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEARTBEAT_INTERVAL_S", "0"),  # an interval must be > 0
        ("DB_STATEMENT_TIMEOUT_S", "-1"),  # 0 = none, below is refused
        ("MAX_BATCH_SIZE", "-1"),
        ("API_THREADS", "257"),
        ("CHILD_MEM_LIMIT_MB", "63"),
        ("DB_CONNECT_TIMEOUT_S", "1"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings.from_env({f"GRPOLAB_{name}": value})
    assert err.value.errors()[0]["loc"] == (name.lower(),)
    Settings.from_env(
        {f"GRPOLAB_{name}": "64" if name == "CHILD_MEM_LIMIT_MB" else "2"}
    )  # in range: accepted
