"""comment certainty: column, pending-queue index, backfill

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:16:25.296880
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 1000

# Lightweight table: a migration must not depend on today's ORM classes.
comments = sa.table(
    "comments",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("analysis", sa.JSON),
    sa.column("certainty", sa.Float),
)


def _margin(analysis: Any) -> float | None:
    """Top-two margin of the stored scores. Only rule (a) of policy.certainty: the site's
    thresholds may have changed since these comments were scored. Copied, not imported,
    so this migration keeps meaning what it meant when written."""
    scores = analysis.get("scores") if isinstance(analysis, dict) else None
    if not isinstance(scores, dict) or not scores:
        return None
    try:
        top = sorted((float(v) for v in scores.values()), reverse=True)
    except (TypeError, ValueError):
        return None
    return round(top[0] - (top[1] if len(top) > 1 else 0.0), 4)


def _backfill() -> None:
    """Pending comments only (the queue is what orders by it), in id order, BATCH at a time:
    memory and statement size stay flat on a large backlog; portable Python, no JSON SQL."""
    conn = op.get_bind()
    update = (
        sa.update(comments)
        .where(comments.c.id == sa.bindparam("b_id"))
        .values(certainty=sa.bindparam("b_certainty"))
    )
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(comments.c.id, comments.c.analysis)
            .where(comments.c.status == "pending", comments.c.id > last_id)
            .order_by(comments.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        values = [
            {"b_id": row.id, "b_certainty": margin}
            for row in rows
            if (margin := _margin(row.analysis)) is not None
        ]
        if values:
            conn.execute(update, values)


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certainty", sa.Float(), nullable=True))

    # Offline (--sql) runs have no rows to read; the column then stays NULL until rescored.
    if not op.get_context().as_sql:
        _backfill()

    # Built after the backfill: one index build instead of an index update per row.
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_pending_certainty",
            ["certainty", "received_at", "id", "site_id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_comments_pending_certainty",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_column("certainty")
