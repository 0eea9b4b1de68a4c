"""public figures indexes: the public pages read their figures from indexes, not tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:00:00

For the public pages at a million reports (bench/pages_bench.py):
- reports (commitment_id, status, created_at) replaces (commitment_id, status): a scorecard's
  reports by month and its newest page come from the index alone; every lookup by commitment and
  status uses its first two columns as before.
- report_events (report_id, action, to_status, created_at) replaces (report_id): the
  responsiveness figures read a report's status events from the index alone; every lookup by
  report_id (a report's history, the foreign key's cascade) uses its first column as before.
- report_events (created_at, id) where there is a note: a scorecard's latest agency answers
  walk back through the newest notes.

Indexes only, created and dropped in place (no table is rebuilt).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NOTED = sa.text("note IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_reports_commitment_status_created",
        "reports",
        ["commitment_id", "status", "created_at"],
    )
    op.drop_index("ix_reports_commitment_status", table_name="reports")
    op.create_index(
        "ix_report_events_report_action",
        "report_events",
        ["report_id", "action", "to_status", "created_at"],
    )
    op.drop_index("ix_report_events_report_id", table_name="report_events")
    op.create_index(
        "ix_report_events_noted",
        "report_events",
        ["created_at", "id"],
        sqlite_where=NOTED,
        postgresql_where=NOTED,
    )


def downgrade() -> None:
    op.drop_index("ix_report_events_noted", table_name="report_events")
    op.create_index("ix_report_events_report_id", "report_events", ["report_id"])
    op.drop_index("ix_report_events_report_action", table_name="report_events")
    op.create_index("ix_reports_commitment_status", "reports", ["commitment_id", "status"])
    op.drop_index("ix_reports_commitment_status_created", table_name="reports")
