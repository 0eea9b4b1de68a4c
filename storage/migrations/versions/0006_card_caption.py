"""card caption: a moderation card posted as its report's one photo, the card as its caption

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderation_cards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("caption", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("moderation_cards", schema=None) as batch_op:
        batch_op.drop_column("caption")
