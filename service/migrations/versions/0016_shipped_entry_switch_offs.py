"""shipped_entry_switch_offs: a shipped word-list entry switched off globally or on one site

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 00:30:00
"""

import sqlalchemy as sa
from alembic import op

import service.storage.tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shipped_entry_switch_offs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.Column("created_at", service.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "kind", "phrase"),
    )
    with op.batch_alter_table("shipped_entry_switch_offs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipped_entry_switch_offs_site_id"), ["site_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shipped_entry_switch_offs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipped_entry_switch_offs_site_id"))
    op.drop_table("shipped_entry_switch_offs")
