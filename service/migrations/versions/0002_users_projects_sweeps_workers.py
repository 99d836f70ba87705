"""Wave 2: users (tokens belong to them), projects, sweeps, workers and webhooks; runs record their owner,
project, sweep arm, waiting reason and executor.

Existing data: every distinct token name becomes an admin user owning its tokens; duplicate token names get a
" (2)", " (3)" suffix (names are unique from now on); every run joins the `default` project and is owned by the
user named in its `created_by`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("project", sa.String(100), sa.ForeignKey("projects.name"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("config_text", sa.Text(), nullable=False),
        sa.Column("grid", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_sweeps_project", "sweeps", ["project"])
    op.create_index("ix_sweeps_created_at", "sweeps", ["created_at"])
    op.create_table(
        "workers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("executor", sa.String(16), nullable=False),
        sa.Column("current_run", sa.String(32), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
    )
    op.create_index("ix_workers_heartbeat_at", "workers", ["heartbeat_at"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column(
            "project", sa.String(100), sa.ForeignKey("projects.name", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_webhooks_project", "webhooks", ["project"])
    op.create_index("ix_webhooks_user_id", "webhooks", ["user_id"])

    conn = op.get_bind()
    now = _now()
    conn.execute(
        sa.text("INSERT INTO projects (name, description, created_at) VALUES ('default', '', :now)"),
        {"now": now},
    )

    # tokens: unique names, each name an admin user
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    tokens = conn.execute(sa.text("SELECT id, name FROM api_tokens ORDER BY id")).all()
    seen: dict[str, int] = {}
    users: dict[str, int] = {}
    for token_id, name in tokens:
        if name not in users:
            conn.execute(
                sa.text(
                    "INSERT INTO users (name, role, created_at, disabled) VALUES (:n, 'admin', :now, :f)"
                ),
                {"n": name, "now": now, "f": False},
            )
            users[name] = conn.execute(
                sa.text("SELECT id FROM users WHERE name = :n"), {"n": name}
            ).scalar_one()
        seen[name] = seen.get(name, 0) + 1
        unique = name if seen[name] == 1 else f"{name[:90]} ({seen[name]})"
        conn.execute(
            sa.text("UPDATE api_tokens SET name = :u, user_id = :uid WHERE id = :id"),
            {"u": unique, "uid": users[name], "id": token_id},
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.create_unique_constraint("uq_api_tokens_name", ["name"])
        batch.create_foreign_key("fk_api_tokens_user_id", "users", ["user_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_api_tokens_user_id", ["user_id"])

    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("project", sa.String(100), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sweep_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("sweep_arm", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("waiting_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("executor", sa.String(16), nullable=True))
        batch.add_column(sa.Column("nodes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ranks", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch.add_column(sa.Column("archived", sa.Boolean(), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE runs SET project = 'default', executor = 'local', nodes = 1, ranks = 1, notes = '', "
            "archived = :f, owner_id = (SELECT users.id FROM users WHERE users.name = runs.created_by)"
        ),
        {"f": False},
    )
    with op.batch_alter_table("runs") as batch:
        for col, type_ in (
            ("project", sa.String(100)),
            ("executor", sa.String(16)),
            ("nodes", sa.Integer()),
            ("ranks", sa.Integer()),
            ("notes", sa.Text()),
            ("archived", sa.Boolean()),
        ):
            batch.alter_column(col, existing_type=type_, nullable=False)
        batch.create_foreign_key("fk_runs_project", "projects", ["project"], ["name"])
        batch.create_foreign_key("fk_runs_owner_id", "users", ["owner_id"], ["id"])
        batch.create_foreign_key("fk_runs_sweep_id", "sweeps", ["sweep_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_runs_project", ["project"])
        batch.create_index("ix_runs_owner_id", ["owner_id"])
        batch.create_index("ix_runs_sweep_id", ["sweep_id"])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for index in ("ix_runs_sweep_id", "ix_runs_owner_id", "ix_runs_project"):
            batch.drop_index(index)
        for fk in ("fk_runs_sweep_id", "fk_runs_owner_id", "fk_runs_project"):
            batch.drop_constraint(fk, type_="foreignkey")
        for col in (
            "archived",
            "notes",
            "ranks",
            "nodes",
            "executor",
            "waiting_reason",
            "sweep_arm",
            "sweep_id",
            "owner_id",
            "project",
        ):
            batch.drop_column(col)
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_user_id")
        batch.drop_constraint("fk_api_tokens_user_id", type_="foreignkey")
        batch.drop_constraint("uq_api_tokens_name", type_="unique")
        batch.drop_column("user_id")
    for table in ("webhooks", "workers", "sweeps", "projects", "users"):
        op.drop_table(table)
