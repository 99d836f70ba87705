"""The service's settings: one pydantic class, read from the environment once per process.

Embedded default (nothing set): everything lives under the data dir — a SQLite database, a SQLite broker
(kombu's SQLAlchemy transport, so no server is needed) and the runs' output folders. `DATABASE_URL` and
`BROKER_URL` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.db.session import DEFAULT_TUNING, DbTuning

ENV_PREFIX = "GRPOLAB_"


def env_name(setting: str) -> str:
    """The environment variable that sets a setting (max_batch_size → GRPOLAB_MAX_BATCH_SIZE): what from_env reads
    and what a refusal tells the operator to set."""
    return ENV_PREFIX + setting.upper()


# The shapes many settings share (each setting's docstring is its description)
Seconds = Annotated[float, Field(gt=0)]  # an interval or a wait
Limit = Annotated[int, Field(ge=0)]  # a quota or a size limit; 0 = none
FloatLimit = Annotated[float, Field(ge=0)]  # a time-out or a rate; 0 = none


class Settings(BaseModel):
    """Each setting is read from the environment variable GRPOLAB_<NAME> (from_env); the two URLs also from
    DATABASE_URL and BROKER_URL. docs/service.md lists them."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    data_dir: Path = Path(".grpolab")
    """Folder for the SQLite files, tokens and every run's output folder."""
    database_url: str | None = None
    """SQLAlchemy URL; default `sqlite:///<data_dir>/grpolab.db`."""
    broker_url: str | None = None
    """Celery broker URL; default `sqla+sqlite:///<data_dir>/broker.db` (no server)."""
    allow_trust_remote_code: bool = False
    """Accept configs with model.trust_remote_code: true (runs a model's own Python)."""
    allow_custom_rewards: bool = False
    """Accept configs with env.dataset.reward: custom (runs the user's own Python as the reward); the workers need
    GRPOLAB_ALLOW_CUSTOM_REWARDS=1 too."""
    max_attempts: Annotated[int, Field(ge=1)] = 3
    """Worker losses a run survives before it is failed."""
    heartbeat_interval_s: Seconds = 2.0
    """How often a busy worker writes its heartbeat."""
    heartbeat_timeout_s: Seconds = 30.0
    """A running run whose heartbeat is older than this is reaped."""
    reaper_interval_s: Seconds = 5.0
    """How often a worker looks for lost runs."""
    requeue_after_s: Seconds = 120.0
    """A queued run whose message may have been lost (broker restart) is sent again after this."""
    cancel_grace_s: Seconds = 5.0
    """Seconds a training process gets to stop after a cancel before it is killed."""
    broker_polling_interval_s: Seconds = 0.05
    """Polling interval of the SQLite broker (embedded mode only)."""
    executor: Literal["local", "ray"] = "local"
    """Where a worker runs its runs: `local` (a child process on its host) or `ray` (a Ray Job on the cluster at
    `ray_address`; docs/ray.md). Set by `grpolab worker --executor`."""
    ray_address: str | None = None
    """The Ray cluster's dashboard (Job API) address for `executor: ray`, e.g. `http://ray-head:8265`; default:
    Ray's own RAY_ADDRESS / the local cluster."""
    child_mem_limit_mb: Annotated[int | None, Field(ge=64)] = None
    """Address-space limit (RLIMIT_AS, MiB) of each training process a worker starts; a run that exceeds it fails
    with a MemoryError instead of taking the host down. Unset: no limit. Address space, not resident memory: leave
    room for torch's reservations (CUDA maps far more; leave it unset on GPU)."""
    frontend_dist: Path | None = None
    """Built web UI served at `/`; default frontend/dist."""
    api_threads: Annotated[int, Field(ge=1, le=256)] = 16
    """Worker threads of one API process (sync endpoints, token checks, SSE polls). The database pool gets at least
    as many connections, so no thread ever waits for a connection."""
    api_max_in_flight: Annotated[int, Field(ge=1, le=10_000)] = 32
    """Requests one API process works on at once; more wait in arrival order (not /healthz, and an event stream
    only until it starts)."""
    db_pool_size: Annotated[int | None, Field(ge=1, le=256)] = None
    """Pooled database connections per API process; default `api_threads`."""
    db_pool_timeout_s: Seconds = 10.0
    """Longest wait for a pooled connection before the request gets 503."""
    db_connect_timeout_s: Annotated[int, Field(ge=2)] = 5
    """PostgreSQL connect time-out (libpq's minimum is 2)."""
    db_statement_timeout_s: FloatLimit = 30.0
    """PostgreSQL `statement_timeout` of the service's connections (0 = none)."""
    db_idle_in_transaction_timeout_s: FloatLimit = 60.0
    """PostgreSQL `idle_in_transaction_session_timeout`: a transaction left open is ended (0 = none)."""
    # quotas and limits (docs/service.md, "Users, roles and quotas"); 0 turns a limit off
    rate_limit_per_s: FloatLimit = 20.0
    """Requests per second one token may make, on average, to one API process (a token bucket per token in that
    process; 0 = no limit). Over it: 429 with Retry-After."""
    rate_limit_burst: Annotated[int, Field(ge=1)] = 200
    """Requests a token may make at once before `rate_limit_per_s` applies."""
    max_queued_runs_per_user: Limit = 100
    """Queued runs one user may have; a submit or retry over it gets 429 (0 = no limit)."""
    max_running_runs_per_user: Limit = 0
    """Running runs one user may have when submitting or retrying; over it: 429 (0 = no limit). Checked at
    submission, not when a worker starts a run."""
    max_steps: Limit = 100_000
    """Largest run.steps accepted at submission (0 = no limit)."""
    max_model_params: Limit = 8_000_000_000
    """Largest model accepted at submission, in parameters, where the size is knowable: built-in models and local
    folders with a config.json (0 = no limit)."""
    max_batch_size: Limit = 4096
    """Largest rollout.batch_size and warm_start.batch_size (episodes per step; 0 = no limit)."""
    max_cpu_threads: Limit = 64
    """Largest resources.cpu_threads × resources.cpu_ranks of one run (0 = no limit)."""
    max_wall_time_s: FloatLimit = 0
    """Largest run.max_wall_time_s a config may ask for, where the config has that field (0 = no limit)."""

    @property
    def sqlite_mode(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'grpolab.db').resolve()}"

    @property
    def broker(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{(self.data_dir / 'broker.db').resolve()}"

    @property
    def db_tuning(self) -> DbTuning:
        pool = max(self.db_pool_size or self.api_threads, self.api_threads)  # never fewer than threads
        return DbTuning(
            pool_size=pool,
            max_overflow=DEFAULT_TUNING.max_overflow,
            pool_timeout_s=self.db_pool_timeout_s,
            connect_timeout_s=self.db_connect_timeout_s,
            statement_timeout_s=self.db_statement_timeout_s,
            idle_in_transaction_timeout_s=self.db_idle_in_transaction_timeout_s,
        )

    @property
    def runs_dir(self) -> Path:
        return (self.data_dir / "runs").resolve()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = env_name(name)
            if key in env and env[key] != "":
                values[name] = env[key]
        # the two URLs keep their conventional names
        for name, key in (("database_url", "DATABASE_URL"), ("broker_url", "BROKER_URL")):
            if env.get(key):
                values[name] = env[key]
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
