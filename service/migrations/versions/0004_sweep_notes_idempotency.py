"""sweeps.notes, sweeps.idempotency_key and sweeps.request_digest: a sweep is renamed, annotated and archived
like a run (PATCH /sweeps/{id}), and a retried POST /sweeps with the same Idempotency-Key gets the first sweep back
instead of a second one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("request_digest", sa.String(80), nullable=True))
    op.get_bind().execute(sa.text("UPDATE sweeps SET notes = ''"))
    with op.batch_alter_table("sweeps") as batch:
        batch.alter_column("notes", existing_type=sa.Text(), nullable=False)
        batch.create_unique_constraint("uq_sweeps_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_constraint("uq_sweeps_idempotency_key", type_="unique")
        for col in ("request_digest", "idempotency_key", "notes"):
            batch.drop_column(col)
