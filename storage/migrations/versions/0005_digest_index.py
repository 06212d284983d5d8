"""covering index for the digest aggregation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ["period_key", "unit_id", "state", "dan_toc", "ton_giao", "nhan_dan", "urgent", "status", "person_id"]


def upgrade() -> None:
    # Starts with the old index's columns, so it serves every query that used it.
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_digest", COLUMNS, unique=False)
        batch_op.drop_index("ix_reports_period_unit")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_period_unit", ["period_key", "unit_id"], unique=False)
        batch_op.drop_index("ix_reports_digest")
