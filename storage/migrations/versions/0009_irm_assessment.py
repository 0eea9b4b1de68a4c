"""irm assessment: the OGP Independent Reporting Mechanism's assessment of a commitment, as imported

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place: rebuilding `commitments` on SQLite would trip its reports' foreign keys.
    op.add_column("commitments", sa.Column("irm", sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place, too.
    op.drop_column("commitments", "irm")
