"""anonymous supporters: a "me too" kept after its citizen erased their data (/forget)

report_supporters.citizen_id becomes nullable: an erased citizen's support stays counted, with no
link to anyone. Rebuilding report_supporters in SQLite's batch mode is safe: no table refers to
it, so dropping the old copy cascades nothing.

reports.citizen_id is deliberately left NOT NULL: rebuilding `reports` on SQLite (batch mode
drops the old table, and with foreign keys on, DROP TABLE deletes its photos, events, cards and
questions through ON DELETE CASCADE) would lose data. An erased author's reports point at the
shared "erased" citizen instead (storage/queries/erasure.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_supporters") as batch:
        batch.alter_column("citizen_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Anonymous supports have nobody to point at: they go, and the counts drop with them.
    op.execute("DELETE FROM report_supporters WHERE citizen_id IS NULL")
    with op.batch_alter_table("report_supporters") as batch:
        batch.alter_column("citizen_id", existing_type=sa.Integer(), nullable=False)
