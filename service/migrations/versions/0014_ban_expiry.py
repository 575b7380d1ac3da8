"""bans: a duration (expires_at, NULL = permanent) and lifting (lifted_at, lifted_by)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 23:30:00
"""

import sqlalchemy as sa
from alembic import op

import service.storage.tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = service.storage.tables.UTCDateTime(timezone=True)
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", when, nullable=True))
        batch_op.add_column(sa.Column("lifted_at", when, nullable=True))
        batch_op.add_column(sa.Column("lifted_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_bans_lifted_by_users", "users", ["lifted_by"], ["id"],
                                    ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bans_lifted_by_users", type_="foreignkey")
        batch_op.drop_column("lifted_by")
        batch_op.drop_column("lifted_at")
        batch_op.drop_column("expires_at")
