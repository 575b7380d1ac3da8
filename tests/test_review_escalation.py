"""Escalation (issue 16): a moderator hands a pending comment to a senior editor with a note;
it leaves the Pending and Flagged tabs for "Escalated", where a senior editor (or an admin)
decides it or sends it back; a plain moderator reads it but cannot decide it. Every step is
in the audit log; undoing the decision that resolved an escalation opens it again."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from service.accounts import create_user
from service.storage import AuditEntry, Comment, CommentStatus, User
from tests.admin.test_sites_users import admin, token
from tests.test_cli import vimod
from tests.test_review import PASSWORD, csrf, login, post_comment, ui  # noqa: F401

NOTE = "Có thể vu khống một quan chức, nhờ anh xem giúp"
RLO_NOTE = "\u202enote đảo chiều"


@pytest.fixture
def world(ui, sessions):  # noqa: ANN001, ANN201, F811
    """The ui fixture, plus a senior editor of site A and one of site B."""
    app, keys = ui
    with sessions() as s:
        create_user(s, "captren_a", "senior", PASSWORD, [keys["a"][0]])
        create_user(s, "captren_b", "senior", PASSWORD, [keys["b"][0]])
        s.commit()
    return app, keys


def _client(app, username: str):  # noqa: ANN001, ANN202
    c = app.test_client()
    assert login(c, username).status_code == 302
    return c


def _token(c, cid: int) -> str:  # noqa: ANN001
    return csrf(c.get(f"/review/{cid}").get_data(as_text=True))


def _tab_ids(c, tab: str) -> list[int]:  # noqa: ANN001
    html = c.get(f"/review?tab={tab}" if tab != "pending" else "/review").get_data(as_text=True)
    return [int(i) for i in re.findall(r'<li id="row-\d+"[^>]*data-id="(\d+)"', html)]


def _counts(c) -> dict[str, int]:  # noqa: ANN001
    html = c.get("/review").get_data(as_text=True)
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def _entries(sessions, cid: int) -> list[AuditEntry]:  # noqa: ANN001
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(
            AuditEntry.target_type == "comment", AuditEntry.target_id == str(cid))
            .order_by(AuditEntry.id)))


def _escalate(c, cid: int, note: str = NOTE, tab: str | None = None):  # noqa: ANN001, ANN202
    url = f"/review/{cid}/escalate" + (f"?tab={tab}" if tab else "")
    return c.post(url, data={"csrf_token": _token(c, cid), "note": note})


def test_escalate_moves_the_comment_to_the_escalated_tab(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    key = keys["a"][1]
    first = post_comment(app, key, resources, "Ông chủ tịch xã này tham nhũng, ai cũng biết")
    other = post_comment(app, key, resources, "Mong tỉnh sớm sửa con đường này ạ")
    mod = _client(app, "bientap_a")
    before = _counts(mod)
    assert before["escalated"] == 0 and before["pending"] == 2

    r = _escalate(mod, first)
    # On to the next comment of the moderator's view, saying where the escalated one went.
    assert r.status_code == 303 and r.headers["Location"] == f"/review?c={other}"
    assert "đang chờ cấp trên" in mod.get(r.headers["Location"]).get_data(as_text=True)
    with sessions() as s:
        comment = s.get(Comment, first)
        assert comment.status == CommentStatus.pending  # still undecided
        assert comment.escalated_by == "bientap_a" and comment.escalation_note == NOTE
        assert comment.escalated_at is not None and comment.decided_at is None
    assert _tab_ids(mod, "pending") == [other]
    assert first not in _tab_ids(mod, "flagged")
    assert _tab_ids(mod, "escalated") == [first]
    after = _counts(mod)
    assert after["escalated"] == 1 and after["pending"] == 1
    # The row and the card say who escalated it and why (the note isolated as people's text).
    html = mod.get(f"/review?tab=escalated&c={first}").get_data(as_text=True)
    assert html.count(f"<bdi lang=\"vi\">{NOTE}</bdi>") == 2
    assert "<bdi>bientap_a</bdi>" in html and "Chờ cấp trên" in html
    [entry] = _entries(sessions, first)
    assert (entry.action, entry.actor, entry.details) == ("comment.escalate", "bientap_a",
                                                          {"note": NOTE})
    # Escalating twice is refused with a message on the card.
    r = _escalate(mod, first)
    assert r.status_code == 303
    assert "đang chờ biên tập viên cấp cao" in mod.get(r.headers["Location"]).get_data(
        as_text=True)
    # The live arrivals poll counts it apart too.
    counts = mod.get("/review/arrivals?since=2000-01-01T00:00:00").json["counts"]
    assert counts["escalated"] == 1 and counts["pending"] == 1
    # A flagged one leaves the Flagged tab and its count too.
    spam = post_comment(app, key, resources, "Vay tiền nhanh, ib zalo 0912 345 678")
    assert spam in _tab_ids(mod, "flagged")
    flagged = _counts(mod)["flagged"]
    _escalate(mod, spam, tab="flagged")
    assert spam not in _tab_ids(mod, "flagged") and spam not in _tab_ids(mod, "pending")
    assert _tab_ids(mod, "escalated") == [first, spam]
    assert _counts(mod) == after | {"flagged": flagged - 1, "escalated": 2}


@pytest.mark.parametrize("note", ["", "   ", RLO_NOTE, "hai\ndòng", "x" * 401])
def test_escalation_needs_a_proper_note(world, resources, sessions, note) -> None:  # noqa: ANN001
    app, keys = world
    cid = post_comment(app, keys["a"][1], resources, "Ông chủ tịch xã này tham nhũng")
    mod = _client(app, "bientap_a")
    r = _escalate(mod, cid, note)
    # The card again (a page of the app), the field named, what was typed kept.
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Ghi chú cho biên tập viên cấp cao:" in html
    assert re.search(r'id="escalation-note-\d+" name="note"[^>]*aria-invalid=true', html)
    assert "<details class=\"escalate\" data-escalate open>" in html
    with sessions() as s:
        assert s.get(Comment, cid).escalated_at is None
    assert _entries(sessions, cid) == []


def test_moderator_cannot_decide_an_escalated_comment(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    cid = post_comment(app, keys["a"][1], resources, "Ông chủ tịch xã này tham nhũng")
    mod = _client(app, "bientap_a")
    _escalate(mod, cid)
    other = _client(app, "bientap_a2")
    html = other.get(f"/review?tab=escalated&c={cid}").get_data(as_text=True)
    # Read-only: the note, no decision forms, a way back to the queue.
    assert NOTE in html and "data-read-only" in html
    assert "data-approve" not in html and "data-reasons" not in html
    assert "data-send-back" not in html
    t = csrf(html)
    for action, data in (("approve", {}), ("reject", {"reason": "spam"}),
                         ("send-back", {"note": "không phải việc của tôi"})):
        r = other.post(f"/review/{cid}/{action}?tab=escalated", data={"csrf_token": t, **data})
        assert r.status_code == 303, action
        assert r.headers["Location"] == f"/review?tab=escalated&c={cid}"
        assert "chỉ biên tập viên cấp cao hoặc quản trị viên" in other.get(
            r.headers["Location"]).get_data(as_text=True)
    # In bulk too: skipped, and counted as such.
    r = other.post("/review/bulk", data={"csrf_token": t, "action": "approve", "ids": [cid],
                                         "back": "/review?tab=escalated"})
    assert r.status_code == 303
    assert "bỏ qua 1" in other.get(r.headers["Location"]).get_data(as_text=True)
    # Over htmx: the pane with the message (not an empty 403).
    r = other.post(f"/review/{cid}/approve?tab=escalated", data={"csrf_token": t},
                   headers={"HX-Request": "true"})
    assert r.status_code == 403 and f'data-comment="{cid}"' in r.get_data(as_text=True)
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert comment.status == CommentStatus.pending and comment.escalated_at is not None
    assert [e.action for e in _entries(sessions, cid)] == ["comment.escalate"]
    # Reading it claimed nothing: the senior editor has the decision forms at once.
    html = _client(app, "captren_a").get(f"/review?tab=escalated&c={cid}").get_data(as_text=True)
    assert "data-approve" in html and "data-send-back" in html
    assert "đang được người khác xử lý" not in html


def test_senior_rejects_and_undo_reopens_the_escalation(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    cid = post_comment(app, keys["a"][1], resources, "Ông chủ tịch xã này tham nhũng")
    _escalate(_client(app, "bientap_a"), cid)
    senior = _client(app, "captren_a")
    html = senior.get(f"/review?tab=escalated&c={cid}").get_data(as_text=True)
    assert "(biên tập viên cấp cao)" in html  # the header names the role
    assert "data-approve" in html and "data-send-back" in html and NOTE in html
    r = senior.post(f"/review/{cid}/reject?tab=escalated",
                    data={"csrf_token": csrf(html), "reason": "offensive", "note": "vu khống"})
    assert r.status_code == 303 and r.headers["Location"] == "/review?tab=escalated"
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert comment.status == CommentStatus.rejected and comment.escalated_at is None
    entries = _entries(sessions, cid)
    assert [e.action for e in entries] == ["comment.escalate", "comment.escalation_resolve"]
    resolved = entries[1]
    assert resolved.actor == "captren_a" and resolved.details["decision"] == "rejected"
    assert resolved.details["reason"] == "offensive: vu khống"
    assert resolved.details["escalation"]["by"] == "bientap_a"
    assert resolved.details["escalation"]["note"] == NOTE
    assert _counts(senior)["escalated"] == 0
    # Undo: back to pending, and waiting for a senior editor again, as it was.
    r = senior.post(f"/review/{cid}/undo?tab=escalated", data={"csrf_token": _token(senior, cid)})
    assert r.status_code == 303
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert comment.status == CommentStatus.pending
        assert comment.escalated_by == "bientap_a" and comment.escalation_note == NOTE
    assert _tab_ids(senior, "escalated") == [cid]
    assert _entries(sessions, cid)[-1].action == "comment.escalation_reopen"
    # The card's log tells the whole story.
    html = senior.get(f"/review/{cid}").get_data(as_text=True)
    assert re.findall(r'data-escalation-log="([\w.]+)"', html) == [
        "comment.escalate", "comment.escalation_resolve", "comment.escalation_reopen"]


def test_admin_approves_an_escalated_comment(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    cid = post_comment(app, keys["a"][1], resources, "Ông chủ tịch xã này tham nhũng")
    _escalate(_client(app, "bientap_a"), cid)
    boss = _client(app, "quantri")
    r = boss.post(f"/review/{cid}/approve?tab=escalated", data={"csrf_token": _token(boss, cid)})
    assert r.status_code == 303
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.approved
    assert _entries(sessions, cid)[-1].details["decision"] == "approved"


def test_senior_sends_it_back_with_a_note(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    cid = post_comment(app, keys["a"][1], resources, "Ông chủ tịch xã này tham nhũng")
    _escalate(_client(app, "bientap_a"), cid)
    senior = _client(app, "captren_a")
    t = _token(senior, cid)
    r = senior.post(f"/review/{cid}/send-back?tab=escalated", data={"csrf_token": t, "note": " "})
    assert r.status_code == 422
    assert "Ghi chú cho biên tập viên:" in r.get_data(as_text=True)
    r = senior.post(f"/review/{cid}/send-back?tab=escalated",
                    data={"csrf_token": t, "note": "Không vu khống, cứ duyệt"})
    assert r.status_code == 303
    assert "đã trở lại hàng chờ" in senior.get(r.headers["Location"]).get_data(as_text=True)
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert comment.status == CommentStatus.pending and comment.escalated_at is None
        assert comment.escalated_by is None and comment.escalation_note is None
    assert _tab_ids(senior, "pending") == [cid] and _tab_ids(senior, "escalated") == []
    entry = _entries(sessions, cid)[-1]
    assert entry.action == "comment.escalation_return" and entry.actor == "captren_a"
    assert entry.details["note"] == "Không vu khống, cứ duyệt"
    assert entry.details["escalation"]["note"] == NOTE
    # Now any moderator decides it, as usual.
    mod = _client(app, "bientap_a2")
    assert mod.post(f"/review/{cid}/approve", data={"csrf_token": _token(mod, cid)}
                    ).status_code == 303
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.approved


def test_escalation_is_scoped_to_the_users_sites(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    theirs = post_comment(app, keys["b"][1], resources, "Ý kiến trên báo B về giáo dục")
    senior_b = _client(app, "captren_b")
    _escalate(senior_b, theirs)  # a senior editor escalates too (to another one, or an admin)
    mod = _client(app, "bientap_a")
    senior_a = _client(app, "captren_a")
    mine = post_comment(app, keys["a"][1], resources, "Ý kiến trên báo A")
    for c in (mod, senior_a):
        t = _token(c, mine)
        assert theirs not in _tab_ids(c, "escalated") and _counts(c)["escalated"] == 0
        for action, data in (("escalate", {"note": NOTE}), ("send-back", {"note": NOTE}),
                             ("approve", {})):
            r = c.post(f"/review/{theirs}/{action}", data={"csrf_token": t, **data})
            assert r.status_code == 404, action
    assert _tab_ids(senior_b, "escalated") == [theirs]
    with sessions() as s:
        assert s.get(Comment, theirs).escalated_by == "captren_b"


def test_only_pending_comments_are_escalated(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    cid = post_comment(app, keys["a"][1], resources, "Mong tỉnh sớm sửa con đường này ạ")
    mod = _client(app, "bientap_a")
    mod.post(f"/review/{cid}/approve", data={"csrf_token": _token(mod, cid)})
    html = mod.get(f"/review?tab=approved&c={cid}").get_data(as_text=True)
    assert "data-escalate" not in html
    r = mod.post(f"/review/{cid}/escalate?tab=approved", data={"csrf_token": csrf(html),
                                                               "note": NOTE})
    assert r.status_code == 303
    assert "Chỉ bình luận đang chờ" in mod.get(r.headers["Location"]).get_data(as_text=True)
    assert _entries(sessions, cid) == []


def test_senior_role_from_the_cli_and_the_admin_page(settings, world, sessions) -> None:  # noqa: ANN001
    app, keys = world
    result = vimod(settings, "user", "create", "bientap_cao", "--role", "senior", "--site",
                   str(keys["a"][0]), "--json", stdin="mật-khẩu-dài-123\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["role"] == "senior"
    c = admin(app)
    html = c.get("/admin/users/new").get_data(as_text=True)
    assert '<option value="senior"' in html and "Senior editor" in html
    with sessions() as s:
        uid = s.scalar(select(User.id).where(User.username == "bientap_a"))
    page = f"/admin/users/{uid}"
    r = c.post(f"{page}/access", data={"csrf_token": token(c, page), "role": "senior",
                                       "sites": [str(keys["a"][0])]})
    assert r.status_code == 303
    assert 'data-role>Senior editor<' in c.get(page).get_data(as_text=True)
    with sessions() as s:
        assert s.get(User, uid).role == "senior"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.target_id == str(uid))).all()[-1]
        assert entry.details["changes"]["role"] == {"before": "moderator", "after": "senior"}
    assert "Biên tập viên cấp cao" in _client(app, "quantri").get(
        "/admin/users").get_data(as_text=True)
    # A senior editor is no administrator.
    assert _client(app, "captren_a").get("/admin/users").status_code == 403


def test_a_ban_leaves_escalated_comments_to_the_senior_editor(world, resources, sessions) -> None:  # noqa: ANN001
    app, keys = world
    key = keys["a"][1]
    escalated, other = (post_comment(app, key, resources, f"Tin nhắn số {i}, liên hệ ngay")
                        for i in range(2))
    mod = _client(app, "bientap_a")
    _escalate(mod, escalated)
    r = mod.post(f"/review/{other}/ban", data={"csrf_token": _token(mod, other), "email": "1",
                                               "reject_pending": "1"})
    assert r.status_code == 303
    with sessions() as s:
        assert s.get(Comment, other).status == CommentStatus.rejected
        waiting = s.get(Comment, escalated)
        assert waiting.status == CommentStatus.pending and waiting.escalated_at is not None
