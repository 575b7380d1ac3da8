"""A Redis outage is logged once, then counted, then its end (issue 15, defect 11: a full
traceback per comment, ≈ 30 a second, flooded the log). A real redis-server of the test's
own, stopped and started again."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import outages
from service.app import create_app
from service.embedded_redis import EmbeddedRedis
from service.storage import Comment
from tests.helpers import headers, payload
from tests.test_public_api import ORIGIN


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def app_on_own_redis(settings, engine, own_redis, monkeypatch):  # noqa: ANN001, ANN201
    settings.redis_url = own_redis.url
    # The process-wide outage state starts clean; a count line every 0.5 s instead of 60.
    monkeypatch.setattr(outages.REDIS, "since", None)
    monkeypatch.setattr(outages, "REPORT_EVERY_SECONDS", 0.5)
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["vimod.engine"].dispose()


def test_a_redis_outage_is_logged_once_then_counted_then_ended(
        app_on_own_redis, own_redis, site, sessions, caplog) -> None:  # noqa: ANN001
    _, key = site
    client = app_on_own_redis.test_client()

    def post(i: int) -> int:
        r = client.post("/api/v1/comments", json=payload(body=f"Ý kiến số {i}"),
                        headers=headers(key))
        assert r.status_code == 202  # stored without Redis; the sweep queues it later
        return r.json["id"]

    post(0)
    caplog.set_level(logging.INFO)
    own_redis.stop()
    ids = [post(i) for i in range(1, 21)]
    time.sleep(0.6)
    ids += [post(i) for i in range(21, 26)]
    own_redis.start()
    post(26)

    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "vimod.redis"]
    assert [level for level, _ in lines] == ["ERROR", "WARNING", "WARNING"], lines
    assert lines[0][1].startswith("Redis unavailable (ConnectionError: ")
    assert "still unavailable" in lines[1][1] and ": 20 comments stored" in lines[1][1]
    assert "available again" in lines[2][1] and ": 25 comments stored" in lines[2][1]
    # No traceback anywhere, and no other line per comment.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 3
    with sessions() as s:
        assert {s.get(Comment, cid).status for cid in ids} == {"received"}


def test_the_reader_form_answers_503_without_redis(app_on_own_redis, own_redis, sessions,  # noqa: ANN001
                                                   caplog) -> None:
    """A CAPTCHA lives in Redis: without it the reader form cannot check one, and says so
    with a 503 (it was a 500 and a traceback per request); logged once."""
    from service.accounts import create_site

    with sessions() as session:
        new = create_site(session, "Báo Thử", domain="baothu.vn", allowed_origins=[ORIGIN])
        session.commit()
        public_key = new.site.public_key
    client = app_on_own_redis.test_client()
    url = f"/api/v1/public/sites/{public_key}/captcha"
    assert client.post(url, json={}, headers={"Origin": ORIGIN}).status_code == 201
    caplog.set_level(logging.INFO)
    own_redis.stop()
    for _ in range(5):
        r = client.post(url, json={}, headers={"Origin": ORIGIN})
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert r.json["error"]["code"] == "unavailable"
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
