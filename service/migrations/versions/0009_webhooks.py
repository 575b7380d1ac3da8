"""webhook outbox: deliveries and their attempts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 19:45:54.791027
"""

import sqlalchemy as sa
from alembic import op

import service.storage.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=50), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", service.storage.tables.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("delivered_at", service.storage.tables.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", service.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("redelivery_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["redelivery_of"], ["webhook_deliveries.id"],
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_comment_id"), ["comment_id"],
                              unique=False)
        batch_op.create_index("ix_webhook_deliveries_due", ["next_attempt_at"], unique=False,
                              postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.create_index("ix_webhook_deliveries_site", ["site_id", "id"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_site_status", ["site_id", "status", "id"],
                              unique=False)

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", service.storage.tables.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempts_delivery_id"), ["delivery_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempts_delivery_id"))
    op.drop_table("webhook_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_site_status")
        batch_op.drop_index("ix_webhook_deliveries_site")
        batch_op.drop_index("ix_webhook_deliveries_due", postgresql_where=PENDING,
                            sqlite_where=PENDING)
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_comment_id"))
    op.drop_table("webhook_deliveries")
