"""The intake's fast path (service/api/fast_intake.py): it answers the ordinary comment
without the Flask view, exactly as the view would, and hands every other request to it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from service.queueing import RECEIVED_KEY
from service.storage import Article, Comment
from tests.helpers import VALID, headers, payload
from tests.test_intake import BAD_INPUTS

URL = "/api/v1/comments"
# Columns that differ between two comments posted one after the other.
_OWN = {"id", "received_at", "enqueued_at", "author_name", "text_key", "body_original",
        "search_folded", "author_folded"}


def _view_must_not_run(app) -> list[str]:  # noqa: ANN001
    """Replace the Flask view: any request that reaches it is recorded and answered 599."""
    reached: list[str] = []

    def view(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        reached.append("view")
        return {"error": "the Flask view answered"}, 599

    app.view_functions["intake.submit_comment"] = view
    return reached


def _row(sessions, comment_id: int) -> dict:  # noqa: ANN001
    with sessions() as s:
        c = s.get(Comment, comment_id)
        return {col.name: getattr(c, col.key) for col in Comment.__mapper__.columns}


def _count(sessions) -> int:  # noqa: ANN001
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Comment))


def test_the_ordinary_comment_is_answered_without_the_view(app, client, site, sessions,
                                                          redis_client) -> None:  # noqa: ANN001
    _, key = site
    first = client.post(URL, json=VALID, headers=headers(key))  # the view: a new article
    assert first.status_code == 202
    reached = _view_must_not_run(app)
    body = payload(body="Bai viet hay qua, ko biet khi nao dc ap dung?",
                   **{"author.name": "Trần Văn Bình"})
    second = client.post(URL, json=body, headers=headers(key))
    assert second.status_code == 202, second.get_data(as_text=True)
    assert reached == []
    # The same answer as the view's: status, body shape, headers.
    assert second.json["status"] == "received" and second.json["id"] == first.json["id"] + 1
    prefix = first.json["status_url"].rsplit("/", 1)[0]
    assert second.json["status_url"] == f"{prefix}/{second.json['id']}"
    for name in ("Content-Type", "X-Content-Type-Options", "Referrer-Policy"):
        assert second.headers[name] == first.headers[name]
    assert second.headers["Location"] == second.json["status_url"]
    assert second.get_data().endswith(b"\n") and first.get_data().endswith(b"\n")
    # The same row, apart from what differs between the two comments.
    a, b = _row(sessions, first.json["id"]), _row(sessions, second.json["id"])
    assert {k: v for k, v in a.items() if k not in _OWN} == {
        k: v for k, v in b.items() if k not in _OWN}
    assert b["author_name"] == "Trần Văn Bình" and b["body_original"] == body["body"]
    assert b["search_folded"] == " bai viet hay qua , ko biet khi nao dc ap dung ? "
    assert b["author_folded"] == " tran van binh \n lan . nguyen @ example . vn "
    assert b["text_key"] and b["text_key"] != a["text_key"]
    # Queued like the first.
    assert [int(x) for x in redis_client.lrange(RECEIVED_KEY, 0, -1)] == [
        first.json["id"], second.json["id"]]


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("a new article", {"article.id": "tin-456"}),
        ("a retitled article", {"article.title": "Tiêu đề đã sửa"}),
        ("a reply", {"parent_id": 1}),
        ("an Idempotency-Key", {}),
    ],
)
def test_other_requests_go_to_the_view(app, client, site, case, change) -> None:  # noqa: ANN001
    _, key = site
    assert client.post(URL, json=VALID, headers=headers(key)).status_code == 202
    reached = _view_must_not_run(app)
    extra = {"Idempotency-Key": "k-1"} if case == "an Idempotency-Key" else {}
    r = client.post(URL, json=payload(**change), headers=headers(key, **extra))
    assert r.status_code == 599 and reached == ["view"]


@pytest.mark.parametrize(
    ("case", "make", "status", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_after_the_caches_are_warm(client, site, sessions, redis_client,
                                             case, make, status, field) -> None:  # noqa: ANN001
    """The bad-input table again, once the site and the article are cached, so each request
    goes through the fast path's checks first: same answer, nothing stored or queued."""
    _, key = site
    assert client.post(URL, json=VALID, headers=headers(key)).status_code == 202
    stored, queued = _count(sessions), redis_client.llen(RECEIVED_KEY)
    kwargs = make()
    kwargs["headers"] = headers(key, **kwargs.get("headers", {}))
    r = client.post(URL, **kwargs)
    assert r.status_code == status, (case, r.status_code, r.get_data(as_text=True))
    if field:
        assert field in r.json["error"]["fields"], r.json
    assert _count(sessions) == stored and redis_client.llen(RECEIVED_KEY) == queued


def test_a_request_handed_to_the_view_is_counted_once(settings, engine, redis_client,
                                                      site) -> None:  # noqa: ANN001
    from service.app import create_app

    settings.ratelimit_ip = "3 per minute"
    app = create_app(settings, TESTING=True)
    try:
        _, key = site
        client = app.test_client()
        reader = {"client": {"ip": "113.161.7.7"}}
        assert client.post(URL, json=payload(**reader), headers=headers(key)).status_code == 202
        # Counted by the fast path, answered by the view.
        bad = payload(**reader, **{"author.email": "lan@"})
        assert client.post(URL, json=bad, headers=headers(key)).status_code == 422
        codes = [client.post(URL, json=payload(**reader), headers=headers(key)).status_code
                 for _ in range(2)]
        assert codes == [202, 429]
    finally:
        app.extensions["vimod.engine"].dispose()


def test_a_deleted_cached_article_is_looked_up_again(client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    assert client.post(URL, json=VALID, headers=headers(key)).status_code == 202
    with sessions() as s:  # an admin deleted the article (and its comments) meanwhile
        s.execute(delete(Article))
        s.commit()
    r = client.post(URL, json=VALID, headers=headers(key))
    assert r.status_code == 202, r.get_data(as_text=True)
    with sessions() as s:
        article = s.scalars(select(Article)).one()
        assert s.get(Comment, r.json["id"]).article_id == article.id


def test_the_reader_address_behind_a_trusted_proxy(settings, engine, redis_client, site,
                                                   sessions) -> None:  # noqa: ANN001
    """The fast path sits inside ProxyFix: it stores the address the proxy forwarded."""
    from dataclasses import replace

    from service.app import create_app

    app = create_app(replace(settings, trusted_proxies=1), TESTING=True)
    try:
        _, key = site
        client = app.test_client()
        assert client.post(URL, json=VALID, headers=headers(key)).status_code == 202
        reached = _view_must_not_run(app)
        r = client.post(URL, json=VALID, headers=headers(key, **{
            "X-Forwarded-For": "203.0.113.7"}))
        assert r.status_code == 202 and reached == []
        assert _row(sessions, r.json["id"])["client_ip"] == "203.0.113.7"
    finally:
        app.extensions["vimod.engine"].dispose()


def test_a_fault_in_the_fast_path_leaves_the_answer_to_the_view(app, client, site,
                                                                 sessions) -> None:  # noqa: ANN001
    _, key = site
    assert client.post(URL, json=VALID, headers=headers(key)).status_code == 202

    def broken(*_args):  # noqa: ANN002, ANN202
        raise RuntimeError("a bug in the fast path")

    app.extensions["vimod.site_keys"].cached = broken
    r = client.post(URL, json=VALID, headers=headers(key))
    assert r.status_code == 202 and _count(sessions) == 2


def test_a_database_outage_while_storing_is_a_503(app, client, site, monkeypatch) -> None:  # noqa: ANN001
    from service.api.fast_intake import FastIntake

    _, key = site
    assert client.post(URL, json=VALID, headers=headers(key)).status_code == 202
    dbapi = app.extensions["vimod.engine"].dialect.loaded_dbapi

    def down(*_args):  # noqa: ANN002, ANN202
        raise dbapi.OperationalError("connection refused")  # as the driver raises it

    monkeypatch.setattr(FastIntake, "insert", down)
    r = client.post(URL, json=VALID, headers=headers(key))
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.json == {"error": {"code": "unavailable", "fields": {},
                                "message": "The database is unavailable; retry shortly."}}
