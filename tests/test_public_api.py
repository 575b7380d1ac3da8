"""The reader-facing API (docs/public-api.md) against the real app, Redis and database:
CAPTCHA, the form's POST with its refusals, and the published comments it reads back."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest
from sqlalchemy import func, select

from service.moderation import approve, reject
from service.public import captcha
from service.storage import Comment, CommentStatus, Site
from tests.helpers import set_settings

ORIGIN = "https://baothu.vn"
EMAIL = "lan.nguyen@example.vn"


@pytest.fixture
def reader_site(sessions):  # noqa: ANN001, ANN201
    """(site id, public key) of a site whose pages live on ORIGIN."""
    from service.accounts import create_site

    with sessions() as session:
        new = create_site(session, "Báo Thử", domain="baothu.vn", allowed_origins=[ORIGIN])
        session.commit()
        return new.site.id, new.site.public_key


@pytest.fixture
def api(app, client, reader_site, redis_client):  # noqa: ANN001, ANN201
    app.config["FORM_MIN_SECONDS"] = 0
    return Reader(client, reader_site[1], redis_client)


class Reader:
    """What the embedded form does, step by step."""

    def __init__(self, client, public_key: str, redis) -> None:  # noqa: ANN001
        self.client, self.public_key, self.redis = client, public_key, redis
        self.base = f"/api/v1/public/sites/{public_key}"

    def challenge(self, kind: str = "image", origin: str = ORIGIN) -> dict:
        response = self.client.post(f"{self.base}/captcha", json={"kind": kind},
                                    headers={"Origin": origin})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def answer(self, challenge: dict) -> str:
        """The test reads the answer where the server keeps it (service/public/captcha.py)."""
        return json.loads(self.redis.get(captcha.KEY.format(challenge["id"])))["a"]

    def body(self, text: str = "Bài viết rất hữu ích, cảm ơn tác giả!", **changes) -> dict:  # noqa: ANN003
        challenge = self.challenge()
        data = {
            "author": {"name": "Nguyễn Thị Lan", "email": EMAIL},
            "body": text,
            "article": {"url": "https://baothu.vn/tin-1.html", "title": "Tin 1"},
            "captcha": {"id": challenge["id"], "answer": self.answer(challenge).upper()},
            "form_token": challenge["form_token"],
            "website": "",
        }
        data.update(changes)
        return data

    def post(self, data: dict, article: str = "tin-1", origin: str | None = ORIGIN,
             **headers: str):  # noqa: ANN201
        if origin:
            headers["Origin"] = origin
        return self.client.post(f"{self.base}/articles/{article}/comments", json=data,
                                headers=headers)

    def read(self, article: str = "tin-1", **query):  # noqa: ANN003, ANN201
        return self.client.get(f"{self.base}/articles/{article}/comments", query_string=query,
                               headers={"Origin": ORIGIN})


def stored(sessions) -> int:  # noqa: ANN001
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Comment))


def error(response) -> tuple[str, dict]:  # noqa: ANN001
    body = response.get_json()["error"]
    return body["code"], body["fields"]


# --- CAPTCHA ---------------------------------------------------------------------------


def test_image_challenge_is_drawn_and_kept_in_redis_with_an_expiry(api, client, redis_client):  # noqa: ANN001
    challenge = api.challenge()
    assert challenge["kind"] == "image" and challenge["audio_url"] is None
    assert challenge["expires_in"] == 600
    ttl = redis_client.ttl(captcha.KEY.format(challenge["id"]))
    assert 590 <= ttl <= 600
    image = client.get(challenge["image_url"])
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG") and image.headers["Cache-Control"] == "no-store"
    # An image challenge has no sound, and another challenge id is nothing.
    assert client.get(challenge["image_url"].replace(".png", ".wav")).status_code == 404
    assert client.get(f"{api.base}/captcha/nothing.png").status_code == 404


def test_audio_challenge_is_spoken_digits(api, client):  # noqa: ANN001
    challenge = api.challenge("audio")
    assert challenge["image_url"] is None
    assert api.answer(challenge).isdigit()
    audio = client.get(challenge["audio_url"])
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert audio.data[:4] == b"RIFF"


def test_answers_are_case_and_space_insensitive_and_single_use(redis_client) -> None:  # noqa: ANN001
    first = captcha.issue(redis_client, 1)
    assert captcha.consume(redis_client, first.id, 1, " " + first.answer.upper()[:2] + " "
                           + first.answer[2:])
    assert not captcha.consume(redis_client, first.id, 1, first.answer)  # used up
    second = captcha.issue(redis_client, 1)
    assert not captcha.consume(redis_client, second.id, 2, second.answer)  # another site's
    assert not captcha.consume(redis_client, second.id, 1, second.answer)  # that used it up
    third = captcha.issue(redis_client, 1, ttl=1)
    time.sleep(1.1)
    assert not captcha.consume(redis_client, third.id, 1, third.answer)  # expired


def test_challenges_are_rate_limited_per_ip(app, api, client) -> None:  # noqa: ANN001
    app.config["RATELIMIT_CAPTCHA"] = "3 per minute"
    for _ in range(3):
        api.challenge()
    response = client.post(f"{api.base}/captcha", json={}, headers={"Origin": ORIGIN})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the form can read it


def test_audio_challenges_have_a_tighter_limit(app, api, client) -> None:  # noqa: ANN001
    app.config["RATELIMIT_CAPTCHA_AUDIO"] = "2 per minute"
    api.challenge("audio")
    api.challenge("audio")
    refused = client.post(f"{api.base}/captcha", json={"kind": "audio"})
    assert refused.status_code == 429
    api.challenge("image")  # images are still given


def test_unknown_public_key_is_404_for_every_endpoint(client) -> None:  # noqa: ANN001
    base = "/api/v1/public/sites/vmp_nope"
    for response in (client.post(f"{base}/captcha", json={}),
                     client.get(f"{base}/articles/1/comments"),
                     client.post(f"{base}/articles/1/comments", json={})):
        assert response.status_code == 404
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # "wrong key", readable
        assert response.get_json()["error"]["fields"] == {"public_key": "Unknown."}


# --- The form's POST -------------------------------------------------------------------


def test_comment_from_an_allowed_origin_is_stored_and_queued(api, sessions, reader_site):  # noqa: ANN001
    response = api.post(api.body(), **{"User-Agent": "Mozilla/5.0 (Vimod test)"})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "received"
    assert body["message"] == "Bình luận của bạn sẽ được biên tập trước khi đăng"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    with sessions() as session:
        comment = session.get(Comment, body["id"])
        assert comment.site_id == reader_site[0]
        assert comment.status == CommentStatus.received
        assert comment.article.external_id == "tin-1" and comment.article.title == "Tin 1"
        assert comment.author_email == EMAIL and comment.user_agent == "Mozilla/5.0 (Vimod test)"
        assert comment.client_ip == "127.0.0.1"


@pytest.mark.parametrize("origin", [None, "https://evil.example", "http://baothu.vn",
                                    "https://baothu.vn.evil.example"])
def test_other_origins_are_refused_and_nothing_is_stored(api, sessions, origin) -> None:  # noqa: ANN001
    response = api.post(api.body(), origin=origin)
    assert response.status_code == 403
    assert error(response)[0] == "origin_not_allowed"
    # The refusal (and only it) is readable by that page, so its form can explain it.
    assert response.headers.get("Access-Control-Allow-Origin") == origin
    assert stored(sessions) == 0


def test_other_origins_read_nothing_else(api, client) -> None:  # noqa: ANN001
    evil = {"Origin": "https://evil.example"}
    for response in (client.post(f"{api.base}/captcha", json={}, headers=evil),
                     client.get(f"{api.base}/articles/tin-1/comments", headers=evil),
                     client.get(f"{api.base}/form", headers=evil)):
        assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_allows_only_the_sites_origins(api, client) -> None:  # noqa: ANN001
    url = f"{api.base}/articles/tin-1/comments"
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type, idempotency-key"}
    ok = client.options(url, headers={"Origin": ORIGIN, **ask})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in ok.headers["Access-Control-Allow-Headers"]
    # Another origin may send the POST only to read its refusal.
    other = client.options(url, headers={"Origin": "https://evil.example", **ask})
    assert other.headers["Access-Control-Allow-Origin"] == "https://evil.example"
    listing = client.options(f"{api.base}/articles/tin-1/comments/count",
                             headers={"Origin": "https://evil.example", **ask})
    assert "Access-Control-Allow-Origin" not in listing.headers


def test_wrong_captcha_is_refused_and_uses_the_challenge_up(api, sessions) -> None:  # noqa: ANN001
    data = api.body()
    right = data["captcha"]["answer"]
    response = api.post({**data, "captcha": {"id": data["captcha"]["id"], "answer": "zzzzz"}})
    assert response.status_code == 422
    assert error(response) == ("captcha_invalid", {"captcha": "Wrong answer."})
    # The right answer comes too late: a challenge is tried once.
    response = api.post({**data, "captcha": {"id": data["captcha"]["id"], "answer": right}})
    assert error(response)[0] == "captcha_invalid"
    assert stored(sessions) == 0


def test_a_solved_captcha_cannot_be_used_again(api, sessions) -> None:  # noqa: ANN001
    data = api.body()
    assert api.post(data).status_code == 202
    again = api.post({**data, "body": "Một bình luận khác hẳn, cùng mã xác nhận."})
    assert again.status_code == 422 and error(again)[0] == "captcha_invalid"
    assert stored(sessions) == 1


def test_filled_honeypot_is_refused(api, sessions, redis_client) -> None:  # noqa: ANN001
    data = api.body(website="https://spam.example")
    response = api.post(data)
    assert response.status_code == 422
    assert error(response) == ("honeypot", {"website": "Must be empty."})
    assert stored(sessions) == 0


def test_too_fast_submit_is_refused(app, api, sessions) -> None:  # noqa: ANN001
    app.config["FORM_MIN_SECONDS"] = 30
    data = api.body()
    response = api.post(data)
    assert response.status_code == 422
    assert error(response) == ("too_fast", {"form_token": "Sent too soon."})
    assert int(response.headers["Retry-After"]) >= 29
    assert stored(sessions) == 0
    # The CAPTCHA was not reached, so once enough time has passed the same one works.
    app.config["FORM_MIN_SECONDS"] = 0
    assert api.post(data).status_code == 202


@pytest.mark.parametrize("token", ["", "garbage", "eyJzIjoxLCJ0IjowfQ.AAAA.BBBB"])
def test_forged_form_token_is_refused(api, sessions, token) -> None:  # noqa: ANN001
    response = api.post(api.body(form_token=token))
    assert response.status_code == 422 and error(response)[0] == "form_expired"
    assert stored(sessions) == 0


def test_form_token_of_another_site_is_refused(app, api, sessions) -> None:  # noqa: ANN001
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="vimod-reader-form").dumps(
        {"s": 999999, "t": 0})
    response = api.post(api.body(form_token=other))
    assert error(response)[0] == "form_expired"
    assert stored(sessions) == 0


def test_oversize_text_is_refused_counting_as_the_form_does(api, sessions, reader_site):  # noqa: ANN001
    set_settings(sessions, reader_site[0], max_length=20)
    # 20 characters in NFC, 28 code points in NFD: the limit counts what the reader sees.
    text = "Tiếng Việt có dấu ạ!"
    nfd = unicodedata.normalize("NFD", text)
    assert len(text) == 20 and len(nfd) > 20
    assert api.post(api.body(nfd)).status_code == 202
    response = api.post(api.body(text + "!"))
    assert response.status_code == 422
    assert error(response) == ("validation_error", {"body": "Longer than 20 characters."})
    assert stored(sessions) == 1


def test_bad_fields_are_named_and_keep_the_captcha(api, sessions) -> None:  # noqa: ANN001
    data = api.body(author={"name": " ", "email": "not-an-email"}, extra="x")
    response = api.post(data)
    assert response.status_code == 422
    code, fields = error(response)
    assert code == "validation_error"
    assert {"author.name", "author.email", "extra"} <= set(fields)
    # The reader fixes the fields; the same CAPTCHA still works.
    data.pop("extra")
    data["author"] = {"name": "Lan", "email": EMAIL}
    assert api.post(data).status_code == 202


def test_not_json_is_415(api, client) -> None:  # noqa: ANN001
    response = client.post(f"{api.base}/articles/tin-1/comments", data="body=x",
                           headers={"Origin": ORIGIN,
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415


def test_retry_with_the_same_idempotency_key_returns_the_same_comment(api, sessions):  # noqa: ANN001
    data = api.body()
    first = api.post(data, **{"Idempotency-Key": "form-3f2a"})
    # The answer was lost; the form retries with the key (the CAPTCHA is used up by now).
    again = api.post(data, **{"Idempotency-Key": "form-3f2a"})
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    assert stored(sessions) == 1


def test_replies_only_to_published_comments_of_the_article(api, sessions) -> None:  # noqa: ANN001
    parent_id = api.post(api.body()).get_json()["id"]
    reply = api.body("Đồng ý với bạn.", parent_id=parent_id)
    refused = api.post(reply)
    assert error(refused) == ("validation_error",
                              {"parent_id": "No such comment under this article."})
    # Refused before the CAPTCHA: the reader drops the reply target and sends again.
    assert api.post({**reply, "parent_id": None}).status_code == 202
    _decide(sessions, parent_id, "approve")
    assert api.post(api.body("Đồng ý với bạn.", parent_id=parent_id), article="tin-2") \
        .status_code == 422
    assert api.post(api.body("Đồng ý với bạn.", parent_id=parent_id)).status_code == 202
    # An id no INTEGER column holds is refused by name, not a database error (a 500).
    huge = api.post(api.body("Đồng ý với bạn.", parent_id=2**31))
    assert huge.status_code == 422 and "parent_id" in error(huge)[1]


def test_public_intake_is_rate_limited_per_ip(app, api) -> None:  # noqa: ANN001
    app.config["RATELIMIT_PUBLIC"] = "2 per minute"
    assert api.post(api.body("Một")).status_code == 202
    assert api.post(api.body("Hai")).status_code == 202
    response = api.post(api.body("Ba"))
    assert response.status_code == 429 and error(response)[0] == "rate_limited"


# --- Reading published comments --------------------------------------------------------


def _decide(sessions, comment_id: int, action: str, edited: str | None = None) -> None:  # noqa: ANN001
    with sessions() as session:
        comment = session.get(Comment, comment_id)
        if comment.status == CommentStatus.received:
            comment.status = CommentStatus.pending
            session.commit()
        if action == "approve":
            approve(session, comment, None, "test", edited_body=edited)
        else:
            reject(session, comment, None, "test", "spam")


def _seed(api, sessions, text: str, action: str | None = "approve", parent: int | None = None,
          edited: str | None = None, article: str = "tin-1") -> int:  # noqa: ANN001
    data = api.body(text) if parent is None else api.body(text, parent_id=parent)
    response = api.post(data, article=article)
    assert response.status_code == 202, response.get_json()
    comment_id = response.get_json()["id"]
    if action:
        _decide(sessions, comment_id, action, edited)
    return comment_id


def test_only_published_text_and_names_leave(api, sessions) -> None:  # noqa: ANN001
    edited = "Bài viết hay. (Đã biên tập)"
    approved = _seed(api, sessions, "Bai viet hay, goi 0912345678 nhe", edited=edited)
    _seed(api, sessions, "Quảng cáo vay tiền nhanh", action="reject")
    _seed(api, sessions, "Chưa duyệt", action=None)
    response = api.read()
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 1 and body["threads"] == 1
    [comment] = body["comments"]
    assert comment["id"] == approved and comment["body"] == edited
    assert comment["author"] == {"name": "Nguyễn Thị Lan"}
    raw = response.get_data(as_text=True)
    for secret in (EMAIL, "127.0.0.1", "0912345678", "Quảng cáo", "Chưa duyệt", "Mozilla"):
        assert secret not in raw
    assert set(comment) == {"id", "parent_id", "author", "body", "created_at",
                            "published_at", "replies"}


def test_threads_carry_their_replies_and_page(api, sessions) -> None:  # noqa: ANN001
    first = _seed(api, sessions, "Bình luận thứ nhất")
    reply = _seed(api, sessions, "Trả lời bình luận thứ nhất", parent=first)
    _seed(api, sessions, "Trả lời của trả lời", parent=reply)
    second = _seed(api, sessions, "Bình luận thứ hai")
    third = _seed(api, sessions, "Bình luận thứ ba")
    newest = api.read(per_page=2).get_json()
    assert (newest["threads"], newest["count"], newest["pages"]) == (3, 5, 2)
    assert [c["id"] for c in newest["comments"]] == [third, second]
    page2 = api.read(per_page=2, page=2).get_json()
    [thread] = page2["comments"]
    assert thread["id"] == first
    assert [(r["body"], r["parent_id"]) for r in thread["replies"]] == [
        ("Trả lời bình luận thứ nhất", first), ("Trả lời của trả lời", reply)]
    oldest = api.read(order="oldest").get_json()
    assert [c["id"] for c in oldest["comments"]] == [first, second, third]


def test_a_reply_whose_parent_was_removed_stands_alone(api, sessions) -> None:  # noqa: ANN001
    parent = _seed(api, sessions, "Bình luận gốc")
    reply = _seed(api, sessions, "Câu trả lời", parent=parent)
    with sessions() as session:  # the parent is taken down after the reply was published
        session.get(Comment, parent).status = CommentStatus.removed
        session.commit()
    body = api.read().get_json()
    assert [(c["id"], c["replies"]) for c in body["comments"]] == [(reply, [])]
    assert body["count"] == 1


def test_listing_is_cached_with_an_etag(api, sessions, client) -> None:  # noqa: ANN001
    _seed(api, sessions, "Bình luận")
    first = api.read()
    assert first.headers["Cache-Control"] == "public, max-age=15"
    assert "Origin" in first.headers["Vary"]
    etag = first.headers["ETag"]
    same = client.get(f"{api.base}/articles/tin-1/comments",
                      headers={"If-None-Match": etag, "Origin": ORIGIN})
    assert same.status_code == 304 and same.data == b""
    _seed(api, sessions, "Bình luận mới")
    changed = client.get(f"{api.base}/articles/tin-1/comments", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_unknown_article_has_no_comments_and_bad_paging_is_422(api) -> None:  # noqa: ANN001
    body = api.read("chua-co").get_json()
    assert (body["count"], body["comments"], body["pages"]) == (0, [], 1)
    for query in ({"page": 0}, {"per_page": 51}, {"order": "random"}, {"page": "x"}):
        response = api.read(**query)
        assert response.status_code == 422, query
        assert set(error(response)[1]) == set(query)


def test_counts(api, sessions, client) -> None:  # noqa: ANN001
    parent = _seed(api, sessions, "Một")
    _seed(api, sessions, "Hai", parent=parent)
    _seed(api, sessions, "Ba", action="reject")
    _seed(api, sessions, "Bốn", article="tin-2")
    one = client.get(f"{api.base}/articles/tin-1/comments/count").get_json()
    assert one == {"article_id": "tin-1", "count": 2}
    many = client.get(f"{api.base}/counts?article=tin-1&article=tin-2&article=khong-co")
    assert many.get_json() == {"counts": {"tin-1": 2, "tin-2": 1, "khong-co": 0}}
    assert client.get(f"{api.base}/counts").status_code == 422
    too_many = "&".join(f"article=a{i}" for i in range(101))
    assert client.get(f"{api.base}/counts?{too_many}").status_code == 422


def test_another_sites_comments_are_not_readable_with_this_key(api, sessions, client, site):  # noqa: ANN001
    """`site` is a second site with an article of the same id: its comments stay its own."""
    from tests.helpers import headers, payload

    site_id, api_key = site
    response = client.post("/api/v1/comments", json=payload(**{"article.id": "tin-1"}),
                           headers=headers(api_key))
    _decide(sessions, response.get_json()["id"], "approve")
    assert api.read().get_json()["count"] == 0
    with sessions() as session:
        assert session.get(Site, site_id).public_key != api.public_key


def test_form_settings_give_the_sites_length_limit(app, api, sessions, reader_site, client):  # noqa: ANN001
    app.config["FORM_MIN_SECONDS"] = 3
    assert client.get(f"{api.base}/form").get_json() == {"max_length": 2000, "min_seconds": 3.0}
    set_settings(sessions, reader_site[0], max_length=500)
    app.extensions["vimod.site_keys"].invalidate()
    assert client.get(f"{api.base}/form").get_json()["max_length"] == 500


def test_the_reader_api_is_in_the_openapi_document(client) -> None:  # noqa: ANN001
    paths = client.get("/api/v1/openapi.json").json["paths"]
    base = "/api/v1/public/sites/{public_key}"
    assert "202" in paths[f"{base}/articles/{{article_id}}/comments"]["post"]["responses"]
    for path in ("/captcha", "/form", "/counts", "/articles/{article_id}/comments/count"):
        assert f"{base}{path}" in paths


def test_media_is_drawn_once_and_gone_with_the_challenge(api, client) -> None:  # noqa: ANN001
    """Drawing (and above all speaking) costs CPU: asking again must not draw again."""
    challenge = api.challenge()
    first, again = client.get(challenge["image_url"]), client.get(challenge["image_url"])
    assert first.data == again.data  # each drawing is random: the same bytes were kept
    data = {"author": {"name": "Lan", "email": EMAIL}, "body": "Cảm ơn tác giả.",
            "captcha": {"id": challenge["id"], "answer": api.answer(challenge)},
            "form_token": challenge["form_token"]}
    assert api.post(data).status_code == 202
    assert client.get(challenge["image_url"]).status_code == 404


def test_article_ids_with_slashes(api, sessions, client) -> None:  # noqa: ANN001
    """CMS ids like 2024/05/123 arrive percent-encoded from the form."""
    comment_id = _seed(api, sessions, "Bình luận", article="2024%2F05%2F123")
    with sessions() as session:
        assert session.get(Comment, comment_id).article.external_id == "2024/05/123"
    listing = api.read("2024%2F05%2F123").get_json()
    assert listing["article_id"] == "2024/05/123" and listing["count"] == 1
    count = client.get(f"{api.base}/articles/2024%2F05%2F123/comments/count").get_json()
    assert count == {"article_id": "2024/05/123", "count": 1}
    plain = client.get(f"{api.base}/articles/2024/05/123/comments/count").get_json()
    assert plain["count"] == 1


@pytest.mark.parametrize("proxies, stored_ip", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_reader_ip_behind_a_trusted_proxy(settings, engine, redis_client, sessions, reader_site,
                                          proxies, stored_ip) -> None:  # noqa: ANN001
    """X-Forwarded-For counts only when VIMOD_TRUSTED_PROXIES says a proxy sets it."""
    from dataclasses import replace

    from service.app import create_app

    app = create_app(replace(settings, trusted_proxies=proxies), TESTING=True,
                     FORM_MIN_SECONDS=0)
    reader = Reader(app.test_client(), reader_site[1], redis_client)
    response = reader.post(reader.body(), **{"X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 202
    with sessions() as session:
        assert session.get(Comment, response.get_json()["id"]).client_ip == stored_ip
    app.extensions["vimod.engine"].dispose()
