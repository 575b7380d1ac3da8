"""The admin console's webhook deliveries page: deliveries with their attempts, the failed
filter, "send again" and "send a test event" (audited, queued on the real Redis)."""

from __future__ import annotations

import json
import re
import time

from sqlalchemy import select

from service.storage import AuditEntry, Comment, Site, WebhookDelivery
from service.webhooks import add_ping
from tests.helpers import set_settings
from tests.test_review import _card_token, csrf, login, post_comment, ui  # noqa: F401
from tests.webhook_receiver import receiver
from workers.webhooks import Policy, deliver_now

SECRET = "vmw_thử-nghiệm"
FAST = Policy(backoff_seconds=0.01, backoff_max_seconds=0.02, max_attempts=2, timeout_seconds=2)


def queued(redis_client) -> list[int]:  # noqa: ANN001
    """Delivery ids waiting on the `webhooks` queue."""
    return sorted(int(json.loads(m)["headers"]["argsrepr"].strip("[]"))
                  for m in redis_client.lrange("webhooks", 0, -1))


def rows(html: str) -> dict[int, str]:
    return {int(i): status for i, status in
            re.findall(r'data-delivery="(\d+)" data-status="(\w+)"', html)}


def test_deliveries_page_attempts_filter_redeliver_and_test(ui, resources, sessions,  # noqa: ANN001, F811, PLR0915
                                                            redis_client) -> None:
    app, keys = ui
    site_id, key = keys["a"]
    other_site = keys["b"][0]
    admin = app.test_client()
    login(admin, "quantri")
    page = admin.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert f'href="/admin/sites/{site_id}/webhooks"' in page
    assert "Chưa dùng: việc gửi webhook" not in page
    html = admin.get(f"/admin/sites/{site_id}/webhooks").get_data(as_text=True)
    assert "Lượt gửi webhook" in html and "Chưa có lượt gửi nào." in html
    # Without a URL nothing can be sent.
    r = admin.post(f"/admin/sites/{site_id}/webhooks/test", data={"csrf_token": csrf(html)})
    assert r.status_code == 400

    with receiver(SECRET, script=[500]) as rx:
        set_settings(sessions, site_id, webhook_url=rx.url, webhook_secret=SECRET)
        ok = post_comment(app, key, resources, "Bài viết rất hữu ích")
        bad = post_comment(app, key, resources, "Cần làm rõ trách nhiệm")
        admin.post(f"/review/{ok}/approve", data={"csrf_token": _card_token(admin, ok)})
        admin.post(f"/review/{bad}/reject", data={"csrf_token": _card_token(admin, bad),
                                                  "reason": "spam"})
        with sessions() as s:
            first, second = (d.id for d in s.scalars(
                select(WebhookDelivery).order_by(WebhookDelivery.id)))
        assert queued(redis_client) == [first, second]  # enqueued after each commit
        # The worker's attempts (the same code the task runs), against the real receiver.
        assert deliver_now(sessions, first, FAST).outcome == "retry"  # 500
        time.sleep(0.03)
        assert deliver_now(sessions, first, FAST).outcome == "delivered"
        set_settings(sessions, site_id, webhook_url="http://127.0.0.1:9/closed")
        for _ in range(2):
            deliver_now(sessions, second, FAST)
            time.sleep(0.03)
        set_settings(sessions, site_id, webhook_url=rx.url)

    html = admin.get(f"/admin/sites/{site_id}/webhooks").get_data(as_text=True)
    assert rows(html) == {first: "delivered", second: "failed"}
    assert "HTTP 500" in html and "HTTP 200" in html and "connection failed" in html
    assert len(re.findall(r"<tr data-attempt", html)) == 4
    assert re.search(r"\d+ ms", html)
    assert f'href="/review/{ok}"' in html and "comment.approved" in html
    failed = admin.get(f"/admin/sites/{site_id}/webhooks?status=failed").get_data(as_text=True)
    assert rows(failed) == {second: "failed"}
    assert admin.get(f"/admin/sites/{site_id}/webhooks?status=nope").status_code == 404

    # Send again: a new delivery of the same event, audited and queued.
    token = csrf(failed)
    assert admin.post(f"/admin/sites/{site_id}/webhooks/{second}/redeliver",
                      data={}).status_code == 400  # no CSRF token
    r = admin.post(f"/admin/sites/{other_site}/webhooks/{second}/redeliver",
                   data={"csrf_token": token})
    assert r.status_code == 404  # another site's delivery
    redis_client.delete("webhooks")
    r = admin.post(f"/admin/sites/{site_id}/webhooks/{second}/redeliver",
                   data={"csrf_token": token, "status": "failed"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/webhooks?status=failed")
    with sessions() as s:
        copy = s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.redelivery_of == second)).one()
        assert copy.status == "pending" and copy.event == "comment.rejected"
        assert copy.payload["comment"] == s.get(WebhookDelivery, second).payload["comment"]
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "site.webhook_redeliver")).one()
        assert (entry.actor, entry.target_id, entry.details) == (
            "quantri", str(site_id),
            {"delivery": second, "redelivery": copy.id, "event": "comment.rejected"})
    assert queued(redis_client) == [copy.id]

    # A test event.
    r = admin.post(f"/admin/sites/{site_id}/webhooks/test", data={"csrf_token": token})
    assert r.status_code == 303
    with sessions() as s:
        ping = s.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "ping")).one()
        assert ping.comment_id is None and ping.payload["test"] is True
        assert s.scalars(select(AuditEntry).where(
            AuditEntry.action == "site.webhook_test")).one().details == {"delivery": ping.id}
    assert queued(redis_client) == [copy.id, ping.id]
    html = admin.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert "Đã gửi lại sự kiện webhook" in html and "Đã gửi sự kiện webhook thử" in html


def test_pages_list_only_their_sites_deliveries(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    a, b = keys["a"][0], keys["b"][0]
    with sessions() as s:
        for site_id in (a, b):
            row = s.get(Site, site_id)
            row.settings = {**row.settings, "webhook_url": "https://baothu.vn/hook"}
        ours = add_ping(s, s.get(Site, a)).id
        theirs = add_ping(s, s.get(Site, b)).id
        s.commit()
        assert s.scalar(select(Comment.id)) is None
    admin = app.test_client()
    login(admin, "quantri")
    assert set(rows(admin.get(f"/admin/sites/{a}/webhooks").get_data(as_text=True))) == {ours}
    assert set(rows(admin.get(f"/admin/sites/{b}/webhooks").get_data(as_text=True))) == {theirs}
    assert admin.get("/admin/sites/999999/webhooks").status_code == 404
    moderator = app.test_client()
    login(moderator, "bientap_a")
    assert moderator.get(f"/admin/sites/{a}/webhooks").status_code == 403
