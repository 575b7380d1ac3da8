"""POST /api/v1/diacritics: what the reader's form calls while the reader types."""

from __future__ import annotations

import unicodedata

import pytest

from service.app import create_app


def test_unmarked_text_gets_a_suggestion(client) -> None:  # noqa: ANN001
    r = client.post("/api/v1/diacritics", json={"text": "Toi rat dong y voi y kien cua ban"})
    assert r.status_code == 200
    body = r.json
    assert body["verdict"] == "missing"
    assert body["suggestion"] == "Tôi rất đồng ý với ý kiến của bạn"
    assert 0.5 < body["ratio"] <= 1


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Tôi rất đồng ý với ý kiến của bạn", "ok"),
        (unicodedata.normalize("NFD", "Tôi rất đồng ý với ý kiến của bạn"), "ok"),
        ("Thanks for the great article, very informative!", "not_vietnamese"),
        ("hay qua", "too_short"),
    ],
)
def test_verdicts(client, text: str, verdict: str) -> None:  # noqa: ANN001
    r = client.post("/api/v1/diacritics", json={"text": text})
    assert r.status_code == 200
    assert r.json["verdict"] == verdict
    assert r.json.get("suggestion") is None


def test_cors_for_any_page(client) -> None:  # noqa: ANN001
    r = client.post("/api/v1/diacritics", json={"text": "xin chao"},
                    headers={"Origin": "https://baothu.vn"})
    assert r.headers["Access-Control-Allow-Origin"] in ("*", "https://baothu.vn")
    pre = client.options("/api/v1/diacritics", headers={
        "Origin": "https://baothu.vn", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert pre.status_code == 200
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {}}, 422),
        ({"json": {"text": 5}}, 422),
        ({"json": {"text": "a", "extra": 1}}, 422),
        ({"json": {"text": "x" * 20001}}, 422),
        ({"data": "{", "content_type": "application/json"}, 400),
    ],
)
def test_bad_requests(client, kwargs, status: int) -> None:  # noqa: ANN001
    r = client.post("/api/v1/diacritics", **kwargs)
    assert r.status_code == status
    assert r.json["error"]["code"]


def test_rate_limited(settings, engine, redis_client) -> None:  # noqa: ANN001
    settings.ratelimit_diacritics = "2 per minute"
    app = create_app(settings, TESTING=True)
    c = app.test_client()
    codes = [c.post("/api/v1/diacritics", json={"text": "xin chao"}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
