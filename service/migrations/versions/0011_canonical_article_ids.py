"""article ids without surrounding spaces

The API stored " 123 " as sent while the reader form and the reader API strip it, so the
comments of such an article never showed on its page. Ids are now canonical at every door
(service.text_rules.canonical_article_id); this puts the stored ones in that form too.
An id whose canonical form another article of the site already has is left as it is (its
comments stay reachable through the status API; merging two articles is an editor's call).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("site_id", sa.Integer),
                    sa.column("external_id", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(articles.c.id, articles.c.site_id, articles.c.external_id))
    taken: set[tuple[int, str]] = set()
    renames: list[tuple[int, int, str]] = []
    for article_id, site_id, external_id in rows:
        taken.add((site_id, external_id))
        if external_id != external_id.strip():
            renames.append((article_id, site_id, external_id.strip()))
    for article_id, site_id, canonical in renames:
        if canonical and (site_id, canonical) not in taken:
            taken.add((site_id, canonical))
            conn.execute(sa.update(articles).where(articles.c.id == article_id)
                         .values(external_id=canonical))


def downgrade() -> None:
    pass  # the spaces carried nothing
