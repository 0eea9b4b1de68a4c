"""public photos: a moderator can hide a report's photos from the public (reports.photos_hidden)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 23:10:00

SQLite adds and drops the column in place (ALTER TABLE), never by copying the table as batch mode
does for an expression default such as sa.false(): dropping the old `reports` would delete every
report's events, photos and supporters with it (their foreign keys cascade). The literal '0' is
false on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("photos_hidden", sa.Boolean(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place, too.
    op.drop_column("reports", "photos_hidden")
