"""Webhooks without Celery: signing and the documented verifiers, the outbox rows written with
decisions (human and automatic), the payload, and one delivery attempt at a time against a
real HTTP receiver (claims, retries with backoff, failure, redirects, timeouts). The worker
process is in tests/test_webhooks_end_to_end.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from service import moderation
from service.accounts import create_user, rotate_webhook_secret
from service.config import Settings
from service.storage import (
    Comment,
    CommentStatus,
    Site,
    WebhookAttempt,
    WebhookDelivery,
)
from service.storage.tables import utcnow
from service.webhook_signing import encode_body, signature, signed_headers, verify
from service.webhooks import add_ping, add_redelivery
from tests.helpers import headers, payload, set_settings
from tests.webhook_receiver import documented_block, documented_python_verifier, receiver
from workers.tasks import process_comment_now, process_comments_now
from workers.webhooks import Policy, deliver_now, find_overdue, prune_finished

SECRET = "vmw_bí-mật-thử"
FAST = Policy(backoff_seconds=0.01, backoff_max_seconds=0.02, max_attempts=3,
              timeout_seconds=2)


# --- signatures ----------------------------------------------------------------------------

def test_sign_and_verify() -> None:
    body = encode_body({"event": "comment.approved", "comment": {"body": "Hòa bình"}})
    assert "Hòa bình".encode() in body  # UTF-8, not \\u escapes: what is signed is what is sent
    h = signed_headers(SECRET, "comment.approved", 7, body, now=1_800_000_000)
    assert h["X-Vimod-Timestamp"] == "1800000000" and h["X-Vimod-Delivery"] == "7"
    assert h["X-Vimod-Signature"] == signature(SECRET, 1_800_000_000, body)
    assert h["X-Vimod-Signature"].startswith("sha256=") and len(h["X-Vimod-Signature"]) == 71
    ts, sig = h["X-Vimod-Timestamp"], h["X-Vimod-Signature"]
    assert verify(SECRET, body, ts, sig, now=1_800_000_100)
    assert not verify(SECRET, body + b" ", ts, sig, now=1_800_000_100)  # body changed
    assert not verify("other", body, ts, sig, now=1_800_000_100)  # wrong secret
    assert not verify(SECRET, body, "1800000001", sig, now=1_800_000_100)  # timestamp changed
    assert not verify(SECRET, body, ts, sig, now=1_800_000_000 + 301)  # too old: a replay
    assert not verify(SECRET, body, "", sig) and not verify(SECRET, body, "１２", sig)


def test_documented_python_snippet_verifies_what_vimod_signs() -> None:
    verify_doc = documented_python_verifier()
    body = encode_body({"event": "ping", "delivery_id": 1, "message": "Xin chào"})
    h = signed_headers(SECRET, "ping", 1, body)
    assert verify_doc(SECRET, body, h["X-Vimod-Timestamp"], h["X-Vimod-Signature"])
    assert not verify_doc(SECRET, body.replace(b"1", b"2"), h["X-Vimod-Timestamp"],
                          h["X-Vimod-Signature"])
    assert not verify_doc("sai", body, h["X-Vimod-Timestamp"], h["X-Vimod-Signature"])
    old = signed_headers(SECRET, "ping", 1, body, now=time.time() - 600)
    assert not verify_doc(SECRET, body, old["X-Vimod-Timestamp"], old["X-Vimod-Signature"])
    assert not verify_doc(SECRET, body, "abc", h["X-Vimod-Signature"])


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_documented_node_snippet_verifies_what_vimod_signs(tmp_path) -> None:  # noqa: ANN001
    body = encode_body({"event": "ping", "message": "Bình luận của bạn"})
    good = signed_headers(SECRET, "ping", 3, body)
    old = signed_headers(SECRET, "ping", 3, body, now=time.time() - 600)
    (tmp_path / "verify.js").write_text(documented_block("js"), encoding="utf-8")
    (tmp_path / "body.bin").write_bytes(body)
    script = f"""
const {{ verifyVimodWebhook }} = require({json.dumps(str(tmp_path / "verify.js"))});
const body = require("fs").readFileSync({json.dumps(str(tmp_path / "body.bin"))});
const cases = {json.dumps([[SECRET, good["X-Vimod-Timestamp"], good["X-Vimod-Signature"]],
                          ["sai", good["X-Vimod-Timestamp"], good["X-Vimod-Signature"]],
                          [SECRET, old["X-Vimod-Timestamp"], old["X-Vimod-Signature"]]])};
console.log(JSON.stringify(cases.map(([s, t, g]) => verifyVimodWebhook(s, body, t, g))));
console.log(JSON.stringify(verifyVimodWebhook(cases[0][0], Buffer.concat([body, Buffer.from(" ")]),
                                              cases[0][1], cases[0][2])));
"""
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30,
                         check=True).stdout.split()
    assert out == ["[true,false,false]", "false"]


# --- the outbox ----------------------------------------------------------------------------

@pytest.fixture
def hooked(sessions, site):  # noqa: ANN001, ANN201
    """The test site with a webhook (URL on a closed port until a test points it at its
    receiver) and a moderator: (site_id, api_key, moderator id)."""
    site_id, key = site
    with sessions() as s:
        row = s.get(Site, site_id)
        rotate_webhook_secret(row)
        row.settings = {**row.settings, "webhook_secret": SECRET,
                        "webhook_url": "http://127.0.0.1:9/closed"}
        user, _ = create_user(s, "bientap", "moderator", "mật-khẩu-thử-123", [site_id])
        s.commit()
        return site_id, key, user.id


def submit(client, key: str, resources, **changes) -> int:  # noqa: ANN001
    r = client.post("/api/v1/comments", json=payload(**changes), headers=headers(key))
    assert r.status_code == 202, r.json
    process_comment_now(resources, r.json["id"])
    return r.json["id"]


def decide(sessions, action: str, comment_id: int, *args: object, **kwargs: object) -> None:  # noqa: ANN001
    """One moderator action in its own session (as one request would)."""
    with sessions() as s:
        getattr(moderation, action)(s, s.get(Comment, comment_id), *args, **kwargs)


def deliveries(sessions) -> list[WebhookDelivery]:  # noqa: ANN001
    with sessions() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_decisions_write_outbox_rows_with_a_safe_payload(hooked, client, resources,  # noqa: ANN001
                                                         sessions) -> None:
    _, key, uid = hooked
    cid = submit(client, key, resources, body="Bai viet rat hay, cam on tac gia",
                 **{"client.ip": "113.161.1.1", "client.user_agent": "Mozilla/5.0 (Thử)",
                    "author.email": "lan.nguyen@example.vn", "article.id": "tin-42"})
    assert deliveries(sessions) == []  # joining the queue is not a decision
    decide(sessions, "approve", cid, uid, "bientap", edited_body="Bài viết rất hay, cảm ơn tác giả")
    [row] = deliveries(sessions)
    assert (row.event, row.status, row.attempts, row.comment_id) == (
        "comment.approved", "pending", 0, cid)
    p = row.payload
    assert p["delivery_id"] == row.id and p["event"] == "comment.approved"
    assert p["automatic"] is False and p["undo"] is False and p["site_id"] == hooked[0]
    assert p["comment"] == {
        "id": cid, "article": {"id": "tin-42"}, "parent_id": None, "status": "approved",
        "previous_status": "pending", "author_name": "Nguyễn Thị Lan",
        "body": "Bài viết rất hay, cảm ơn tác giả", "decided_at": p["comment"]["decided_at"],
        "reason": "edited"}
    assert p["comment"]["decided_at"] == p["created_at"]
    sent = encode_body(p).decode()
    for private in ("lan.nguyen@example.vn", "example.vn", "113.161.1.1", "Mozilla",
                    "client_ip", "email", "user_agent"):
        assert private not in sent, private


def test_every_kind_of_decision_has_its_event(hooked, client, resources, sessions) -> None:  # noqa: ANN001
    _, key, uid = hooked
    a = submit(client, key, resources, body="Ý kiến thứ nhất về giao thông")
    b = submit(client, key, resources, body="Ý kiến thứ hai về giáo dục")
    decide(sessions, "reject", a, uid, "bientap", "spam", "ghi chú nội bộ")
    decide(sessions, "undo", a, uid, "bientap")
    decide(sessions, "approve", b, uid, "bientap")
    decide(sessions, "remove", b, uid, "bientap", "legal", "công văn số 12")
    decide(sessions, "undo", b, uid, "bientap")
    got = [(d.comment_id, d.event, d.payload["comment"]["status"], d.payload["comment"]["reason"],
            d.payload["undo"], d.payload["comment"]["body"]) for d in deliveries(sessions)]
    assert got == [
        (a, "comment.rejected", "rejected", "spam", False, None),
        (a, "comment.reopened", "pending", "undo", True, None),
        (b, "comment.approved", "approved", None, False, "Ý kiến thứ hai về giáo dục"),
        (b, "comment.removed", "removed", "legal", False, None),
        (b, "comment.approved", "approved", "undo", True, "Ý kiến thứ hai về giáo dục"),
    ]
    assert all("ghi chú" not in json.dumps(d.payload) and "công văn" not in json.dumps(d.payload)
               for d in deliveries(sessions))  # moderators' notes stay inside


def test_no_webhook_url_no_row(site, client, resources, sessions) -> None:  # noqa: ANN001
    site_id, key = site
    with sessions() as s:
        rotate_webhook_secret(s.get(Site, site_id))  # a secret alone sends nothing
        uid = create_user(s, "bientap", "moderator", "mật-khẩu-thử-123", [site_id])[0].id
        s.commit()
    cid = submit(client, key, resources, body="Cảm ơn bài viết")
    decide(sessions, "approve", cid, uid, "bientap")
    with sessions() as s:
        assert s.get(Comment, cid).status == CommentStatus.approved
    set_settings(sessions, site_id, premoderation=False)
    auto = submit(client, key, resources, body="Bài viết rất hay, cảm ơn tác giả nhiều")
    with sessions() as s:
        assert s.get(Comment, auto).status == CommentStatus.auto_approved
    assert deliveries(sessions) == []


def test_a_failed_decision_leaves_no_outbox_row(hooked, client, resources, sessions) -> None:  # noqa: ANN001
    _, key, uid = hooked
    cid = submit(client, key, resources, body="Đường Lê Lợi ngập nặng sau mưa")
    # Lost race: another moderator decided first.
    with sessions() as first, sessions() as second:
        mine, theirs = first.get(Comment, cid), second.get(Comment, cid)
        moderation.reject(second, theirs, uid, "bientap", "spam")
        with pytest.raises(moderation.ModerationError):
            moderation.approve(first, mine, uid, "bientap")
    assert [d.event for d in deliveries(sessions)] == ["comment.rejected"]
    # The transaction fails after the outbox row was flushed (its audit row names a user that
    # does not exist): the decision and its event go together.
    other = submit(client, key, resources, body="Ý kiến khác về Lê Lợi")
    with pytest.raises(IntegrityError):
        decide(sessions, "approve", other, 987654, "ma")
    with sessions() as s:
        assert s.get(Comment, other).status == CommentStatus.pending
    assert [d.comment_id for d in deliveries(sessions)] == [cid]


def test_automatic_decisions_send_with_automatic_true(hooked, client, resources,  # noqa: ANN001
                                                      sessions) -> None:
    site_id, key, _ = hooked
    set_settings(sessions, site_id, premoderation=False, diacritics_policy="reject")
    ids = []
    for body in ("Bài viết rất hay, cảm ơn tác giả nhiều", "Bai viet nay rat hay cam on tac gia",
                 "Vay tiền nhanh, ib zalo 0912 345 678"):
        r = client.post("/api/v1/comments", json=payload(body=body), headers=headers(key))
        ids.append(r.json["id"])
    sent: list[list[int]] = []
    statuses = process_comments_now(resources, ids, send_webhooks=sent.append)
    assert [statuses[i] for i in ids] == ["auto_approved", "auto_rejected", "pending"]
    rows = deliveries(sessions)
    assert sent == [[d.id for d in rows]]  # after the commit, the ids of what was written
    assert [(d.comment_id, d.event) for d in rows] == [
        (ids[0], "comment.approved"), (ids[1], "comment.rejected")]
    assert all(d.payload["automatic"] for d in rows)
    assert rows[0].payload["comment"]["body"] == "Bài viết rất hay, cảm ơn tác giả nhiều"
    assert rows[0].payload["comment"]["reason"] == "policy"
    assert rows[1].payload["comment"]["reason"] == "diacritics"
    assert rows[0].payload["comment"]["article"] == {"id": "tin-123"}
    # Processing again writes nothing more.
    assert process_comments_now(resources, ids, send_webhooks=sent.append)
    assert len(deliveries(sessions)) == 2 and len(sent) == 1


# --- one attempt at a time, against a real receiver ----------------------------------------

def point_at(sessions, site_id: int, url: str) -> None:  # noqa: ANN001
    set_settings(sessions, site_id, webhook_url=url)


def a_delivery(sessions, site_id: int) -> int:  # noqa: ANN001
    with sessions() as s:
        row = add_ping(s, s.get(Site, site_id))
        s.commit()
        return row.id


def attempts(sessions, delivery_id: int) -> list[WebhookAttempt]:  # noqa: ANN001
    with sessions() as s:
        return list(s.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)))


def test_retries_until_the_receiver_accepts_then_never_again(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    with receiver(SECRET, script=[500, 503]) as rx:
        point_at(sessions, site_id, rx.url)
        did = a_delivery(sessions, site_id)
        results = []
        for _ in range(3):
            results.append(deliver_now(sessions, did, FAST))
            time.sleep(0.03)  # the backoff
        assert [r.outcome for r in results] == ["retry", "retry", "delivered"]
        assert [r.retry_in for r in results] == [0.01, 0.02, None]  # doubling, capped
        # Delivered: another copy of the message sends nothing.
        assert deliver_now(sessions, did, FAST).outcome == "skipped"
        assert [r.answered for r in rx.requests] == [500, 503, 200]
        assert len(rx.accepted()) == 1 and all(r.verified for r in rx.requests)
        got = rx.accepted()[0]
        assert got.header("X-Vimod-Event") == "ping" and got.header("X-Vimod-Delivery") == str(did)
        assert got.header("User-Agent") == "vimod-webhooks/1"
        assert got.event["delivery_id"] == did and got.event["test"] is True
    with sessions() as s:
        row = s.get(WebhookDelivery, did)
        assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
            "delivered", 3, None, None)
        assert row.delivered_at is not None
    logged = attempts(sessions, did)
    assert [(a.status_code, a.error) for a in logged] == [
        (500, "HTTP 500"), (503, "HTTP 503"), (200, None)]
    assert all(a.duration_ms >= 0 for a in logged)


def test_gives_up_after_max_attempts(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked  # the URL is a closed port: connection refused
    did = a_delivery(sessions, site_id)
    outcomes = []
    for _ in range(4):
        outcomes.append(deliver_now(sessions, did, FAST).outcome)
        time.sleep(0.03)
    assert outcomes == ["retry", "retry", "failed", "skipped"]
    with sessions() as s:
        row = s.get(WebhookDelivery, did)
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
        assert row.last_error.startswith("connection failed")
    assert [a.status_code for a in attempts(sessions, did)] == [None, None, None]


def test_not_due_yet_is_left_alone(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    did = a_delivery(sessions, site_id)
    slow = Policy(backoff_seconds=600, max_attempts=3, timeout_seconds=2)
    assert deliver_now(sessions, did, slow).outcome == "retry"
    assert deliver_now(sessions, did, slow).outcome == "skipped"  # a stale duplicate message
    assert len(attempts(sessions, did)) == 1
    # Due in a moment (another copy of the message, a clock ahead): put back until then.
    soon = Policy(backoff_seconds=1.5, max_attempts=3, timeout_seconds=2)
    other = a_delivery(sessions, site_id)
    assert deliver_now(sessions, other, soon).outcome == "retry"
    early = deliver_now(sessions, other, soon)
    assert early.outcome == "early" and 0.5 < early.retry_in <= 1.5
    assert len(attempts(sessions, other)) == 1
    time.sleep(early.retry_in)
    assert deliver_now(sessions, other, soon).outcome == "retry"
    assert len(attempts(sessions, other)) == 2


def test_two_copies_of_the_message_send_once(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    with receiver(SECRET, delay=0.5) as rx:
        point_at(sessions, site_id, rx.url)
        did = a_delivery(sessions, site_id)
        results: list[str] = []
        threads = [threading.Thread(target=lambda: results.append(
            deliver_now(sessions, did, FAST).outcome)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["delivered", "skipped"]
        assert len(rx.requests) == 1


def test_redirects_are_not_followed_and_slow_receivers_time_out(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    with receiver(SECRET, script=[302]) as rx:
        point_at(sessions, site_id, rx.url)
        did = a_delivery(sessions, site_id)
        assert deliver_now(sessions, did, FAST).outcome == "retry"
        assert len(rx.requests) == 1
    assert attempts(sessions, did)[0].error == "HTTP 302"
    with receiver(SECRET, delay=1.5) as rx:
        point_at(sessions, site_id, rx.url)
        did = a_delivery(sessions, site_id)
        quick = Policy(backoff_seconds=0.01, max_attempts=3, timeout_seconds=0.5)
        assert deliver_now(sessions, did, quick).outcome == "retry"
    [attempt] = attempts(sessions, did)
    assert attempt.error == "timed out after 0.5 s" and 400 <= attempt.duration_ms < 1400


def test_no_secret_is_a_logged_failure(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    with sessions() as s:
        row = s.get(Site, site_id)
        row.settings = {k: v for k, v in row.settings.items() if k != "webhook_secret"}
        s.commit()
    did = a_delivery(sessions, site_id)
    assert deliver_now(sessions, did, FAST).outcome == "retry"
    assert "no webhook secret" in attempts(sessions, did)[0].error


def test_redelivery_is_a_new_row_with_the_same_event(hooked, client, resources,  # noqa: ANN001
                                                     sessions) -> None:
    _, key, uid = hooked
    cid = submit(client, key, resources, body="Cần làm rõ trách nhiệm")
    decide(sessions, "approve", cid, uid, "bientap")
    [first] = deliveries(sessions)
    with sessions() as s:
        copy = add_redelivery(s, s.get(WebhookDelivery, first.id))
        s.commit()
    assert copy.id != first.id and copy.redelivery_of == first.id
    assert copy.payload == {**first.payload, "delivery_id": copy.id, "redelivery_of": first.id}


def test_sweep_finds_overdue_pending_deliveries_only(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    overdue, recent, done = (a_delivery(sessions, site_id) for _ in range(3))
    with sessions() as s:
        s.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_([overdue, done]))
                  .values(next_attempt_at=utcnow() - timedelta(minutes=5)))
        s.execute(update(WebhookDelivery).where(WebhookDelivery.id == done)
                  .values(status="delivered"))
        s.commit()
        assert find_overdue(s, timedelta(seconds=60)) == [overdue]
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 3


def test_finished_deliveries_are_pruned_after_the_keep_time(hooked, sessions) -> None:  # noqa: ANN001
    site_id, _, _ = hooked
    old_done, old_failed, old_pending, new_done = (a_delivery(sessions, site_id)
                                                   for _ in range(4))
    assert deliver_now(sessions, old_done, FAST).outcome in ("retry", "failed")  # an attempt
    with sessions() as s:
        s.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_([old_done, new_done]))
                  .values(status="delivered"))
        s.execute(update(WebhookDelivery).where(WebhookDelivery.id == old_failed)
                  .values(status="failed"))
        s.execute(update(WebhookDelivery)
                  .where(WebhookDelivery.id.in_([old_done, old_failed, old_pending]))
                  .values(created_at=utcnow() - timedelta(days=31)))
        s.commit()
        copy = add_redelivery(s, s.get(WebhookDelivery, old_done))
        s.commit()
        assert prune_finished(s, timedelta(days=30)) == 2
        left = set(s.scalars(select(WebhookDelivery.id)))
        assert left == {old_pending, new_done, copy.id}  # a pending one is never dropped
        assert s.get(WebhookDelivery, copy.id).redelivery_of is None
        assert s.scalar(select(func.count()).select_from(WebhookAttempt)
                        .where(WebhookAttempt.delivery_id == old_done)) == 0


def test_backoff_and_settings_from_the_environment(monkeypatch) -> None:  # noqa: ANN001
    policy = Policy()
    assert [policy.backoff(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]
    for name, value in {"VIMOD_WEBHOOK_BACKOFF_SECONDS": "0.5",
                        "VIMOD_WEBHOOK_BACKOFF_MAX_SECONDS": "4",
                        "VIMOD_WEBHOOK_MAX_ATTEMPTS": "5", "VIMOD_WEBHOOK_TIMEOUT_SECONDS": "3",
                        "VIMOD_WEBHOOK_SWEEP_AFTER": "7"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(instance="/tmp/vimod-test-instance", secret_key="x")
    policy = Policy.from_settings(settings)
    assert policy == Policy(backoff_seconds=0.5, backoff_max_seconds=4, max_attempts=5,
                            timeout_seconds=3)
    assert settings.webhook_sweep_after_seconds == 7
    assert [policy.backoff(n) for n in range(1, 5)] == [0.5, 1, 2, 4]
    monkeypatch.setenv("VIMOD_WEBHOOK_BACKOFF_SECONDS", "-1")
    with pytest.raises(SystemExit):
        Settings.from_env(instance="/tmp/vimod-test-instance", secret_key="x")
