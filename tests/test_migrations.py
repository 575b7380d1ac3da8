"""The Alembic migrations build exactly the schema the code declares, on each backend."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.storage import Article, Base
from service.storage.migrate import downgrade, upgrade
from service.storage.tables import UTCDateTime, include_for, utcnow


def _context(conn: sa.Connection) -> MigrationContext:
    # Trigram indexes are declared for PostgreSQL only (tables.trigram_index).
    return MigrationContext.configure(
        conn, opts={"include_object": include_for(conn.dialect.name)})


def test_migrations_match_tables(engine) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        diff = compare_metadata(_context(conn), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(database_url, engine) -> None:  # noqa: ANN001
    engine.dispose()
    downgrade(database_url, "base")
    upgrade(database_url)
    with engine.connect() as conn:
        assert compare_metadata(_context(conn), Base.metadata) == []


def test_0006_backfills_pending_certainty_from_scores(database_url, engine, sessions,  # noqa: ANN001
                                                      site) -> None:
    """Existing pending comments get the margin of their stored scores (the site thresholds
    of the time are unknown); other statuses and unscored comments stay NULL."""
    site_id, _ = site
    with sessions() as s:
        article = Article(site_id=site_id, external_id="tin-1", title="Ngập đường Lê Lợi")
        s.add(article)
        s.commit()
        article_id = article.id
    engine.dispose()
    downgrade(database_url, "0005")
    # The table as 0005 left it (no certainty column), so no ORM class.
    comments = sa.table(
        "comments", sa.column("id", sa.Integer), sa.column("site_id", sa.Integer),
        sa.column("article_id", sa.Integer), sa.column("author_name", sa.String),
        sa.column("author_email", sa.String), sa.column("body_original", sa.Text),
        sa.column("status", sa.String), sa.column("received_at", UTCDateTime()),
        sa.column("enqueued_at", UTCDateTime()), sa.column("priority", sa.Float),
        sa.column("enqueue_count", sa.Integer), sa.column("analysis", sa.JSON),
    )
    scored = {"scores": {"clean": 0.62, "spam": 0.3, "offensive": 0.05, "hate": 0.03}}
    rows = {
        "pending scored": ("pending", scored),
        "pending, analysis failed": ("pending", {"flags": ["analysis_failed"]}),
        "pending, no analysis": ("pending", None),
        "approved scored": ("approved", scored),
    }
    with engine.begin() as conn:
        ids = {}
        for label, (status, analysis) in rows.items():
            ids[label] = conn.execute(sa.insert(comments).values(
                site_id=site_id, article_id=article_id, author_name="Trần Văn Hùng",
                author_email="hung@example.vn", body_original=f"Đường Lê Lợi ngập ({label})",
                status=status, received_at=utcnow(), enqueued_at=utcnow(), priority=0.0,
                enqueue_count=1, analysis=analysis).returning(comments.c.id)).scalar_one()
    engine.dispose()
    upgrade(database_url)
    with engine.connect() as conn:
        got = dict(conn.execute(sa.text("SELECT id, certainty FROM comments")).all())
    assert {label: got[i] for label, i in ids.items()} == {
        "pending scored": 0.32, "pending, analysis failed": None,
        "pending, no analysis": None, "approved scored": None}


def test_0011_strips_article_ids_unless_another_article_has_the_id(database_url, engine,  # noqa: ANN001
                                                                   sessions, site) -> None:
    site_id, _ = site
    engine.dispose()
    downgrade(database_url, "0010")
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("site_id", sa.Integer),
                        sa.column("external_id", sa.String), sa.column("created_at", UTCDateTime()))
    with engine.begin() as conn:
        for external_id in (" tin-1 ", "tin-2", " tin-2", "\ttin-3", "tin-4"):
            conn.execute(sa.insert(articles).values(site_id=site_id, external_id=external_id,
                                                    created_at=utcnow()))
    engine.dispose()
    upgrade(database_url)
    with sessions() as s:
        ids = sorted(s.scalars(sa.select(Article.external_id)))
    # " tin-2" stays: another article is "tin-2" already.
    assert ids == sorted(["tin-1", "tin-2", " tin-2", "tin-3", "tin-4"])


def test_0013_backfills_folded_search_columns(database_url, engine, sessions,  # noqa: ANN001
                                              site) -> None:
    """Comments and articles stored before 0013 become searchable without accents: text as
    submitted and as normalized, author name and email, article title."""
    site_id, _ = site
    engine.dispose()
    downgrade(database_url, "0012")
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("site_id", sa.Integer),
                        sa.column("external_id", sa.String), sa.column("title", sa.String),
                        sa.column("created_at", UTCDateTime()))
    comments = sa.table(
        "comments", sa.column("id", sa.Integer), sa.column("site_id", sa.Integer),
        sa.column("article_id", sa.Integer), sa.column("author_name", sa.String),
        sa.column("author_email", sa.String), sa.column("body_original", sa.Text),
        sa.column("body_normalized", sa.Text),
        sa.column("status", sa.String), sa.column("received_at", UTCDateTime()),
        sa.column("enqueued_at", UTCDateTime()), sa.column("priority", sa.Float),
        sa.column("enqueue_count", sa.Integer),
    )
    with engine.begin() as conn:
        article_id = conn.execute(sa.insert(articles).values(
            site_id=site_id, external_id="tin-1", title="Giá XĂNG hôm nay",
            created_at=utcnow()).returning(articles.c.id)).scalar_one()
        untitled = conn.execute(sa.insert(articles).values(
            site_id=site_id, external_id="tin-2", created_at=utcnow()
        ).returning(articles.c.id)).scalar_one()
        ids = [conn.execute(sa.insert(comments).values(
            site_id=site_id, article_id=article_id, author_name="Trần Văn Hùng",
            author_email="Hung@Example.vn", body_original=body, body_normalized=normal,
            status="pending", received_at=utcnow(), enqueued_at=utcnow(), priority=0.0,
            enqueue_count=1).returning(comments.c.id)).scalar_one()
            for body, normal in (("Đổ xăng, xếp hàng!", "Đổ xăng, xếp hàng!"),
                                 ("Giá \u0445ăng tăng", "Giá xăng tăng"),
                                 ("Vừa gửi", None))]
    engine.dispose()
    upgrade(database_url)
    with engine.connect() as conn:
        got = {row.id: (row.search_folded, row.author_folded) for row in conn.execute(
            sa.text("SELECT id, search_folded, author_folded FROM comments"))}
        titles = dict(conn.execute(sa.text("SELECT id, title_folded FROM articles")).all())
    author = " tran van hung \n hung @ example . vn "
    assert [got[i] for i in ids] == [
        (" do xang , xep hang ! ", author),
        (" gia \u0445ang tang \n gia xang tang ", author),
        (" vua gui ", author)]
    assert titles == {article_id: " gia xang hom nay ", untitled: ""}
