"""folded search columns (comments' text and author, articles' title), trigram indexes
(those and the comments' flags), the article filter's index

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 23:40:00
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 1000

# Lightweight tables: a migration must not depend on today's ORM classes.
comments = sa.table(
    "comments",
    sa.column("id", sa.Integer),
    sa.column("author_name", sa.String),
    sa.column("author_email", sa.String),
    sa.column("body_original", sa.Text),
    sa.column("body_normalized", sa.Text),
    sa.column("search_folded", sa.Text),
    sa.column("author_folded", sa.Text),
)
articles = sa.table(
    "articles",
    sa.column("id", sa.Integer),
    sa.column("title", sa.String),
    sa.column("title_folded", sa.Text),
)

# models.normalize.fold and search_key as of this revision, copied so that this migration
# keeps meaning what it meant when written.
_STRIP = str.maketrans({"đ": "d", "Đ": "D"})
_TOKEN = re.compile(r"\w+|[^\w\s]")


def _fold(text: str) -> str:
    lowered = unicodedata.normalize("NFC", text).lower().translate(_STRIP)
    bare = "".join(c for c in unicodedata.normalize("NFD", lowered)
                   if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare).lower()


def _search_key(*texts: str | None) -> str:
    parts: list[str] = []
    for text in texts:
        if not text:
            continue
        tokens = _TOKEN.findall(_fold(text))
        part = " " + "".join(t + " " for t in tokens) if tokens else ""
        if part and part not in parts:
            parts.append(part)
    return "\n".join(parts)


def _backfill(table: sa.TableClause, columns: dict[str, tuple[str, ...]]) -> None:
    """Every row, in id order, BATCH at a time (memory and statement size stay flat)."""
    conn = op.get_bind()
    sources = sorted({s for names in columns.values() for s in names})
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values({target: sa.bindparam(f"b_{target}") for target in columns})
    )
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, *(table.c[s] for s in sources))
            .where(table.c.id > last_id).order_by(table.c.id).limit(BATCH)
        ).mappings().all()
        if not rows:
            return
        last_id = rows[-1]["id"]
        conn.execute(update, [
            {"b_id": row["id"]} | {f"b_{target}": _search_key(*(row[s] for s in names))
                                   for target, names in columns.items()}
            for row in rows])


def _trigram(table: str, column: str) -> None:
    op.create_index(f"ix_{table}_{column}", table, [column], unique=False,
                    postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_folded", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("author_folded", sa.Text(), nullable=True))
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_folded", sa.Text(), nullable=True))

    # Offline (--sql) runs have no rows to read.
    if not op.get_context().as_sql:
        _backfill(comments, {"search_folded": ("body_original", "body_normalized"),
                             "author_folded": ("author_name", "author_email")})
        _backfill(articles, {"title_folded": ("title",)})

    # The article filter's tab counts from the index alone (before: one bitmap of the
    # site's every comment per matching article, then the rows).
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_article")
        batch_op.create_index("ix_comments_article",
                              ["article_id", "site_id", "status", "priority"], unique=False)

    # PostgreSQL: trigram indexes serve LIKE '%…%' (built after the backfill: one build
    # instead of an update per row). SQLite has none: its search reads the table.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        _trigram("comments", "search_folded")
        _trigram("comments", "author_folded")
        _trigram("comments", "flags")
        _trigram("articles", "title_folded")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_articles_title_folded", table_name="articles")
        op.drop_index("ix_comments_flags", table_name="comments")
        op.drop_index("ix_comments_author_folded", table_name="comments")
        op.drop_index("ix_comments_search_folded", table_name="comments")
        # The extension stays: other objects may use it, and it costs nothing unused.
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_article")
        batch_op.create_index("ix_comments_article", ["article_id"], unique=False)
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("title_folded")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_column("author_folded")
        batch_op.drop_column("search_folded")
