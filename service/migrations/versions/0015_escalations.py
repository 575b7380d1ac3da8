"""escalations: a comment handed to a senior editor (who, when, the note), its tab's index

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

import service.storage.tables

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

WHERE = sa.text("escalated_at IS NOT NULL")


def upgrade() -> None:
    # Nullable columns without a default: no table rewrite, no backfill.
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "escalated_at", service.storage.tables.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("escalation_note", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_comments_escalated", ["escalated_at", "site_id"], unique=False,
                              postgresql_where=WHERE, sqlite_where=WHERE)


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_escalated", postgresql_where=WHERE, sqlite_where=WHERE)
        batch_op.drop_column("escalation_note")
        batch_op.drop_column("escalated_by")
        batch_op.drop_column("escalated_at")
