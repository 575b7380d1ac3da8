"""POST /api/v1/comments and GET /api/v1/comments/<id> against a real database and Redis."""

from __future__ import annotations

import io
import json
import threading
import unicodedata

import pytest
from sqlalchemy import func, select

from service.queueing import RECEIVED_KEY, TASK_PROCESS_RECEIVED
from service.storage import Article, Comment, CommentStatus
from tests.helpers import VALID, headers, payload


def count(sessions, model=Comment) -> int:  # noqa: ANN001
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_accepts_stores_and_queues(client, site, sessions, redis_client) -> None:  # noqa: ANN001
    _, key = site
    r = client.post("/api/v1/comments", json=VALID, headers=headers(key))
    assert r.status_code == 202, r.json
    body = r.json
    assert body["status"] == "received"
    assert body["status_url"].endswith(f"/api/v1/comments/{body['id']}")
    assert r.headers["Location"] == body["status_url"]
    with sessions() as s:
        c = s.get(Comment, body["id"])
        assert c.status == CommentStatus.received
        assert c.body_original == VALID["body"]
        assert c.author_email == "lan.nguyen@example.vn"
        assert c.article.external_id == "tin-123"
        assert c.article.title == VALID["article"]["title"]
    # Really queued in Redis: the id in the waiting list, and a task for the worker.
    assert redis_client.lrange(RECEIVED_KEY, 0, -1) == [str(body["id"]).encode()]
    messages = redis_client.lrange("moderation", 0, -1)
    assert len(messages) == 1
    assert json.loads(messages[0])["headers"]["task"] == TASK_PROCESS_RECEIVED


def test_status_endpoint(client, site) -> None:  # noqa: ANN001
    _, key = site
    created = client.post("/api/v1/comments", json=VALID, headers=headers(key)).json
    r = client.get(f"/api/v1/comments/{created['id']}", headers=headers(key))
    assert r.status_code == 200
    assert r.json["status"] == "received"
    assert r.json["body"] == VALID["body"]
    assert r.json["analysis"] is None
    assert r.json["article"]["id"] == "tin-123"


def test_status_is_scoped_to_the_site(client, site, sessions) -> None:  # noqa: ANN001
    from service.accounts import create_site

    _, key = site
    with sessions() as s:
        other = create_site(s, "Other")
        s.commit()
    created = client.post("/api/v1/comments", json=VALID, headers=headers(key)).json
    r = client.get(f"/api/v1/comments/{created['id']}", headers=headers(other.api_key))
    assert r.status_code == 404
    assert r.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/comments/999999", headers=headers(key)).status_code == 404


def test_integer_article_id_and_reuse_of_article(client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    for title in ("Tiêu đề cũ", "Tiêu đề mới"):
        r = client.post(
            "/api/v1/comments",
            json=payload(**{"article.id": 4521, "article.title": title}),
            headers=headers(key),
        )
        assert r.status_code == 202, r.json
    with sessions() as s:
        articles = s.scalars(select(Article)).all()
        assert [(a.external_id, a.title) for a in articles] == [("4521", "Tiêu đề mới")]


def test_reply_to_parent(client, site) -> None:  # noqa: ANN001
    _, key = site
    parent = client.post("/api/v1/comments", json=VALID, headers=headers(key)).json["id"]
    r = client.post("/api/v1/comments", json=payload(parent_id=parent), headers=headers(key))
    assert r.status_code == 202
    r = client.post(
        "/api/v1/comments",
        json=payload(parent_id=parent, **{"article.id": "another-article"}),
        headers=headers(key),
    )
    assert r.status_code == 422
    assert "parent_id" in r.json["error"]["fields"]


def test_client_ip_and_user_agent_forwarded(client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    ua = "Mozilla/5.0 " + "x" * 1000
    r = client.post(
        "/api/v1/comments",
        json=payload(client={"ip": "2402:800:6344::1", "user_agent": ua}),
        headers=headers(key),
    )
    assert r.status_code == 202, r.json
    with sessions() as s:
        c = s.get(Comment, r.json["id"])
        assert c.client_ip == "2402:800:6344::1"
        assert c.user_agent == ua[:500]


def test_client_ip_is_stored_in_canonical_form(client, site, sessions) -> None:  # noqa: ANN001
    """One reader, one string: bans, the flood check and the rate limit compare them."""
    _, key = site
    for spelled in ("2402:0800:6344:0000::0001", "2402:800:6344::1", "113.161.1.1"):
        r = client.post("/api/v1/comments", json=payload(client={"ip": spelled}),
                        headers=headers(key))
        assert r.status_code == 202, r.json
    with sessions() as s:
        assert s.scalars(select(Comment.client_ip).order_by(Comment.id)).all() == [
            "2402:800:6344::1", "2402:800:6344::1", "113.161.1.1"]


def test_nfd_body_within_limit_after_nfc(client, site, sessions) -> None:  # noqa: ANN001
    """The limit counts NFC characters: NFD input longer in code points still fits."""
    _, key = site
    nfc = ("Việt Nam đẹp lắm " * 200)[:2000]
    nfd = unicodedata.normalize("NFD", nfc)
    assert len(nfd) > 2000
    r = client.post("/api/v1/comments", json=payload(body=nfd), headers=headers(key))
    assert r.status_code == 202, r.json
    with sessions() as s:
        assert s.get(Comment, r.json["id"]).body_original == nfd  # kept exactly as typed


def test_nfd_name_and_title_at_the_limit_fit_their_columns(client, site, sessions) -> None:  # noqa: ANN001, E501
    """A name of 100 characters (after NFC) typed with combining marks is 100+ code points:
    stored in NFC it fits VARCHAR(100) on PostgreSQL (it was a 500 there), and the same for
    a title of 500 characters."""
    _, key = site
    name = ("Nguyễn Thị Hồng Hạnh " * 5)[:100]
    title = ("Tỉnh triển khai chuyển đổi số " * 17)[:500]
    nfd_name, nfd_title = (unicodedata.normalize("NFD", t) for t in (name, title))
    assert len(nfd_name) > 100 and len(nfd_title) > 500
    for _ in range(2):  # the view (a new article), then the fast path (a cached one)
        r = client.post("/api/v1/comments", headers=headers(key), json=payload(
            **{"author.name": nfd_name, "article.title": nfd_title}))
        assert r.status_code == 202, r.json
        with sessions() as s:
            comment = s.get(Comment, r.json["id"])
            assert comment.author_name == name.strip() and comment.article.title == title


def test_idempotency_key_returns_same_comment(client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    h = headers(key, **{"Idempotency-Key": "req-7f3a"})
    first = client.post("/api/v1/comments", json=VALID, headers=h)
    again = client.post("/api/v1/comments", json=VALID, headers=h)
    assert first.status_code == again.status_code == 202
    assert first.json["id"] == again.json["id"]
    assert count(sessions) == 1
    conflict = client.post("/api/v1/comments", json=payload(body="Khác hẳn"), headers=h)
    assert conflict.status_code == 409
    assert conflict.json["error"]["code"] == "idempotency_conflict"
    assert count(sessions) == 1


def test_idempotency_key_under_concurrent_retries(app, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    h = headers(key, **{"Idempotency-Key": "race-1"})
    ids, statuses = [], []

    def post() -> None:
        r = app.test_client().post("/api/v1/comments", json=VALID, headers=h)
        statuses.append(r.status_code)
        ids.append(r.json.get("id"))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * 6, statuses
    assert len(set(ids)) == 1
    assert count(sessions) == 1


LONG = "ệ" * 2001
BAD_INPUTS = [
    # (case, request kwargs builder, expected status, field named in the error)
    ("missing body", lambda: {"json": payload(body=None)}, 422, "body"),
    ("blank body", lambda: {"json": payload(body="   \n ")}, 422, "body"),
    ("missing article", lambda: {"json": payload(article=None)}, 422, "article"),
    ("missing article id", lambda: {"json": payload(**{"article.id": None})}, 422, "article.id"),
    ("missing author name", lambda: {"json": payload(**{"author.name": None})}, 422,
     "author.name"),
    ("missing author email", lambda: {"json": payload(**{"author.email": None})}, 422,
     "author.email"),
    ("bad email", lambda: {"json": payload(**{"author.email": "lan@"})}, 422, "author.email"),
    ("body is a number", lambda: {"json": payload(body=12345)}, 422, "body"),
    ("author is a string", lambda: {"json": payload(author="Lan")}, 422, "author"),
    ("article id is a list", lambda: {"json": payload(**{"article.id": ["x"]})}, 422,
     "article.id"),
    ("parent_id is a string", lambda: {"json": payload(parent_id="12")}, 422, "parent_id"),
    ("parent_id does not exist", lambda: {"json": payload(parent_id=987654)}, 422, "parent_id"),
    ("parent_id beyond an INTEGER", lambda: {"json": payload(parent_id=2**31)}, 422, "parent_id"),
    ("parent_id beyond 64 bits", lambda: {"json": payload(parent_id=2**70)}, 422, "parent_id"),
    ("body over limit by one", lambda: {"json": payload(body=LONG)}, 422, "body"),
    ("10 kB name", lambda: {"json": payload(**{"author.name": "Lan" * 3400})}, 422,
     "author.name"),
    ("control character", lambda: {"json": payload(body="xin chào\x00\x07")}, 422, "body"),
    ("lone surrogate", lambda: {"data": '{"article":{"id":"1"},"author":{"name":"A","email":'
                                '"a@b.vn"},"body":"\\ud800"}', "content_type": "application/json"},
     422, "body"),
    ("unknown top-level field", lambda: {"json": payload(score=1)}, 422, "score"),
    ("unknown nested field", lambda: {"json": payload(**{"author.phone": "0912345678"})}, 422,
     "author.phone"),
    ("bad client ip", lambda: {"json": payload(client={"ip": "999.1.1.1"})}, 422, "client.ip"),
    ("client ip with a long zone", lambda: {"json": payload(client={"ip": "fe80::1%" + "a" * 100})},
     422, "client.ip"),
    ("bad article url", lambda: {"json": payload(**{"article.url": "javascript:alert(1)"})}, 422,
     "article.url"),
    ("article url with an unclosed IPv6 bracket", lambda: {"json": payload(**{
        "article.url": "http://[2402:800::1/tin"})}, 422, "article.url"),
    ("JSON array", lambda: {"json": [VALID]}, 422, None),
    ("invalid JSON", lambda: {"data": '{"body": "thiếu ngoặc"', "content_type": "application/json"},
     400, None),
    ("empty body", lambda: {"data": "", "content_type": "application/json"}, 400, None),
    ("form content type", lambda: {"data": {"body": "x"}}, 415, "Content-Type"),
    ("text/plain", lambda: {"data": json.dumps(VALID), "content_type": "text/plain"}, 415,
     "Content-Type"),
    ("oversize request", lambda: {"json": payload(body="a" * 70_000)}, 413, None),
    ("bad idempotency key", lambda: {"json": VALID, "headers": {"Idempotency-Key": "x" * 201}},
     422, "Idempotency-Key"),
    # One rule for a JSON body at every door (service/json_body.py):
    ("JSON nested 1,000 deep", lambda: {"data": "[" * 1000 + "]" * 1000,
                                        "content_type": "application/json"}, 400, None),
    ("a field nested 40 deep", lambda: {"json": payload(body=_nested(40))}, 400, None),
    ("UTF-16 body", lambda: {"data": json.dumps(VALID).encode("utf-16"),
                             "content_type": "application/json"}, 400, None),
    ("chunked body over the limit", lambda: {
        "input_stream": io.BytesIO(json.dumps(payload(body="a" * 70_000)).encode()),
        "content_type": "application/json",
        "environ_overrides": {"wsgi.input_terminated": True}}, 413, None),
    # Text rules (service/text_rules.py):
    ("bidi override in the name", lambda: {"json": payload(**{"author.name": "\u202eLan"})},
     422, "author.name"),
    ("name of zero-width characters", lambda: {"json": payload(**{
        "author.name": "\u200b\u200c\u2060\ufeff"})}, 422, "author.name"),
    ("name of Hangul fillers", lambda: {"json": payload(**{"author.name": "\u3164\u3164"})}, 422,
     "author.name"),
    ("body of zero-width spaces", lambda: {"json": payload(body="\u200b \u200b")}, 422, "body"),
    ("bidi override in the body", lambda: {"json": payload(body="Bài viết \u202ehay")}, 422,
     "body"),
    ("bidi isolate in the title", lambda: {"json": payload(**{"article.title": "Tin \u2067x"})},
     422, "article.title"),
    ("line separator in the name", lambda: {"json": payload(**{"author.name": "Lan\u2028"})},
     422, "author.name"),
    ("ESC in the body", lambda: {"json": payload(body="xin chào \x1b[31m")}, 422, "body"),
    ("U+0085 in the body", lambda: {"json": payload(body="xin\x85chào")}, 422, "body"),
    ("article id '.'", lambda: {"json": payload(**{"article.id": "."})}, 422, "article.id"),
    ("article id '..'", lambda: {"json": payload(**{"article.id": ".."})}, 422, "article.id"),
    ("article id with an empty part", lambda: {"json": payload(**{"article.id": "tin//1"})}, 422,
     "article.id"),
    ("article id ending in '/'", lambda: {"json": payload(**{"article.id": "tin-1/"})}, 422,
     "article.id"),
    ("article id with U+200B", lambda: {"json": payload(**{"article.id": "tin\u200b1"})}, 422,
     "article.id"),
    ("article id with U+202E", lambda: {"json": payload(**{"article.id": "\u202etin"})}, 422,
     "article.id"),
    ("article id of spaces", lambda: {"json": payload(**{"article.id": "   "})}, 422,
     "article.id"),
    ("article id of 201 characters", lambda: {"json": payload(**{"article.id": "t" * 201})}, 422,
     "article.id"),
]


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("case", "make", "status", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_refused_and_nothing_stored(
    client, site, sessions, redis_client, case, make, status, field  # noqa: ANN001
) -> None:
    _, key = site
    kwargs = make()
    kwargs["headers"] = headers(key, **kwargs.get("headers", {}))
    r = client.post("/api/v1/comments", **kwargs)
    assert r.status_code == status, (case, r.status_code, r.get_data(as_text=True))
    error = r.json["error"]
    assert error["code"] and error["message"]
    if field:
        assert field in error["fields"], error
    assert count(sessions) == 0
    assert redis_client.llen("moderation") == 0 and redis_client.llen(RECEIVED_KEY) == 0


@pytest.mark.parametrize(
    "key_header", [{}, {"X-Api-Key": "vmk_not-a-real-key"}, {"X-Api-Key": ""}], ids=str
)
def test_unknown_key_is_401(client, site, sessions, key_header) -> None:  # noqa: ANN001
    r = client.post("/api/v1/comments", json=VALID, headers=key_header)
    assert r.status_code == 401
    assert r.json["error"]["code"] == "unauthorized"
    assert "X-Api-Key" in r.json["error"]["fields"]
    assert count(sessions) == 0


def test_emoji_and_mixed_text_accepted(client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    body = "Hay quá 👍🇻🇳 ko biết khi nào dc áp dụng? OK thanks admin!"
    r = client.post("/api/v1/comments", json=payload(body=body), headers=headers(key))
    assert r.status_code == 202
    with sessions() as s:
        assert s.get(Comment, r.json["id"]).body_original == body


def test_site_max_length_setting(client, site, sessions) -> None:  # noqa: ANN001
    site_id, key = site
    from service.storage import Site

    with sessions() as s:
        row = s.get(Site, site_id)
        row.settings = {**row.settings, "max_length": 10}
        s.commit()
    assert client.post("/api/v1/comments", json=payload(body="Ngắn gọn."),
                       headers=headers(key)).status_code == 202
    r = client.post("/api/v1/comments", json=payload(body="Dài hơn mười ký tự"),
                    headers=headers(key))
    assert r.status_code == 422
    assert r.json["error"]["fields"]["body"] == "Longer than 10 characters."
