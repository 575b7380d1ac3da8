"""Rate limits, health, readiness, metrics, the OpenAPI document, and Redis outages."""

from __future__ import annotations

import pytest

from service.app import create_app
from service.embedded_redis import free_port
from service.storage import Comment
from tests.helpers import VALID, headers, payload


@pytest.fixture
def limited_app(settings, engine, redis_client):  # noqa: ANN001, ANN201
    settings.ratelimit_ip = "3 per minute"
    settings.ratelimit_site = "5 per minute"
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["vimod.engine"].dispose()


def test_rate_limit_per_reader_ip(limited_app, site) -> None:  # noqa: ANN001
    _, key = site
    client = limited_app.test_client()
    body = payload(client={"ip": "113.161.1.1"})
    codes = [client.post("/api/v1/comments", json=body, headers=headers(key)).status_code
             for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    r = client.post("/api/v1/comments", json=body, headers=headers(key))
    assert r.status_code == 429
    assert r.json["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0
    # Another reader of the same site is not affected.
    other = payload(client={"ip": "113.161.1.2"})
    assert client.post("/api/v1/comments", json=other, headers=headers(key)).status_code == 202


def test_rate_limit_per_site(limited_app, site) -> None:  # noqa: ANN001
    _, key = site
    client = limited_app.test_client()
    codes = [
        client.post(
            "/api/v1/comments", json=payload(client={"ip": f"10.0.0.{i}"}), headers=headers(key)
        ).status_code
        for i in range(6)
    ]
    assert codes == [202] * 5 + [429]


def test_a_reader_over_the_limit_does_not_use_up_the_site_limit(limited_app, site) -> None:  # noqa: ANN001, E501
    """Refused requests are not counted: one reader hammering the form cannot exhaust the
    site's limit for everyone else."""
    _, key = site
    client = limited_app.test_client()
    noisy = payload(client={"ip": "113.161.9.9"})
    codes = [client.post("/api/v1/comments", json=noisy, headers=headers(key)).status_code
             for _ in range(10)]
    assert codes == [202] * 3 + [429] * 7
    others = [client.post("/api/v1/comments", json=payload(client={"ip": f"10.1.0.{i}"}),
                          headers=headers(key)).status_code for i in range(3)]
    assert others == [202, 202, 429]  # 3 + 2 = the site's 5; the 7 refused ones did not count


def test_several_windows_in_one_limit(settings, engine, redis_client, site) -> None:  # noqa: ANN001
    settings.ratelimit_ip = "2 per second;3 per hour"
    app = create_app(settings, TESTING=True)
    try:
        _, key = site
        client = app.test_client()
        body = payload(client={"ip": "2402:800:6344::7"})
        codes = [client.post("/api/v1/comments", json=body, headers=headers(key)).status_code
                 for _ in range(3)]
        assert codes == [202, 202, 429]
        wait = int(client.post("/api/v1/comments", json=body,
                               headers=headers(key)).headers["Retry-After"])
        assert wait == 1  # the per-second window is the full one
        per_second = redis_client.keys("vimod-limits/intake/ip:*/2/1/second")
        assert len(per_second) == 1
        redis_client.delete(*per_second)  # as if that second had passed
        assert client.post("/api/v1/comments", json=body,
                           headers=headers(key)).status_code == 202
        redis_client.delete(*per_second)
        r = client.post("/api/v1/comments", json=body, headers=headers(key))
        assert r.status_code == 429 and 3500 < int(r.headers["Retry-After"]) <= 3600
    finally:
        app.extensions["vimod.engine"].dispose()


def test_rate_limits_off(settings, engine, redis_client, site) -> None:  # noqa: ANN001
    settings.ratelimit_ip = "1 per minute"
    settings.ratelimit_enabled = False
    app = create_app(settings, TESTING=True)
    try:
        _, key = site
        body = payload(client={"ip": "113.161.1.1"})
        codes = [app.test_client().post("/api/v1/comments", json=body,
                                        headers=headers(key)).status_code for _ in range(3)]
        assert codes == [202] * 3
        assert not redis_client.keys("vimod-limits/intake/*")
    finally:
        app.extensions["vimod.engine"].dispose()


def test_healthz_and_readyz(client) -> None:  # noqa: ANN001
    assert client.get("/healthz").json == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json["checks"] == {"database": "ok", "redis": "ok"}


@pytest.fixture
def app_without_redis(settings, engine):  # noqa: ANN001, ANN201
    settings.redis_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["vimod.engine"].dispose()


def test_readyz_503_when_redis_down(app_without_redis) -> None:  # noqa: ANN001
    r = app_without_redis.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["checks"]["redis"].startswith("error")


def test_comment_kept_when_redis_down(app_without_redis, site, sessions) -> None:  # noqa: ANN001
    """The database is the source of truth: with the broker down the comment is still
    stored (status received) and answered 202; the sweep queues it later."""
    _, key = site
    r = app_without_redis.test_client().post("/api/v1/comments", json=VALID, headers=headers(key))
    assert r.status_code == 202
    with sessions() as s:
        assert s.get(Comment, r.json["id"]).status == "received"
    metrics = app_without_redis.test_client().get("/metrics").get_data(as_text=True)
    assert "vimod_enqueue_failures_total" in metrics


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics(client, site) -> None:  # noqa: ANN001
    _, key = site
    before = client.get("/metrics").get_data(as_text=True)
    refused_before = _sample(before, 'vimod_comments_refused_total{reason="validation_error"}') \
        if 'reason="validation_error"' in before else 0.0
    client.post("/api/v1/comments", json=VALID, headers=headers(key))
    client.post("/api/v1/comments", json=payload(body=""), headers=headers(key))
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    assert _sample(text, 'vimod_comments_refused_total{reason="validation_error"}') == \
        refused_before + 1
    assert _sample(text, 'vimod_queue_depth{queue="moderation"}') == 1.0
    assert _sample(text, "vimod_comments_waiting") == 1.0
    assert _sample(text, "vimod_comments_unprocessed") == 1.0
    assert "vimod_intake_latency_seconds_bucket" in text


def test_openapi_document(client) -> None:  # noqa: ANN001
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    post = spec["paths"]["/api/v1/comments"]["post"]
    assert "202" in post["responses"] and "422" in post["responses"]
    schema = spec["components"]["schemas"]["CommentIn"]
    assert set(schema["required"]) == {"article", "author", "body"}
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "X-Api-Key"


def test_errors_are_json_everywhere(client) -> None:  # noqa: ANN001
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = client.delete("/api/v1/comments", headers={"X-Api-Key": "x"})
    assert r.status_code in (401, 405)
    assert "error" in r.json

