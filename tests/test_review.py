"""The moderators' review queue, server side: sign-in, CSRF, scope, decisions, claims,
escaping. (Browser-driven tests of the keyboard flow come with the rest of issue 5.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from service.accounts import create_site, create_user
from service.app import create_app
from service.storage import Comment, CommentStatus, ModerationAction
from tests.helpers import headers, payload
from workers.tasks import process_comment_now

PASSWORD = "mật-khẩu-thử-123"
XSS = ('<script>alert(1)</script><img src=x onerror=alert(2)> '
       '<a href="javascript:alert(3)">bấm</a> RTL\u200b')  # (bidi controls: refused at intake)


@pytest.fixture
def ui(settings, engine, redis_client, sessions):  # noqa: ANN001, ANN201
    settings.secure_cookies = False
    app = create_app(settings, TESTING=True)
    with sessions() as s:
        a = create_site(s, "Báo A")
        b = create_site(s, "Báo B")
        create_user(s, "bientap_a", "moderator", PASSWORD, [a.site.id])
        create_user(s, "bientap_a2", "moderator", PASSWORD, [a.site.id])
        create_user(s, "quantri", "admin", PASSWORD)
        s.commit()
        keys = {"a": (a.site.id, a.api_key), "b": (b.site.id, b.api_key)}
    yield app, keys
    app.extensions["vimod.engine"].dispose()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def post_comment(app, key: str, resources, body: str) -> int:  # noqa: ANN001
    r = app.test_client().post("/api/v1/comments", json=payload(body=body),
                               headers=headers(key))
    assert r.status_code == 202
    process_comment_now(resources, r.json["id"])
    return r.json["id"]


def test_login_logout_and_wrong_password(ui) -> None:  # noqa: ANN001
    app, _ = ui
    c = app.test_client()
    assert c.get("/review").status_code == 302  # to /login
    assert login(c, "bientap_a", "sai-mat-khau").status_code == 401
    r = login(c, "bientap_a")
    assert r.status_code == 302 and r.headers["Location"].endswith("/review")
    assert c.get("/review").status_code == 200
    token = csrf(c.get("/review").get_data(as_text=True))
    c.post("/logout", data={"csrf_token": token})
    assert c.get("/review").status_code == 302


# Failed sign-ins are throttled (a CAPTCHA, growing delays), never locked: tests/test_signin.py


def test_open_redirect_refused(ui) -> None:  # noqa: ANN001
    app, _ = ui
    c = app.test_client()
    token = csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login?next=//evil.example/x", data={
        "username": "bientap_a", "password": PASSWORD, "csrf_token": token})
    assert r.headers["Location"].endswith("/review")


def test_csrf_required(ui, resources) -> None:  # noqa: ANN001
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Bài viết hay quá, cảm ơn tác giả")
    c = app.test_client()
    login(c, "bientap_a")
    r = c.post(f"/review/{cid}/approve", data={})
    assert r.status_code == 400


def test_queue_escapes_untrusted_text(ui, resources) -> None:  # noqa: ANN001
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, XSS)
    c = app.test_client()
    login(c, "bientap_a")
    for page in ("/review", f"/review/{cid}"):
        r = c.get(page)
        html = r.get_data(as_text=True)
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert 'href="javascript:' not in html
        assert "&lt;script&gt;" in html
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"


def test_moderator_sees_only_their_sites(ui, resources) -> None:  # noqa: ANN001
    app, keys = ui
    mine = post_comment(app, keys["a"][1], resources, "Ý kiến trên báo A về giao thông")
    theirs = post_comment(app, keys["b"][1], resources, "Ý kiến trên báo B về giáo dục")
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get("/review").get_data(as_text=True)
    assert "báo A" in html and "báo B" not in html
    token = csrf(html)
    assert c.get(f"/review/{theirs}").status_code == 404
    for action in ("approve", "reject", "undo"):
        r = c.post(f"/review/{theirs}/{action}", data={"csrf_token": token, "reason": "spam"})
        assert r.status_code == 404, action
    assert c.get(f"/review?site={keys['b'][0]}").status_code == 404
    assert c.get(f"/review/{mine}").status_code == 200
    admin = app.test_client()
    login(admin, "quantri")
    assert admin.get(f"/review/{theirs}").status_code == 200


def _card_token(c, cid: int) -> str:  # noqa: ANN001
    return csrf(c.get(f"/review/{cid}").get_data(as_text=True))


def test_approve_reject_edit_undo(ui, resources, sessions) -> None:  # noqa: ANN001
    app, keys = ui
    _, key = keys["a"]
    plain = post_comment(app, key, resources, "Mong tỉnh sớm sửa con đường này ạ")
    unmarked = post_comment(app, key, resources, "Bai viet nay rat hay, cam on tac gia nhieu")
    spam = post_comment(app, key, resources, "Vay tiền nhanh, ib zalo 0912 345 678")
    c = app.test_client()
    login(c, "bientap_a")

    assert c.post(f"/review/{plain}/approve",
                  data={"csrf_token": _card_token(c, plain)}).status_code == 303
    # Edit-then-approve: the moderator applied the suggested diacritics.
    html = c.get(f"/review/{unmarked}").get_data(as_text=True)
    suggestion = re.search(r"<q data-suggestion hidden dir=\"auto\">([^<]+)</q>", html).group(1)
    assert suggestion.startswith("Bài viết này rất hay")
    c.post(f"/review/{unmarked}/approve", data={"csrf_token": csrf(html), "body": suggestion})
    # Reject needs a reason: the card again, saying so (a page of the app, not a dead end).
    token = _card_token(c, spam)
    r = c.post(f"/review/{spam}/reject", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == f"/review?c={spam}"
    assert "Hãy chọn lý do từ chối" in c.get(r.headers["Location"]).get_data(as_text=True)
    c.post(f"/review/{spam}/reject", data={"csrf_token": token, "reason": "spam",
                                           "note": "vay tiền"})
    with sessions() as s:
        p, u, sp = (s.get(Comment, i) for i in (plain, unmarked, spam))
        assert p.status == CommentStatus.approved and p.body_published == p.body_original
        assert u.status == CommentStatus.approved and u.body_published == suggestion
        assert u.body_original.startswith("Bai viet")  # never overwritten
        assert sp.status == CommentStatus.rejected and sp.body_published is None
        audit = {a.comment_id: a for a in s.scalars(select(ModerationAction).where(
            ModerationAction.user_id.is_not(None)))}
        assert audit[unmarked].edited_body == suggestion and audit[unmarked].reason == "edited"
        assert audit[spam].reason == "spam: vay tiền"
        assert audit[plain].actor == "bientap_a"
    # Deciding twice is refused; undo puts the comment back.
    token = _card_token(c, plain)
    r = c.post(f"/review/{plain}/reject", data={"csrf_token": token, "reason": "spam"})
    assert r.status_code == 303
    assert "đã được xử lý" in c.get(r.headers["Location"]).get_data(as_text=True)
    c.post(f"/review/{plain}/undo", data={"csrf_token": token})
    with sessions() as s:
        back = s.get(Comment, plain)
        assert back.status == CommentStatus.pending and back.body_published is None


def test_claim_keeps_two_moderators_apart(ui, resources, sessions) -> None:  # noqa: ANN001
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, second = app.test_client(), app.test_client()
    login(first, "bientap_a")
    login(second, "bientap_a2")
    first.get(f"/review/{cid}")  # claims it
    html = second.get(f"/review/{cid}").get_data(as_text=True)
    assert "Đang được <b><bdi>bientap_a</bdi></b> xử lý từ" in html  # who, since when
    assert "<bdi>bientap_a</bdi> đang xử lý" in second.get("/review").get_data(as_text=True)
    r = second.post(f"/review/{cid}/approve", data={"csrf_token": csrf(html)})
    assert r.status_code == 303
    assert "<bdi>bientap_a</bdi> đang xử lý bình luận này" in second.get(
        r.headers["Location"]).get_data(as_text=True)
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.pending


def test_queue_filters(ui, resources) -> None:  # noqa: ANN001
    app, keys = ui
    key = keys["a"][1]
    phone = post_comment(app, key, resources, "Vay tiền nhanh, ib zalo 0912 345 678")
    unmarked = post_comment(app, key, resources, "Bai viet nay rat hay, cam on tac gia nhieu")
    plain = post_comment(app, key, resources, "Đường Lê Lợi ngập nặng sau mưa lớn")
    c = app.test_client()
    login(c, "bientap_a")

    def listed(query: str) -> set[int]:
        html = c.get("/review?" + query).get_data(as_text=True)
        return {int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)}

    assert listed("") == {phone, unmarked, plain}
    assert listed("flag=phone") == {phone}
    assert listed("flag=missing_diacritics") == {unmarked}
    assert listed("q=lê lợi") == {plain}
    assert listed("q=100%25") == set()  # LIKE wildcards are literal
    assert listed("author=lan.nguyen@example.vn") == {phone, unmarked, plain}
    assert listed("author=không-có-ai") == set()
    assert listed("flag=no-such-flag") == {phone, unmarked, plain}  # unknown filter ignored


def test_bulk_reject_and_scope(ui, resources, sessions) -> None:  # noqa: ANN001
    app, keys = ui
    ids = [post_comment(app, keys["a"][1], resources, f"Quảng cáo số {i}: mua ngay kẻo hết")
           for i in range(3)]
    other = post_comment(app, keys["b"][1], resources, "Bình luận của báo B")
    first, second = app.test_client(), app.test_client()
    login(first, "bientap_a")
    login(second, "bientap_a2")
    second.get(f"/review/{ids[2]}")  # the second moderator holds the last one
    token = csrf(first.get("/review").get_data(as_text=True))
    r = first.post("/review/bulk", data={"csrf_token": token, "action": "reject",
                                         "reason": "spam", "ids": ids, "back": "/review"})
    assert r.status_code == 303
    with sessions() as s:
        statuses = [s.get(Comment, i).status for i in ids]
    assert statuses == [CommentStatus.rejected, CommentStatus.rejected, CommentStatus.pending]
    assert "bỏ qua 1" in first.get("/review").get_data(as_text=True)
    r = first.post("/review/bulk", data={"csrf_token": token, "action": "approve",
                                         "ids": [other]})
    assert r.status_code == 404
    r = first.post("/review/bulk", data={"csrf_token": token, "action": "reject", "ids": ids[:1]})
    assert r.status_code == 303  # no reason: back, saying so
    assert "Hãy chọn lý do từ chối" in first.get(r.headers["Location"]).get_data(as_text=True)
    r = first.post("/review/bulk", data={"csrf_token": token, "action": "approve",
                                         "ids": ids[:1], "back": "https://evil.example/"})
    assert r.headers["Location"].endswith("/review")


def test_ban_author_rejects_pending_and_future(ui, resources, sessions) -> None:  # noqa: ANN001
    app, keys = ui
    key = keys["a"][1]
    ids = [post_comment(app, key, resources, f"Tin nhắn rác số {i}, liên hệ ngay")
           for i in range(2)]
    c = app.test_client()
    login(c, "bientap_a")
    token = _card_token(c, ids[0])
    r = c.post(f"/review/{ids[0]}/ban", data={"csrf_token": token, "email": "1",
                                              "reject_pending": "1"})
    assert r.status_code == 303
    with sessions() as s:
        assert {s.get(Comment, i).status for i in ids} == {CommentStatus.rejected}
    resources.forget_cached()
    later = post_comment(app, key, resources, "Lại là tôi đây, mua hàng đi")
    with sessions() as s:
        comment = s.get(Comment, later)
        assert comment.status == CommentStatus.auto_rejected
        assert comment.analysis["decision"]["phase"] == "bans"
    # Another author, same site, is not affected.
    other = app.test_client().post("/api/v1/comments", json=payload(
        body="Ý kiến khác", **{"author.email": "khac@example.vn"}), headers=headers(key))
    process_comment_now(resources, other.json["id"])
    with sessions() as s:
        assert s.get(Comment, other.json["id"]).status == CommentStatus.pending


def test_dates_in_vietnam_time() -> None:
    from datetime import UTC, datetime

    from service.review import vietnam_time

    assert vietnam_time(datetime(2026, 11, 23, 17, 5, tzinfo=UTC)) == "00:05 24/11/2026"
    assert vietnam_time(None) == ""
