"""Bans (#16 defect 7): a duration chosen on the card, the bans page (list, filters, scope,
lift, audit), expiry, and a ban or a lift applying to the very next comment a worker
processes (the Redis generation; no cache left to expire)."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import redis
from sqlalchemy import select

from service.storage import AuditEntry, Ban, Comment, CommentStatus, User
from service.storage.tables import utcnow
from tests.helpers import headers, payload
from tests.test_review import _card_token, csrf, login, post_comment, ui  # noqa: F401
from workers.pipeline.resources import Resources
from workers.tasks import process_comment_now

AUTHOR = "lan.nguyen@example.vn"  # tests.helpers.VALID's author


def _status(sessions, comment_id: int) -> str:  # noqa: ANN001
    with sessions() as s:
        return s.get(Comment, comment_id).status


def _bans_page(c, query: str = "") -> str:  # noqa: ANN001
    r = c.get("/review/bans" + query)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _row(html: str, ban_id: int) -> str:
    match = re.search(rf'<tr data-ban="{ban_id}".*?</tr>', html, re.S)
    assert match, f"ban {ban_id} not on the page"
    return match.group(0)


def test_ban_for_7_days_applies_at_once_and_lifting_too(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """Ban from the card for 7 days with a reason: the bans page shows who, why, when and
    "còn 7 ngày"; the author's next comment is rejected by the worker's cache as it is (no
    forget_cached: it asks Redis); lifting it (audited) lets the next comment through."""
    app, keys = ui
    key = keys["a"][1]
    first = post_comment(app, key, resources, "Bài viết hay, cảm ơn tác giả")  # warms the cache
    assert _status(sessions, first) == CommentStatus.pending
    c = app.test_client()
    login(c, "bientap_a")
    token = _card_token(c, first)
    card = c.get(f"/review/{first}").get_data(as_text=True)
    assert 'name="duration" value="7d" checked' in card  # the default: a week
    assert all(f'value="{d}"' in card for d in ("1d", "7d", "30d", "permanent"))
    r = c.post(f"/review/{first}/ban", data={"csrf_token": token, "email": "1",
                                             "duration": "7d", "note": "Quảng cáo cờ bạc"})
    assert r.status_code == 303
    with sessions() as s:
        ban = s.scalars(select(Ban)).one()
        assert ban.email == AUTHOR and ban.reason == "Quảng cáo cờ bạc"
        assert timedelta(days=7) - (ban.expires_at - ban.created_at) < timedelta(seconds=1)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "ban.create")).one()
        assert entry.actor == "bientap_a" and entry.details["ban"] == ban.id
        assert entry.details["duration"] == "7d" and entry.target_id == str(keys["a"][0])
        ban_id = ban.id

    banned = post_comment(app, key, resources, "Nhà cái uy tín, nạp 100k tặng 200k")
    with sessions() as s:
        comment = s.get(Comment, banned)
        assert comment.status == CommentStatus.auto_rejected
        assert comment.analysis["decision"]["phase"] == "bans"

    card = c.get(f"/review/{banned}").get_data(as_text=True)
    assert "Người viết đang bị chặn trên trang tin này (còn 7 ngày)" in card
    row = _row(_bans_page(c), ban_id)
    assert f"<bdi>{AUTHOR}</bdi>" in row and "<bdi>Báo A</bdi>" in row
    assert "<bdi>Quảng cáo cờ bạc</bdi>" in row and "<bdi>bientap_a</bdi>" in row
    assert "còn 7 ngày" in row and "đang áp dụng" in row and "Gỡ lệnh cấm" in row

    page = _bans_page(c, "?state=active&q=lan.nguyen")
    token = csrf(page)
    r = c.post(f"/review/bans/{ban_id}/lift", data={"csrf_token": token, "state": "active",
                                                    "q": "lan.nguyen"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/review/bans?state=active&q=lan.nguyen")
    back = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Đã gỡ lệnh cấm" in back and f'data-ban="{ban_id}"' not in back  # not active now
    row = _row(_bans_page(c, "?state=lifted"), ban_id)
    assert "đã gỡ" in row and "bientap_a" in row and "Gỡ lệnh cấm" not in row
    with sessions() as s:
        ban = s.get(Ban, ban_id)
        lifter = s.scalar(select(User).where(User.username == "bientap_a"))
        assert ban.lifted_at is not None and ban.lifted_by == lifter.id
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "ban.lift")).one()
        assert entry.actor == "bientap_a" and entry.details["ban"] == ban_id

    # Both show in the site's history in the admin console.
    admin = app.test_client()
    login(admin, "quantri")
    history = admin.get(f"/admin/sites/{keys['a'][0]}").get_data(as_text=True)
    assert 'data-action="ban.create"' in history and 'data-action="ban.lift"' in history
    assert "Chặn người viết (trang lệnh cấm)" in history
    assert "Gỡ lệnh cấm (trang lệnh cấm)" in history

    after = post_comment(app, key, resources, "Tôi xin lỗi, sẽ bình luận đúng mực")
    assert _status(sessions, after) == CommentStatus.pending
    assert "data-author-banned" not in c.get(f"/review/{after}").get_data(as_text=True)

    # Lifting again: back to the page, saying why (never a dead end).
    r = c.post(f"/review/bans/{ban_id}/lift", data={"csrf_token": token})
    assert r.status_code == 303
    assert "đã được gỡ" in c.get(r.headers["Location"]).get_data(as_text=True)


def test_expired_or_lifted_ban_does_not_apply(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """Explicit timestamps, no sleeps: a ban whose expires_at has passed and a lifted one
    reject nothing; one that expires in an hour still does."""
    app, keys = ui
    site_a, key = keys["a"]
    now = utcnow()
    with sessions() as s:
        s.add_all([
            Ban(site_id=site_a, email=AUTHOR, created_at=now - timedelta(days=2),
                expires_at=now - timedelta(minutes=1)),
            Ban(site_id=site_a, email=AUTHOR, created_at=now - timedelta(days=1),
                lifted_at=now - timedelta(hours=1)),
        ])
        s.commit()
    comment = post_comment(app, key, resources, "Bình luận sau khi hết hạn cấm")
    assert _status(sessions, comment) == CommentStatus.pending
    with sessions() as s:
        bans = s.scalars(select(Ban).order_by(Ban.id)).all()
        assert [b.state(now) for b in bans] == ["expired", "lifted"]
        s.add(Ban(site_id=site_a, email=AUTHOR, created_at=now,
                  expires_at=now + timedelta(hours=1)))
        s.commit()
    resources.forget_cached()  # a row written without the web app: nobody announced it
    comment = post_comment(app, key, resources, "Lại bình luận")
    assert _status(sessions, comment) == CommentStatus.auto_rejected

    c = app.test_client()
    login(c, "bientap_a")
    expired = _bans_page(c, "?state=expired")
    assert expired.count("<tr data-ban=") == 1 and 'data-state="expired"' in expired
    assert 'data-ban-state="expired">hết hạn</span>' in expired
    active = _bans_page(c, "?state=active")
    assert active.count("<tr data-ban=") == 1 and "còn 59 phút" in active


def test_worker_cache_drops_a_ban_when_it_expires(sessions, redis_client, site) -> None:  # noqa: ANN001
    """The worker's cached bans end at their expires_at (its wall clock), without a
    re-read and without Redis saying anything."""
    site_id, _ = site
    now = utcnow()
    with sessions() as s:
        s.add(Ban(site_id=site_id, email="a@example.vn", expires_at=now + timedelta(hours=1)))
        s.add(Ban(site_id=site_id, ip="10.1.2.3"))  # permanent
        s.commit()
    clock = {"now": now}
    resources = Resources(sessions, redis_client, wall=lambda: clock["now"])
    assert resources.bans(site_id) == (frozenset({"a@example.vn"}), frozenset({"10.1.2.3"}))
    clock["now"] = now + timedelta(hours=1, seconds=1)
    assert resources.bans(site_id) == (frozenset(), frozenset({"10.1.2.3"}))


def test_worker_reads_bans_without_redis(sessions, site) -> None:  # noqa: ANN001
    """Redis unreachable: the bans still come from the database (short TTL), no error."""
    site_id, _ = site
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    down = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    with sessions() as s:
        s.add(Ban(site_id=site_id, email="b@example.vn"))
        s.commit()
    resources = Resources(sessions, down)
    assert resources.bans(site_id) == (frozenset({"b@example.vn"}), frozenset())


def test_ban_form_errors_end_on_a_page(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Bình luận bình thường")
    c = app.test_client()
    login(c, "bientap_a")
    token = _card_token(c, cid)
    r = c.post(f"/review/{cid}/ban", data={"csrf_token": token, "email": "1",
                                           "duration": "forever"})
    assert r.status_code == 303
    assert "Hãy chọn thời hạn" in c.get(r.headers["Location"]).get_data(as_text=True)
    r = c.post(f"/review/{cid}/ban", data={"csrf_token": token, "email": "1", "duration": "1d",
                                           "note": "lý do\u202ebị đảo"})
    assert r.status_code == 422  # the card again, the reason kept, the message shown
    html = r.get_data(as_text=True)
    assert "U+202E" in html and "<details class=\"ban\" data-ban open>" in html
    with sessions() as s:
        assert s.scalars(select(Ban)).all() == []
    r = c.post(f"/review/{cid}/ban", data={"csrf_token": token, "email": "1",
                                           "duration": "permanent"})
    assert r.status_code == 303
    with sessions() as s:
        ban = s.scalars(select(Ban)).one()
        assert ban.expires_at is None and ban.reason == f"from comment {cid}"
    row = _row(_bans_page(c), ban.id)
    assert "vĩnh viễn" in row and f"từ bình luận #{cid}" in row


def test_moderator_sees_and_lifts_only_their_sites_bans(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    (site_a, _), (site_b, _) = keys["a"], keys["b"]
    with sessions() as s:
        a = Ban(site_id=site_a, email="o-a@example.vn")
        b = Ban(site_id=site_b, email="o-b@example.vn")
        s.add_all([a, b])
        s.commit()
        a_id, b_id = a.id, b.id
    c = app.test_client()
    login(c, "bientap_a")
    html = _bans_page(c)
    assert "o-a@example.vn" in html and "o-b@example.vn" not in html
    assert c.get(f"/review/bans?site={site_b}").status_code == 404
    token = csrf(html)
    assert c.post(f"/review/bans/{b_id}/lift", data={"csrf_token": token}).status_code == 404
    with sessions() as s:
        assert s.get(Ban, b_id).lifted_at is None
    assert c.post(f"/review/bans/{a_id}/lift", data={"csrf_token": token}).status_code == 303
    admin = app.test_client()
    login(admin, "quantri")
    html = _bans_page(admin)
    assert "o-a@example.vn" in html and "o-b@example.vn" in html
    only_b = _bans_page(admin, f"?site={site_b}")
    assert "o-b@example.vn" in only_b and "o-a@example.vn" not in only_b


def test_bans_page_pages_filters_and_empty_state(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = app.test_client()
    login(c, "bientap_a")
    empty = _bans_page(c)
    assert "Chưa ai bị cấm" in empty and 'data-nav-bans' in empty
    site_a = keys["a"][0]
    now = utcnow()
    with sessions() as s:
        s.add_all([Ban(site_id=site_a, email=f"n{i:02d}@example.vn", ip=f"10.0.0.{i}",
                       created_at=now - timedelta(minutes=i)) for i in range(30)])
        s.commit()
    first = _bans_page(c, "?state=active")
    assert first.count("<tr data-ban=") == 25
    assert 'href="/review/bans?state=active&amp;page=2"' in first
    second = _bans_page(c, "?state=active&page=2")
    assert second.count("<tr data-ban=") == 5 and "n29@example.vn" in second
    assert "Không có lệnh cấm nào khớp" in _bans_page(c, "?q=khong-co-ai")
    by_ip = _bans_page(c, "?q=10.0.0.7")
    assert by_ip.count("<tr data-ban=") == 1 and 'value="10.0.0.7"' in by_ip
    # The workspace links to it: the navigation and the Ctrl-K palette.
    queue = c.get("/review").get_data(as_text=True)
    assert 'data-nav-bans' in queue and 'data-href="/review/bans"' in queue


def test_a_comment_sent_right_after_the_ban_is_rejected(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """The defect as reported: the worker had read the bans just before (cached for 30 s);
    the ban, then a comment at once → auto-rejected, reason banned."""
    app, keys = ui
    key = keys["a"][1]
    cid = post_comment(app, key, resources, "Bình luận đầu tiên")
    c = app.test_client()
    login(c, "bientap_a")
    token = _card_token(c, cid)
    assert c.post(f"/review/{cid}/ban", data={"csrf_token": token, "ip": "1",
                                              "duration": "1d"}).status_code == 303
    r = app.test_client().post("/api/v1/comments", json=payload(
        body="Bình luận thứ hai", **{"author.email": "khac@example.vn"}), headers=headers(key))
    process_comment_now(resources, r.json["id"])
    with sessions() as s:
        comment = s.get(Comment, r.json["id"])
        assert comment.status == CommentStatus.auto_rejected  # same IP, another e-mail
        assert "ip" in comment.analysis["decision"]["reason"]


def test_the_pane_after_a_ban_shows_the_comment_rejected(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """In the workspace (htmx) the card comes back at once: with the comment the ban has
    just rejected shown as rejected (not still pending with its decision buttons), and the
    notice that the author is banned."""
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Nhà cái uy tín, nạp 100k tặng 200k")
    c = app.test_client()
    login(c, "bientap_a")
    token = _card_token(c, cid)
    r = c.post(f"/review/{cid}/ban", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "email": "1", "duration": "30d", "reject_pending": "1"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert _status(sessions, cid) == CommentStatus.rejected
    assert "data-author-banned" in html and "còn 30 ngày" in html
    assert "data-approve" not in html  # no decision buttons on a decided comment
    head = html[:html.index("data-author-banned")]
    assert 'data-status="rejected"' in head and 'data-status="pending"' not in head
