"""Claims (#16 defect 5): the card and the list name who holds a comment and since when;
a decision, a release or a take-over ends a claim; the rules of the take-over, audited.
Idleness is written into the claim's heartbeat in Redis (no sleeping)."""

from __future__ import annotations

import json
import re

import redis
from sqlalchemy import select

from service.storage import AuditEntry, Comment, CommentStatus
from tests.test_review import csrf, login, post_comment, ui  # noqa: F401 - the ui fixture


def _key(cid: int) -> str:
    return f"vimod:claim:{cid}"


def _claim(app, cid: int) -> dict | None:  # noqa: ANN001
    raw = app.extensions["vimod.redis"].get(_key(cid))
    return json.loads(raw) if raw else None


def _go_idle(app, cid: int, seconds: int = 300) -> None:  # noqa: ANN001
    """The holder's card has sent no heartbeat for `seconds`."""
    r = app.extensions["vimod.redis"]
    value = json.loads(r.get(_key(cid)))
    value["h"] -= seconds
    r.set(_key(cid), json.dumps(value), ex=120)


def _token(html: str) -> str:
    return re.search(r'data-claim-token="([^"]+)"', html).group(1)


def _two(app, second: str = "bientap_a2"):  # noqa: ANN001, ANN202
    first, other = app.test_client(), app.test_client()
    login(first, "bientap_a")
    login(other, second)
    return first, other


def test_holder_named_on_card_and_row(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, second = _two(app)
    first.get(f"/review/{cid}")
    held = _claim(app, cid)
    assert held["n"] == "bientap_a" and held["s"] == held["h"]
    assert 0 < app.extensions["vimod.redis"].ttl(_key(cid)) <= 120
    html = second.get(f"/review/{cid}").get_data(as_text=True)
    assert "Đang được <b><bdi>bientap_a</bdi></b> xử lý từ" in html
    assert "data-approve" not in html and "data-claim-token" not in html
    row = second.get("/review").get_data(as_text=True)
    assert "<bdi>bientap_a</bdi> đang xử lý" in row
    # The holder is not told they hold it, and their card keeps the claim alive.
    mine = first.get(f"/review/{cid}").get_data(as_text=True)
    assert "data-approve" in mine and "Đang được" not in mine
    r = first.post(f"/review/{cid}/heartbeat", data={"csrf_token": csrf(mine),
                                                    "token": _token(mine)})
    assert r.status_code == 200 and r.json == {"held": True}


def test_decision_releases_the_claim(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Mong tỉnh sớm sửa con đường này ạ")
    first, second = _two(app)
    html = first.get(f"/review/{cid}").get_data(as_text=True)
    assert _claim(app, cid) is not None
    assert first.post(f"/review/{cid}/approve",
                      data={"csrf_token": csrf(html)}).status_code == 303
    assert _claim(app, cid) is None
    assert "Đang được" not in second.get(f"/review/{cid}").get_data(as_text=True)


def test_release_lets_go_of_ones_own_claim_only(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, second = _two(app)
    html = first.get(f"/review/{cid}").get_data(as_text=True)
    token = _token(html)
    other = second.get("/review").get_data(as_text=True)
    # Another moderator's release (with or without the token) leaves the claim alone.
    assert second.post(f"/review/{cid}/release", data={"csrf_token": csrf(other)}
                       ).status_code == 204
    assert second.post(f"/review/{cid}/release", data={"csrf_token": csrf(other),
                                                      "token": token}).status_code == 204
    assert _claim(app, cid)["n"] == "bientap_a"
    # A reload's late beacon (the old page's token) does not release the new page's claim.
    again = first.get(f"/review/{cid}").get_data(as_text=True)
    first.post(f"/review/{cid}/release", data={"csrf_token": csrf(html), "token": token})
    assert _claim(app, cid)["n"] == "bientap_a"
    # The page that holds it lets go; without the CSRF token nothing happens.
    assert first.post(f"/review/{cid}/release", data={"token": _token(again)}
                      ).status_code == 400
    assert _claim(app, cid) is not None
    assert first.post(f"/review/{cid}/release", data={"csrf_token": csrf(again),
                                                     "token": _token(again)}).status_code == 204
    assert _claim(app, cid) is None


def test_peer_takes_over_only_an_idle_holder(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, second = _two(app)
    first.get(f"/review/{cid}")
    html = second.get(f"/review/{cid}").get_data(as_text=True)
    assert "data-takeover" not in html
    assert "không có hoạt động trong một phút" in html
    # Still active: refused, the card says why.
    r = second.post(f"/review/{cid}/takeover", data={"csrf_token": csrf(html)})
    assert r.status_code == 303
    page = second.get(r.headers["Location"]).get_data(as_text=True)
    assert "chỉ quản trị viên" in page
    assert _claim(app, cid)["n"] == "bientap_a"
    # Idle (no heartbeat for five minutes): the peer may, with the reason in the question.
    _go_idle(app, cid)
    html = second.get(f"/review/{cid}").get_data(as_text=True)
    assert "data-takeover" in html and "Nhận xử lý thay" in html
    assert re.search(r'hx-confirm="bientap_a không có hoạt động nào với bình luận này trong 3\d\d '
                     r'giây', html)
    r = second.post(f"/review/{cid}/takeover", data={"csrf_token": csrf(html)})
    assert r.status_code == 303
    page = second.get(r.headers["Location"]).get_data(as_text=True)
    assert "nhận thay <bdi>bientap_a</bdi>" in page and "data-approve" in page
    assert _claim(app, cid)["n"] == "bientap_a2"
    with sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "claim.takeover")).one()
        assert (entry.actor, entry.target_type, entry.target_id) == ("bientap_a2", "comment",
                                                                      str(cid))
        assert entry.details["previous_holder"] == "bientap_a"
        assert entry.details["idle_seconds"] >= 300


def test_admin_takes_over_an_active_holder_who_is_told(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, admin = _two(app, "quantri")
    mine = first.get(f"/review/{cid}").get_data(as_text=True)
    html = admin.get(f"/review/{cid}").get_data(as_text=True)
    assert "data-takeover" in html
    assert "Là quản trị viên, bạn có thể nhận xử lý thay" in html
    r = admin.post(f"/review/{cid}/takeover", data={"csrf_token": csrf(html)},
                   headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.headers["HX-Push-Url"] == f"/review?c={cid}"
    body = r.get_data(as_text=True)
    assert "nhận thay <bdi>bientap_a</bdi>" in body and "data-approve" in body
    # The card's log says who took it from whom.
    assert "<bdi>quantri</bdi> nhận xử lý thay <bdi>bientap_a</bdi>" in body
    # The previous holder's next heartbeat says so (the card is then drawn again)…
    r = first.post(f"/review/{cid}/heartbeat", data={"csrf_token": csrf(mine),
                                                    "token": _token(mine)})
    assert r.json == {"held": False, "holder": "quantri"}
    page = first.get(f"/review/{cid}").get_data(as_text=True)
    assert "<bdi>quantri</bdi> đã nhận xử lý thay bình luận #" in page
    assert "Đang được <b><bdi>quantri</bdi></b> xử lý từ" in page
    # …and a decision they send anyway is refused, saying who has it now.
    r = first.post(f"/review/{cid}/approve", data={"csrf_token": csrf(mine)})
    assert r.status_code == 303
    page = first.get(r.headers["Location"]).get_data(as_text=True)
    assert "<bdi>quantri</bdi> đang xử lý bình luận này; quyết định của bạn chưa được ghi nhận" \
        in page
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.pending
        assert s.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "claim.takeover")).all() == ["quantri"]


def test_decision_after_take_over_is_refused_with_the_notice(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, admin = _two(app, "quantri")
    mine = first.get(f"/review/{cid}").get_data(as_text=True)
    html = admin.get(f"/review/{cid}").get_data(as_text=True)
    admin.post(f"/review/{cid}/takeover", data={"csrf_token": csrf(html)})
    r = first.post(f"/review/{cid}/reject", data={"csrf_token": csrf(mine), "reason": "spam"},
                   headers={"HX-Request": "true"})
    assert r.status_code == 409
    body = r.get_data(as_text=True)
    assert 'class="flash error"' in body
    assert "<bdi>quantri</bdi> đã nhận xử lý thay bình luận #" in body


def test_without_redis_everyone_may_decide(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Mong tỉnh sớm sửa con đường này ạ")
    c = app.test_client()
    login(c, "bientap_a")  # (signing in needs Redis: its throttle)
    app.extensions["vimod.redis"] = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2,
                                                socket_connect_timeout=0.2)
    html = c.get(f"/review/{cid}").get_data(as_text=True)
    assert "Đang được" not in html
    assert c.post(f"/review/{cid}/heartbeat", data={"csrf_token": csrf(html)}).json == {
        "held": True}
    assert c.post(f"/review/{cid}/approve", data={"csrf_token": csrf(html)}).status_code == 303
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.approved


def test_taken_over_notice_void_once_the_comment_is_back(ui, resources) -> None:  # noqa: ANN001, F811
    """The admin took over and left: the previous holder's card takes the comment back on
    its heartbeat, and no stale "taken over" message waits for them later."""
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    first, admin = _two(app, "quantri")
    mine = first.get(f"/review/{cid}").get_data(as_text=True)
    html = admin.get(f"/review/{cid}").get_data(as_text=True)
    admin.post(f"/review/{cid}/takeover", data={"csrf_token": csrf(html)})
    taken = admin.get(f"/review/{cid}").get_data(as_text=True)
    admin.post(f"/review/{cid}/release", data={"csrf_token": csrf(taken),
                                              "token": _token(taken)})
    assert _claim(app, cid) is None
    r = first.post(f"/review/{cid}/heartbeat", data={"csrf_token": csrf(mine),
                                                    "token": _token(mine)})
    assert r.json == {"held": True} and _claim(app, cid)["n"] == "bientap_a"
    assert app.extensions["vimod.redis"].exists(
        f"vimod:claim-lost:{cid}:{_claim(app, cid)['u']}") == 0
    # Another moderator holds it later: the refusal names them, not the old take-over.
    first.post(f"/review/{cid}/release", data={"csrf_token": csrf(mine), "token": _token(mine)})
    second = app.test_client()
    login(second, "bientap_a2")
    second.get(f"/review/{cid}")
    r = first.post(f"/review/{cid}/approve", data={"csrf_token": csrf(mine)})
    page = first.get(r.headers["Location"]).get_data(as_text=True)
    assert "<bdi>bientap_a2</bdi> đang xử lý bình luận này" in page
    assert "đã nhận xử lý thay" not in page


def test_holders_of_the_rows_shown_and_of_ones_sites_only(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    mine = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm của chủ đầu tư")
    theirs = post_comment(app, keys["b"][1], resources, "Ý kiến trên báo B về giá xăng")
    first, admin = _two(app, "quantri")
    peer = app.test_client()
    login(peer, "bientap_a2")
    admin.get(f"/review/{theirs}")  # site B: bientap_a may not even learn who holds it
    peer.get(f"/review/{mine}")
    r = first.get(f"/review/holders?ids={mine},{theirs},x,")
    assert r.status_code == 200
    assert list(r.json["held"]) == [str(mine)]
    held = r.json["held"][str(mine)]
    assert held["name"] == "bientap_a2" and held["idle"] is False
    assert "<bdi>bientap_a2</bdi> đang xử lý" in held["html"]
    _go_idle(app, mine)
    assert first.get(f"/review/holders?ids={mine}").json["held"][str(mine)]["idle"] is True
    assert peer.get(f"/review/holders?ids={mine}").json == {"held": {}}  # one's own: not busy
    assert admin.get(f"/review/holders?ids={mine},{theirs}").json["held"].keys() == {str(mine)}
