"""Typed SQLAlchemy models: runs, their status history, metric points, log lines, users and their API tokens,
projects, sweeps, workers and webhooks.

Schema changes go through Alembic (service/migrations); these classes and the migrations must agree
(tests/api/test_migrations.py checks it).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class Role(enum.StrEnum):
    """What a user may do: a viewer reads; a member submits and manages its own runs; an admin does anything."""

    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


DEFAULT_PROJECT = "default"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every database. SQLite has no time zones: it stores naive UTC text,
    which also keeps its string comparisons (heartbeat < cutoff) correct."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    # tags as JSON for the API plus a ",a,b," string so a tag filter is one portable LIKE
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tags_index: Mapped[str] = mapped_column(String(2000), default=",")
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_text: Mapped[str] = mapped_column(Text)
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(16), default="cpu")
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    enqueued_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(100))
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    last_reward: Mapped[float | None] = mapped_column(Float)
    reward_sparkline: Mapped[list[Any]] = mapped_column(JSON, default=list)
    log_seq: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    output_dir: Mapped[str] = mapped_column(String(1000))
    # wave 2: who owns it, where it belongs, why it waits, where it runs
    project: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.name"), default=DEFAULT_PROJECT, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"), index=True)
    sweep_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("sweeps.id", ondelete="SET NULL"), index=True
    )
    # the arm's overrides, {"dotted.key": value}, for a run that belongs to a sweep
    sweep_arm: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    waiting_reason: Mapped[str | None] = mapped_column(Text)
    executor: Mapped[str] = mapped_column(String(16), default="local")
    nodes: Mapped[int] = mapped_column(Integer, default=1)
    ranks: Mapped[int] = mapped_column(Integer, default=1)
    notes: Mapped[str] = mapped_column(Text, default="")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class RunEvent(Base):
    """One status transition: written only by service.db.lifecycle.transition."""

    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")


class MetricPoint(Base):
    __tablename__ = "metric_points"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)


class LogLine(Base):
    __tablename__ = "log_lines"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    line: Mapped[str] = mapped_column(Text)


class User(Base):
    """A person (or a CI robot) with one role; tokens belong to users, runs record their owner."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 (tokens are 256 random bits, so a fast hash is enough).
    Token names are unique; the token acts as its user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class Project(Base):
    """Runs belong to a project (`default` unless chosen); quotas and cluster queues are per project."""

    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Sweep(Base):
    """A base config and a grid of overrides, expanded into linked runs (runs.sweep_id, runs.sweep_arm)."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    project: Mapped[str] = mapped_column(
        String(100), ForeignKey("projects.name"), default=DEFAULT_PROJECT, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"))
    config_text: Mapped[str] = mapped_column(Text)
    # {"dotted.key": [values...]} as submitted; the arms are the runs that point here
    grid: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    # a retried POST /sweeps with the same Idempotency-Key (api.idempotency.scoped_key) gets this sweep back when
    # its body has the same digest, and a 409 otherwise
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_digest: Mapped[str | None] = mapped_column(String(80))


class WorkerRecord(Base):
    """A live (or recently live) worker, written by its own heartbeat; read by GET /workers and the queue page."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    queues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    executor: Mapped[str] = mapped_column(String(16), default="local")
    current_run: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # free-form facts the worker reports: version, cpu count, memory, ray address, ...
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Webhook(Base):
    """An outgoing webhook (Slack-compatible JSON) on run/sweep end, for one user's or one project's runs."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    project: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("projects.name", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)


Index("ix_runs_status_created", Run.status, Run.created_at)
