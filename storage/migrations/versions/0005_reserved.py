"""reserved: a placeholder that a change under way fills in (no schema change yet)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 19:10:00
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
