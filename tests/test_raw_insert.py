"""service/storage/raw_insert.py stores the row SQLAlchemy would store, on SQLite and
PostgreSQL, and hands its connection back to the pool as it found it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from service.api.intake import COMMENT_COLUMNS, comment_row
from service.storage import Article, Comment
from service.storage.raw_insert import RawInsert

PAYLOAD = {
    "article": {"id": "tin-1"},
    "author": {"name": "Nguyễn Thị Lan", "email": "lan@example.vn"},
    "body": "Bài viết hay quá 👍\nko bít j lun",
}


@pytest.fixture
def article(sessions, site):  # noqa: ANN001, ANN201
    with sessions() as s:
        row = Article(site_id=site[0], external_id="tin-1")
        s.add(row)
        s.commit()
        return row


def _row(engine, comment_id: int) -> dict:  # noqa: ANN001
    with engine.connect() as conn:
        return dict(conn.execute(select(Comment.__table__).where(Comment.id == comment_id))
                    .mappings().one())


def test_the_row_is_the_one_sqlalchemy_stores(engine, site, article) -> None:  # noqa: ANN001
    values = comment_row(site[0], article.id, PAYLOAD, key=None, fingerprint=None,
                         client_ip="2402:800::1", user_agent="Mozilla/5.0")
    before = datetime.now(UTC)
    raw_id = RawInsert(engine, Comment.__table__, COMMENT_COLUMNS)(values)
    with engine.begin() as conn:
        core_id = conn.execute(insert(Comment.__table__).returning(Comment.id), values).scalar()
    raw, core = _row(engine, raw_id), _row(engine, core_id)
    # The defaults: UTC timestamps of this moment, priority 0.
    for name in ("received_at", "enqueued_at"):
        assert raw[name].tzinfo is not None and before <= raw[name] <= datetime.now(UTC)
    varying = {"id", "received_at", "enqueued_at"}
    assert {k: v for k, v in raw.items() if k not in varying} == {
        k: v for k, v in core.items() if k not in varying}
    assert raw["priority"] == 0.0 and raw["status"] == "received"
    assert raw["body_original"] == PAYLOAD["body"] and raw["body_normalized"] is None


def test_a_refused_insert_stores_nothing_and_returns_its_connection(  # noqa: ANN001
        engine, site, article, sessions) -> None:
    insert_comment = RawInsert(engine, Comment.__table__, COMMENT_COLUMNS)
    values = comment_row(site[0], article.id + 1000, PAYLOAD, key=None, fingerprint=None,
                         client_ip=None, user_agent=None)
    with pytest.raises(insert_comment.dbapi.IntegrityError):  # no such article
        insert_comment(values)
    assert engine.pool.checkedout() == 0
    with sessions() as s:
        assert s.scalar(select(Comment.id)) is None
    # The pooled connection is transactional again (PostgreSQL's autocommit was for the one
    # INSERT): a rolled-back session stores nothing.
    good = comment_row(site[0], article.id, PAYLOAD, key=None, fingerprint=None,
                       client_ip=None, user_agent=None)
    with engine.connect() as conn:
        conn.execute(insert(Comment.__table__), good)
        conn.rollback()
    with sessions() as s:
        assert s.scalar(select(Comment.id)) is None
    assert insert_comment(good) > 0
