"""outbox parts: a card's accepted parts, tries of the part in hand, and what the card lost

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 10:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("progress", sa.JSON(), nullable=True))
    op.add_column("outbox", sa.Column("tries", sa.Integer(), server_default="0", nullable=False))
    # A message already waiting for its next try keeps its place in the schedule.
    op.execute("UPDATE outbox SET tries = attempts WHERE status = 'pending'")
    op.add_column(
        "moderation_cards",
        sa.Column("photos_lost", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "moderation_cards",
        sa.Column("voice_lost", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("moderation_cards") as batch:
        batch.drop_column("voice_lost")
        batch.drop_column("photos_lost")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("tries")
        batch.drop_column("progress")
