"""commitment partners: the institutions named with a commitment's lead agency

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commitment_partners",
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_commitment_partners_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
            name=op.f("fk_commitment_partners_commitment_id_commitments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commitment_id", "agency_id", name=op.f("pk_commitment_partners")),
    )
    with op.batch_alter_table("commitment_partners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commitment_partners_agency_id"), ["agency_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commitment_partners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitment_partners_agency_id"))
    op.drop_table("commitment_partners")
