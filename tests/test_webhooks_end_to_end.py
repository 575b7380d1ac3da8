"""Webhooks end to end with real processes: Celery workers (queue `webhooks`; each keeps the
sweeps' clock) started as subprocesses, the test's Redis and database, and a real HTTP
receiver that checks every signature with the snippet of docs/webhooks.md."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from service import moderation
from service.accounts import create_user
from service.storage import Comment, CommentStatus, WebhookAttempt, WebhookDelivery
from tests.celery_processes import CeleryProcesses
from tests.helpers import headers, payload, set_settings
from tests.test_end_to_end import wait_for_status
from tests.test_review import _card_token, login, post_comment, ui  # noqa: F401
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.e2e
SECRET = "vmw_e2e-bí-mật"
BACKOFF = 0.4


@pytest.fixture
def start(settings) -> Iterator[Callable[..., subprocess.Popen]]:  # noqa: ANN001
    """Start `celery worker -Q <queues>` with a tiny webhook backoff."""
    processes = CeleryProcesses(
        settings, VIMOD_WEBHOOK_BACKOFF_SECONDS=str(BACKOFF), VIMOD_WEBHOOK_MAX_ATTEMPTS="5",
        VIMOD_WEBHOOK_SWEEP_AFTER="1", VIMOD_WEBHOOK_TIMEOUT_SECONDS="5")

    def _start(kind: str, queues: str = "webhooks") -> subprocess.Popen:
        return processes.start(kind, queues)

    yield _start
    processes.stop()


def delivery_of(sessions, comment_id: int) -> WebhookDelivery:  # noqa: ANN001
    with sessions() as s:
        return s.scalars(select(WebhookDelivery).where(
            WebhookDelivery.comment_id == comment_id)).one()


def test_receiver_failing_twice_gets_the_event_once(ui, resources, sessions,  # noqa: ANN001, F811
                                                    start) -> None:
    app, keys = ui
    site_id, key = keys["a"]
    with receiver(SECRET, script=[500, 500]) as rx:
        set_settings(sessions, site_id, webhook_url=rx.url, webhook_secret=SECRET)
        cid = post_comment(app, key, resources, "Mong tỉnh sớm sửa con đường Lê Lợi")
        moderator = app.test_client()
        login(moderator, "bientap_a")
        r = moderator.post(f"/review/{cid}/approve",
                           data={"csrf_token": _card_token(moderator, cid)})
        assert r.status_code == 303
        start("worker")  # its sweep (every second) must not send a delivered event again
        rx.wait_for(lambda x: len(x.accepted()) == 1)
        time.sleep(8 * BACKOFF + 2)  # room for any wrong repeat (retry or sweep) to show up
        with rx.lock:
            got = list(rx.requests)
    assert [r.answered for r in got] == [500, 500, 200]
    assert all(r.verified for r in got)  # by the documented snippet, every time
    event = got[-1].event
    assert (event["event"], event["comment"]["id"], event["comment"]["status"]) == (
        "comment.approved", cid, "approved")
    assert event["comment"]["body"] == "Mong tỉnh sớm sửa con đường Lê Lợi"
    assert got[-1].header("X-Vimod-Event") == "comment.approved"
    # Exponential backoff between the attempts: ≥ BACKOFF, then ≥ 2·BACKOFF.
    gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert gaps[0] >= BACKOFF * 0.9 and gaps[1] >= 2 * BACKOFF * 0.9, gaps
    row = delivery_of(sessions, cid)
    assert (row.status, row.attempts) == ("delivered", 3)
    with sessions() as s:
        logged = list(s.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id == row.id).order_by(WebhookAttempt.id)))
    assert [(a.status_code, a.error) for a in logged] == [
        (500, "HTTP 500"), (500, "HTTP 500"), (200, None)]


def test_automatic_decisions_and_lost_messages_are_delivered(client, site, sessions,  # noqa: ANN001
                                                             redis_client, start) -> None:
    site_id, key = site
    with receiver(SECRET) as rx:
        set_settings(sessions, site_id, webhook_url=rx.url, webhook_secret=SECRET,
                     premoderation=False)
        start("worker", "moderation,maintenance,webhooks")
        auto = client.post("/api/v1/comments", headers=headers(key), json=payload(
            body="Bài viết rất hay, cảm ơn tác giả nhiều")).json["id"]
        wait_for_status(sessions, auto, CommentStatus.auto_approved)
        rx.wait_for(lambda x: len(x.accepted()) == 1)
        # A decision whose message never reaches the broker (made outside a web request:
        # nothing is queued): the webhook sweep finds the overdue row and a worker sends it.
        held = client.post("/api/v1/comments", headers=headers(key), json=payload(
            body="Vay tiền nhanh, ib zalo 0912 345 678")).json["id"]
        wait_for_status(sessions, held, CommentStatus.pending)
        with sessions() as s:
            uid = create_user(s, "bientap", "moderator", "mật-khẩu-thử-123", [site_id])[0].id
            s.commit()
            moderation.reject(s, s.get(Comment, held), uid, "bientap", "spam")
        rx.wait_for(lambda x: len(x.accepted()) == 2)
        with rx.lock:
            events = [r.event for r in rx.accepted()]
    assert [(e["event"], e["comment"]["id"], e["automatic"]) for e in events] == [
        ("comment.approved", auto, True), ("comment.rejected", held, False)]
    assert delivery_of(sessions, held).status == "delivered"
