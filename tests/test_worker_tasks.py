"""The worker's task logic against a real database (no Celery here: the pipeline is plain code)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import select, update

from service.queueing import (
    QUEUE_MODERATION,
    RECEIVED_BATCH,
    RECEIVED_KEY,
    TASK_PROCESS_COMMENT,
    TASK_PROCESS_RECEIVED,
)
from service.storage import Comment, CommentStatus, ModerationAction, Site
from service.storage.tables import utcnow
from tests.helpers import VALID, headers, payload, set_settings
from workers import pipeline
from workers.pipeline import CommentContext
from workers.tasks import find_stuck, process_comment_now, process_comments_now


def submit(client, key, **changes) -> int:  # noqa: ANN001
    r = client.post("/api/v1/comments", json=payload(**changes) if changes else VALID,
                    headers=headers(key))
    assert r.status_code == 202, r.json
    return r.json["id"]


def actions(sessions, comment_id: int) -> list[ModerationAction]:  # noqa: ANN001
    with sessions() as s:
        return list(s.scalars(select(ModerationAction).where(
            ModerationAction.comment_id == comment_id)))


def test_moves_received_to_pending_with_nfc(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    nfd = "Hoa\u0300 bi\u0300nh  va\u0300   ha\u0323nh phu\u0301c"  # NFD, doubled spaces
    cid = submit(client, key, body=nfd)
    assert process_comment_now(resources, cid) == CommentStatus.pending
    with sessions() as s:
        c = s.get(Comment, cid)
        assert c.status == CommentStatus.pending
        assert c.body_original == nfd  # never overwritten
        assert c.body_normalized == "Hòa bình và hạnh phúc"
        assert c.analysed_at is not None
        assert c.analysis["flags"] == ["changed_by_normalization"]
    [audit] = actions(sessions, cid)
    assert (audit.from_status, audit.to_status) == ("received", "pending")
    assert audit.actor.startswith("system:")


def test_stores_the_classifier_certainty(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    cid = submit(client, key, body="Mong tỉnh sớm sửa con đường Lê Lợi, mùa mưa ngập lắm")
    assert process_comment_now(resources, cid) == CommentStatus.pending
    with sessions() as s:
        c = s.get(Comment, cid)
        assert c.certainty is not None and 0 <= c.certainty <= 1
        assert c.certainty == c.analysis["certainty"]
        # The column is what the queue orders by: readable from SQL, not only from JSON.
        assert s.scalar(select(Comment.certainty).where(Comment.id == cid)) == c.certainty


def test_processing_twice_changes_nothing(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    cid = submit(client, key)
    assert process_comment_now(resources, cid) == "pending"
    with sessions() as s:
        first = s.get(Comment, cid).analysed_at
    assert process_comment_now(resources, cid) == "pending"
    with sessions() as s:
        assert s.get(Comment, cid).analysed_at == first
    assert len(actions(sessions, cid)) == 1


def test_concurrent_duplicate_deliveries_write_once(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    cid = submit(client, key)
    threads = [threading.Thread(target=process_comment_now, args=(resources, cid))
               for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(actions(sessions, cid)) == 1


def test_overlapping_batches_write_each_comment_once(resources, client, site, sessions) -> None:  # noqa: ANN001, E501
    """Batches are written with one executemany; when another run got some of the batch's
    comments first, the batch falls back to row by row: still one result and one audit row
    per comment, and every comment analysed."""
    _, key = site
    ids = [submit(client, key, body=f"Ý kiến số {i}: đường sá ở phường này xuống cấp quá")
           for i in range(8)]
    batches = [ids[:5], ids[3:], ids[::2], ids[1::3], ids]
    threads = [threading.Thread(target=process_comments_now, args=(resources, batch))
               for batch in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for cid in ids:
        assert len(actions(sessions, cid)) == 1
    with sessions() as s:
        assert {s.get(Comment, cid).status for cid in ids} == {"pending"}


def test_missing_comment_is_ignored(resources, sessions) -> None:  # noqa: ANN001
    assert process_comment_now(resources, 424242) is None


def test_premoderation_off_auto_approves(resources, client, site, sessions) -> None:  # noqa: ANN001
    site_id, key = site
    with sessions() as s:
        row = s.get(Site, site_id)
        row.settings = {**row.settings, "premoderation": False}
        s.commit()
    cid = submit(client, key)
    assert process_comment_now(resources, cid) == CommentStatus.auto_approved
    with sessions() as s:
        c = s.get(Comment, cid)
        assert c.body_published == VALID["body"]
        assert c.decided_at is not None


def test_pipeline_failure_leaves_comment_for_a_moderator(resources,
    client, site, sessions, monkeypatch  # noqa: ANN001
) -> None:
    def broken(ctx: CommentContext, text: str):  # noqa: ANN202
        raise RuntimeError("model file corrupt")

    monkeypatch.setattr(pipeline.runner, "PHASES", [broken])
    _, key = site
    cid = submit(client, key)
    assert process_comment_now(resources, cid) == CommentStatus.pending
    with sessions() as s:
        c = s.get(Comment, cid)
        assert c.analysis["flags"] == ["analysis_failed"]
        assert c.certainty is None  # nothing scored: last in "least certain first"


def test_sweep_finds_only_stale_received(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    stale, fresh, done = submit(client, key), submit(client, key), submit(client, key)
    process_comment_now(resources, done)
    with sessions() as s:
        old = utcnow() - timedelta(minutes=10)
        s.execute(update(Comment).where(Comment.id.in_([stale, done])).values(enqueued_at=old))
        s.commit()
        assert find_stuck(s, timedelta(minutes=2)) == [stale]
    assert fresh  # queued recently: left to its message



def _doorbells(redis_client) -> int:  # noqa: ANN001
    return sum(json.loads(m)["headers"]["task"] == TASK_PROCESS_RECEIVED
               for m in redis_client.lrange(QUEUE_MODERATION, 0, -1))


def test_doorbell_task_takes_a_batch_and_rings_again(resources, client, site, sessions,  # noqa: ANN001
                                                     redis_client, monkeypatch) -> None:
    """What the intake queued: ids in the list and one task per RECEIVED_BATCH of them. A
    task takes one batch; with more waiting it rings again; an empty list ends it."""
    from workers import tasks

    monkeypatch.setattr(tasks, "_resources", lambda: resources)
    _, key = site
    ids = [submit(client, key, body=f"Ý kiến số {i} về dự án mở rộng đường")
           for i in range(RECEIVED_BATCH + 3)]
    assert redis_client.llen(RECEIVED_KEY) == len(ids)
    assert _doorbells(redis_client) == 2  # at 1 and at RECEIVED_BATCH waiting
    redis_client.delete(QUEUE_MODERATION)  # as if a worker had taken both messages
    assert tasks.process_received() == RECEIVED_BATCH
    assert redis_client.llen(RECEIVED_KEY) == 3 and _doorbells(redis_client) == 1
    assert tasks.process_received() == 3
    assert redis_client.llen(RECEIVED_KEY) == 0 and _doorbells(redis_client) == 1
    assert tasks.process_received() == 0  # a spare doorbell: nothing to do, no new one
    assert _doorbells(redis_client) == 1
    with sessions() as s:
        assert {s.get(Comment, cid).status for cid in ids} == {CommentStatus.pending}
    for cid in ids[:3] + ids[-3:]:
        assert len(actions(sessions, cid)) == 1


def test_a_transient_failure_queues_the_taken_ids_again(resources, client, site,  # noqa: ANN001
                                                       redis_client, redis_url,
                                                       monkeypatch) -> None:
    """The database goes away mid-batch: the ids already taken from the list are queued
    again one by one (a little later), not dropped."""
    from sqlalchemy.exc import OperationalError

    from workers import tasks

    monkeypatch.setattr(tasks, "_resources", lambda: resources)

    def database_down(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("UPDATE comments", {}, Exception("server closed the connection"))

    monkeypatch.setattr(tasks, "process_comments_now", database_down)
    # The workers' Celery app publishes to the test Redis (its connection pool is made anew).
    celery_app = tasks.process_comment.app
    monkeypatch.setattr(celery_app.conf, "broker_url", redis_url)
    monkeypatch.setattr(celery_app, "_pool", None)
    _, key = site
    ids = [submit(client, key) for _ in range(3)]
    redis_client.delete(QUEUE_MODERATION)  # the doorbell, as if a worker had taken it
    assert tasks.process_received() == 3
    queued = [json.loads(m) for m in reversed(redis_client.lrange(QUEUE_MODERATION, 0, -1))]
    assert [m["headers"]["task"] for m in queued] == [TASK_PROCESS_COMMENT] * 3
    assert [m["headers"]["argsrepr"] for m in queued] == [f"[{cid}]" for cid in ids]
    assert all(m["headers"]["eta"] for m in queued)  # a little later, not at once
    assert {m["headers"]["kwargsrepr"] for m in queued} == {"{'attempt': 1}"}
    assert redis_client.llen(RECEIVED_KEY) == 0


def test_a_batch_put_off_again_and_again_is_left_to_the_sweep() -> None:
    """Retries back off (5 s, doubling) and stop after a few: a long outage leaves the
    comments in `received`, where the sweep finds them once the database is back."""
    from workers.tasks import RETRY_ATTEMPTS, retry_delay

    delays = [retry_delay(attempt) for attempt in range(1, RETRY_ATTEMPTS + 2)]
    assert delays == [5.0, 10.0, 20.0, 40.0, 80.0, None]


def test_sweep_rings_for_ids_left_without_a_doorbell(resources, client, site,  # noqa: ANN001
                                                     redis_client, monkeypatch) -> None:
    from workers import tasks

    monkeypatch.setattr(tasks, "_resources", lambda: resources)
    monkeypatch.setattr(tasks, "_sessions", lambda: resources.sessions)
    _, key = site
    submit(client, key)
    redis_client.delete(QUEUE_MODERATION)  # the doorbell was lost
    tasks.sweep_received()
    assert _doorbells(redis_client) == 1
    redis_client.delete(RECEIVED_KEY, QUEUE_MODERATION)
    tasks.sweep_received()
    assert _doorbells(redis_client) == 0  # nothing waiting: no task


UNMARKED = "Bai viet nay rat hay, cam on tac gia da phan tich ky luong"


def test_diacritics_flagged_with_suggestion(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    cid = submit(client, key, body=UNMARKED)
    assert process_comment_now(resources, cid) == CommentStatus.pending
    with sessions() as s:
        c = s.get(Comment, cid)
        report = c.analysis["phases"]["diacritics"]
        assert report["verdict"] == "missing"
        assert report["ratio"] > 0.8
        assert "viet" in report["unmarked"]
        assert report["suggestion"].startswith("Bài viết này rất hay")
        assert "missing_diacritics" in c.analysis["flags"]
        assert c.priority >= 1


def test_marked_comment_not_flagged(resources, client, site, sessions) -> None:  # noqa: ANN001
    _, key = site
    cid = submit(client, key)
    process_comment_now(resources, cid)
    with sessions() as s:
        c = s.get(Comment, cid)
        assert c.analysis["phases"]["diacritics"]["verdict"] == "ok"
        assert "missing_diacritics" not in c.analysis["flags"]


def test_diacritics_policy_reject(resources, client, site, sessions) -> None:  # noqa: ANN001
    site_id, key = site
    set_settings(sessions, site_id, diacritics_policy="reject")
    cid = submit(client, key, body=UNMARKED)
    assert process_comment_now(resources, cid) == CommentStatus.auto_rejected
    with sessions() as s:
        c = s.get(Comment, cid)
        assert c.analysis["decision"]["phase"] == "diacritics"
        assert c.decided_at is not None
    [audit] = actions(sessions, cid)
    assert audit.actor == "system:diacritics"
    assert "diacritics" in audit.reason


def test_diacritics_policy_off(resources, client, site, sessions) -> None:  # noqa: ANN001
    site_id, key = site
    set_settings(sessions, site_id, diacritics_policy="off")
    cid = submit(client, key, body=UNMARKED)
    assert process_comment_now(resources, cid) == CommentStatus.pending
    with sessions() as s:
        c = s.get(Comment, cid)
        assert "diacritics" not in c.analysis["phases"]
        assert c.analysis["flags"] == []


def test_premoderation_off_still_holds_flagged_comments(resources, client, site, sessions) -> None:  # noqa: ANN001
    site_id, key = site
    set_settings(sessions, site_id, premoderation=False)
    held = submit(client, key, body=UNMARKED)
    nfd = submit(client, key, body="Tho\u0302ng tin hu\u031b\u0303u i\u0301ch, ca\u0309m o\u031bn")
    assert process_comment_now(resources, held) == CommentStatus.pending
    assert process_comment_now(resources, nfd) == CommentStatus.auto_approved


def test_one_bad_comment_does_not_fail_its_batch(  # noqa: ANN001
    client, site, sessions, resources, monkeypatch
) -> None:
    from workers.pipeline import runner
    from workers.tasks import process_comments_now

    _, key = site
    ids = [submit(client, key, body=f"Ý kiến số {i} về quy hoạch") for i in range(5)]
    bad = ids[2]

    def picky(ctx: CommentContext, text: str):  # noqa: ANN202
        if ctx.comment_id == bad:
            raise ValueError("cannot parse")
        return pipeline.PhaseResult(name="picky")

    monkeypatch.setattr(runner, "PHASES", [*runner.PHASES, picky])
    statuses = process_comments_now(resources, ids)
    assert set(statuses.values()) == {CommentStatus.pending}
    with sessions() as s:
        flags = {cid: s.get(Comment, cid).analysis["flags"] for cid in ids}
    assert flags[bad] == ["analysis_failed"]
    assert all("analysis_failed" not in f for cid, f in flags.items() if cid != bad)
    assert all(len(actions(sessions, cid)) == 1 for cid in ids)
