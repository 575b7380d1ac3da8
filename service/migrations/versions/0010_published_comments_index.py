"""index of published comments per article (the reader API)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 20:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PUBLISHED = "status IN ('approved', 'auto_approved')"


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_published", ["article_id", "received_at", "id", "parent_id"],
            unique=False, postgresql_where=sa.text(PUBLISHED), sqlite_where=sa.text(PUBLISHED),
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_published")
