"""One set of rules for what a request may carry, at every door: the intake's fast path and
its Flask view, the reader form, the reader API and the diacritics check (JSON bodies:
service/json_body.py, service/request_body.py; article ids: service/text_rules.py)."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.serving import make_server

from service.moderation import approve
from service.storage import Article, Comment
from tests.helpers import VALID, headers, payload
from tests.test_public_api import ORIGIN, Reader, api, reader_site  # noqa: F401

DEEP = "[" * 1000 + "]" * 1000


def _post_everywhere(client, key: str, public_key: str, data: bytes | str,  # noqa: ANN001
                     content_type: str = "application/json") -> dict[str, object]:
    """The same body to every JSON endpoint a client may reach without signing in."""
    base = f"/api/v1/public/sites/{public_key}"
    targets = {
        "intake": ("/api/v1/comments", {"X-Api-Key": key}),
        "diacritics": ("/api/v1/diacritics", {}),
        "captcha": (f"{base}/captcha", {"Origin": ORIGIN}),
        "reader form": (f"{base}/articles/tin-1/comments", {"Origin": ORIGIN}),
    }
    return {name: client.post(path, data=data, content_type=content_type, headers=h)
            for name, (path, h) in targets.items()}


def test_deeply_nested_json_is_invalid_json_everywhere_logged_once(
        client, site, reader_site, caplog) -> None:  # noqa: ANN001, F811
    """A 2 KB `[[[[…]]]]` raised RecursionError past get_json(silent=True): a 500 on every
    JSON endpoint, with two tracebacks in the log."""
    _, key = site
    with caplog.at_level(logging.INFO):
        answers = _post_everywhere(client, key, reader_site[1], DEEP)
    for name, r in answers.items():
        assert r.status_code == 400, (name, r.get_data(as_text=True))
        assert r.json["error"]["code"] == "invalid_json", name
        assert "nested more than 32 levels" in r.json["error"]["message"]
    refusals = [rec for rec in caplog.records if "invalid JSON body" in rec.getMessage()]
    assert len(refusals) == len(answers)  # one line per request
    assert not [rec for rec in caplog.records if rec.exc_info or rec.levelno >= logging.ERROR]


@pytest.mark.parametrize("depth", [31, 32])
def test_the_depth_limit_is_exact(client, site, depth) -> None:  # noqa: ANN001
    value: object = "x"
    for _ in range(depth):
        value = [value]
    r = client.post("/api/v1/diacritics", json={"text": "xin chào", "extra": value})
    # With the object around it, 32 levels: parsed, then the schema refuses the unknown
    # field; 33 levels: refused as JSON.
    expected = (422, "validation_error") if depth < 32 else (400, "invalid_json")
    assert (r.status_code, r.json["error"]["code"]) == expected


def _stored(sessions) -> list[tuple[str, str]]:  # noqa: ANN001
    with sessions() as s:
        return [(c.article.external_id, c.body_original)
                for c in s.scalars(select(Comment).order_by(Comment.id))]


def test_a_byte_order_mark_is_ignored_on_both_intake_paths(client, site, sessions) -> None:  # noqa: ANN001
    """UTF-8 with a BOM (Windows tools write one) was 202 when the article was cached (the
    fast path) and a bare 400 otherwise (the view): now accepted by both, stored alike."""
    _, key = site
    body = b"\xef\xbb\xbf" + json.dumps(VALID, ensure_ascii=False).encode()
    for _ in range(2):  # the first goes to the view (new article), the second the fast path
        r = client.post("/api/v1/comments", data=body, content_type="application/json",
                        headers=headers(key))
        assert r.status_code == 202, r.get_data(as_text=True)
    assert _stored(sessions) == [("tin-123", VALID["body"])] * 2


def test_utf16_is_refused_on_both_intake_paths(client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    assert client.post("/api/v1/comments", json=VALID, headers=headers(key)).status_code == 202
    for encoding in ("utf-16", "utf-16-le", "utf-32"):
        r = client.post("/api/v1/comments", data=json.dumps(VALID).encode(encoding),
                        content_type="application/json", headers=headers(key))
        assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json", encoding
        assert "UTF-8" in r.json["error"]["message"]
    assert len(_stored(sessions)) == 1


@pytest.fixture
def real_server(app) -> Iterator[int]:  # noqa: ANN001
    """The app behind a real HTTP server, which takes chunked bodies as gunicorn does."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


def _chunked_post(port: int, path: str, body: bytes, extra: dict[str, str]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", path)
    for name, value in {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                        **extra}.items():
        conn.putheader(name, value)
    conn.endheaders()
    for i in range(0, len(body), 8192):
        chunk = body[i:i + 8192]
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    response = conn.getresponse()
    status, data = response.status, json.loads(response.read())
    conn.close()
    return status, data


def test_a_chunked_body_over_the_limit_is_413(real_server, site, sessions) -> None:  # noqa: ANN001
    """Werkzeug hands a chunked body over cut at the limit: it read as invalid JSON (400)."""
    _, key = site
    big = json.dumps(payload(body="a" * 70_000)).encode()
    status, data = _chunked_post(real_server, "/api/v1/comments", big, {"X-Api-Key": key})
    assert (status, data["error"]["code"]) == (413, "request_too_large")
    status, data = _chunked_post(real_server, "/api/v1/comments",
                                 json.dumps(VALID).encode(), {"X-Api-Key": key})
    assert status == 202, data
    assert len(_stored(sessions)) == 1


def test_article_ids_are_stored_without_surrounding_spaces(client, site, sessions) -> None:  # noqa: ANN001
    """The API stored " tin-9 " as sent, the form stripped it: the form's comments never
    showed under the API's article. Both doors now store one article."""
    _, key = site
    for article_id in (" tin-9 ", "tin-9", "\ttin-9"):
        r = client.post("/api/v1/comments", json=payload(**{"article.id": article_id}),
                        headers=headers(key))
        assert r.status_code == 202, (article_id, r.json)
    with sessions() as s:
        assert s.scalars(select(Article.external_id)).all() == ["tin-9"]


# Ids a CMS may send: slugs, numbers, paths, Vietnamese, odd but printable characters.
_ID_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                   max_size=40)
_IDS = st.one_of(_ID_TEXT, st.from_regex(r"[a-z0-9./ -]{1,30}", fullmatch=True),
                 st.sampled_from([".", "..", "a/./b", "a/../b", "/tin", "tin/", " tin-1 ",
                                  "thời-sự/tin 1", "?x=1#y", "%2e%2e", "tin\u200b", "tin\u00a0"]))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(article_id=_IDS)
def test_every_article_id_the_api_accepts_is_listed_by_the_reader_api(
        client, site, sessions, article_id) -> None:  # noqa: ANN001
    """ids ".", ".." and ids with U+200B or U+202E were stored but could never be listed.
    The reader API is asked at the URL the embedded form builds (encodeURIComponent)."""
    with sessions() as s:
        s.query(Comment).delete()
        s.query(Article).delete()
        s.commit()
    r = client.post("/api/v1/comments", json=payload(**{"article.id": article_id}),
                    headers=headers(site[1]))
    if r.status_code != 202:
        assert r.status_code == 422 and "article.id" in r.json["error"]["fields"], r.json
        return
    with sessions() as s:
        comment = s.get(Comment, r.json["id"])
        approve(s, comment, None, "test")
    path = quote(article_id.strip(), safe="-_.!~*'()")
    listed = client.get(f"/api/v1/public/sites/{_public_key(sessions, site[0])}/articles/"
                        f"{path}/comments", headers={"Origin": ORIGIN})
    assert listed.status_code == 200, (article_id, listed.status_code)
    assert [c["id"] for c in listed.json["comments"]] == [r.json["id"]], article_id


def _public_key(sessions, site_id: int) -> str:  # noqa: ANN001
    from service.storage import Site

    with sessions() as s:
        return s.get(Site, site_id).public_key


def test_the_reader_form_and_the_api_agree_on_article_ids(api, client, site, sessions) -> None:  # noqa: ANN001, F811
    """The form's POST applies the same rule and the same canonical form."""
    for article_id, expected in [("%20tin-7%20", 202), ("tin%E2%80%8B7", 422)]:
        r = api.post(api.body(), article=article_id)
        assert r.status_code == expected, (article_id, r.get_json())
        if expected == 422:
            assert "article_id" in r.get_json()["error"]["fields"]
    with sessions() as s:
        assert "tin-7" in s.scalars(select(Article.external_id)).all()
