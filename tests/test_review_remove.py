"""Removing a published comment from the review card: reason required, audited, listed under
"Removed", undoable (the text that was published comes back), scoped like every decision;
with a webhook, the event is written and queued on the `webhooks` queue after the commit."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from service.storage import Comment, CommentStatus, ModerationAction, Site, WebhookDelivery
from tests.helpers import set_settings
from tests.test_review import _card_token, csrf, login, post_comment, ui  # noqa: F401


def listed(c, tab: str) -> set[int]:  # noqa: ANN001
    html = c.get(f"/review?tab={tab}").get_data(as_text=True)
    return {int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)}


def test_remove_and_undo_from_the_card(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Bai viet nay rat hay, cam on tac gia")
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get(f"/review/{cid}").get_data(as_text=True)
    assert "data-remove" not in html  # pending: nothing to take down
    r = c.post(f"/review/{cid}/remove", data={"csrf_token": csrf(html), "reason": "spam"})
    assert r.status_code == 303  # refused, and said so on the card
    assert "Chỉ gỡ được bình luận đã đăng" in c.get(r.headers["Location"]).get_data(as_text=True)
    edited = "Bài viết này rất hay, cảm ơn tác giả"
    c.post(f"/review/{cid}/approve", data={"csrf_token": csrf(html), "body": edited})

    html = c.get(f"/review/{cid}").get_data(as_text=True)
    assert "data-remove" in html and "Gỡ bình luận" in html and "Tác giả yêu cầu" in html
    token = csrf(html)
    assert c.post(f"/review/{cid}/remove", data={"reason": "spam"}).status_code == 400  # CSRF
    r = c.post(f"/review/{cid}/remove", data={"csrf_token": token, "reason": "nope"})
    assert r.status_code == 303
    r = c.post(f"/review/{cid}/remove", data={"csrf_token": token, "reason": "offensive",
                                              "note": "độc giả phản ánh"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/review?c={cid}")
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert comment.status == CommentStatus.removed
        assert comment.body_published == edited  # kept for an undo; readers no longer get it
        last = s.scalars(select(ModerationAction).where(ModerationAction.comment_id == cid)
                         .order_by(ModerationAction.id.desc())).first()
        assert (last.from_status, last.to_status, last.reason, last.actor) == (
            "approved", "removed", "offensive: độc giả phản ánh", "bientap_a")
    assert listed(c, "removed") == {cid}
    assert listed(c, "approved") == set()
    # Removing twice is refused; undo publishes the same text again.
    token = _card_token(c, cid)
    r = c.post(f"/review/{cid}/remove", data={"csrf_token": token, "reason": "spam"})
    assert r.status_code == 303
    c.post(f"/review/{cid}/undo", data={"csrf_token": token})
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert (comment.status, comment.body_published) == (CommentStatus.approved, edited)


def test_auto_approved_comment_removed_and_restored(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_id, key = keys["a"]
    set_settings(sessions, site_id, premoderation=False)
    resources.forget_cached()
    cid = post_comment(app, key, resources, "Bài viết rất hay, cảm ơn tác giả nhiều")
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.auto_approved
    c = app.test_client()
    login(c, "bientap_a")
    token = _card_token(c, cid)
    c.post(f"/review/{cid}/remove", data={"csrf_token": token, "reason": "author_request"})
    c.post(f"/review/{cid}/undo", data={"csrf_token": token})
    with sessions() as s:
        comment = s.get(Comment, cid)
        assert comment.status == CommentStatus.auto_approved
        assert comment.body_published == "Bài viết rất hay, cảm ơn tác giả nhiều"


def test_remove_is_scoped_to_the_moderators_sites(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    theirs = post_comment(app, keys["b"][1], resources, "Ý kiến trên báo B")
    admin = app.test_client()
    login(admin, "quantri")
    admin.post(f"/review/{theirs}/approve", data={"csrf_token": _card_token(admin, theirs)})
    c = app.test_client()
    login(c, "bientap_a")
    token = csrf(c.get("/review").get_data(as_text=True))
    r = c.post(f"/review/{theirs}/remove", data={"csrf_token": token, "reason": "spam"})
    assert r.status_code == 404
    with sessions() as s:
        assert s.get(Comment, theirs).status == CommentStatus.approved


def test_remove_queues_the_webhook_after_the_commit(ui, resources, sessions,  # noqa: ANN001, F811
                                                    redis_client) -> None:
    app, keys = ui
    site_id, key = keys["a"]
    set_settings(sessions, site_id, webhook_url="https://baothu.vn/hooks/vimod",
                 webhook_secret="vmw_thử")
    cid = post_comment(app, key, resources, "Đường Lê Lợi ngập nặng sau mưa")
    c = app.test_client()
    login(c, "bientap_a")
    c.post(f"/review/{cid}/approve", data={"csrf_token": _card_token(c, cid)})
    c.post(f"/review/{cid}/remove", data={"csrf_token": _card_token(c, cid), "reason": "legal"})
    with sessions() as s:
        rows = list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        assert s.get(Site, site_id).settings["webhook_url"]
    assert [(d.event, d.comment_id) for d in rows] == [("comment.approved", cid),
                                                      ("comment.removed", cid)]
    # The web side published both to the `webhooks` queue (real Redis), by task name.
    queued = [json.loads(m) for m in redis_client.lrange("webhooks", 0, -1)]
    assert sorted(m["headers"]["task"] for m in queued) == ["vimod.deliver_webhook"] * 2
    assert sorted(m["headers"]["argsrepr"] for m in queued) == sorted(
        f"[{d.id}]" for d in rows)
