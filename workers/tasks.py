"""Celery tasks: thin, idempotent wrappers around the pipeline and the database."""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

import redis as redis_lib
from celery import shared_task
from celery_batches import Batches
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from models.normalize import search_key
from service import outages, webhooks
from service.queueing import (
    QUEUE_MODERATION,
    RECEIVED_BATCH,
    RECEIVED_KEY,
    TASK_PROCESS_COMMENT,
    TASK_PROCESS_RECEIVED,
    TASK_SWEEP_RECEIVED,
    enqueue_webhooks,
    record_sweep,
    ring_doorbell,
)
from service.storage import (
    Article,
    Comment,
    CommentStatus,
    ModerationAction,
    make_engine,
    make_session_factory,
)
from service.storage.bounds import WORKER
from service.storage.tables import utcnow
from workers.pipeline import CommentContext
from workers.pipeline.context import Outcome
from workers.pipeline.resources import Resources
from workers.pipeline.runner import TRANSIENT, run_pipeline_many

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Comments analysed together: classification costs far less per comment in a batch.
BATCH_SIZE = RECEIVED_BATCH
BATCH_WAIT_SECONDS = 0.05


@cache
def _sessions() -> sessionmaker[Session]:
    from workers.celery_app import celery

    # The worker's bounds (VIMOD_DB_WORKER_TIMEOUT): a silent database fails a batch, which
    # is re-queued, instead of holding the process for ever.
    return make_session_factory(make_engine(celery.conf.vimod_settings.database_url,
                                            role=WORKER))


@cache
def _resources() -> Resources:
    from workers.celery_app import celery

    return Resources(
        _sessions(),
        redis_lib.Redis.from_url(celery.conf.vimod_settings.redis_url, socket_timeout=5),
    )


def flags_column(flags: list[str]) -> str:
    return (" " + " ".join(flags) + " ")[:500]


_COMMENTS = Comment.__table__
# Built once (a statement built per comment cost more than executing it); run as one
# executemany per batch.
_ANALYSED = (
    update(_COMMENTS)
    .where(_COMMENTS.c.id == bindparam("b_id"),
           _COMMENTS.c.status == CommentStatus.received)
    .values(status=bindparam("b_status"), body_normalized=bindparam("b_normalized"),
            analysis=bindparam("b_analysis"), flags=bindparam("b_flags"),
            priority=bindparam("b_priority"), certainty=bindparam("b_certainty"),
            model_version=bindparam("b_model_version"), analysed_at=bindparam("b_now"),
            decided_at=bindparam("b_decided_at"), body_published=bindparam("b_published"),
            search_folded=bindparam("b_search"))
)


def _analysed_row(comment: Comment, outcome: Outcome, now: datetime) -> dict:
    published = None
    if outcome.status == CommentStatus.auto_approved:
        # Published as the writer typed it (NFC, paragraphs kept).
        published = unicodedata.normalize("NFC", comment.body_original).strip()
    return dict(
        b_id=comment.id, b_status=outcome.status, b_normalized=outcome.normalized,
        b_analysis=outcome.analysis, b_flags=flags_column(outcome.analysis.get("flags", [])),
        b_priority=outcome.priority, b_certainty=outcome.certainty,
        b_model_version=outcome.model_version, b_now=now,
        b_decided_at=now if outcome.status != CommentStatus.pending else None,
        b_published=published,
        # The review queue searches the text as submitted and as the checks read it.
        b_search=search_key(comment.body_original, outcome.normalized),
    )


def process_comments_now(
    resources: Resources, comment_ids: list[int],
    send_webhooks: Callable[[list[int]], object] | None = None,
) -> dict[int, str]:
    """Analyse the `received` comments among `comment_ids` and move them on; returns each
    existing comment's status. Safe to run any number of times, concurrently too: only the
    run whose conditional UPDATE matches `status = received` writes a result and audit row
    (and, for an automatic decision on a site with a webhook, its outbox row).
    `send_webhooks` gets those deliveries' ids after the commit (without it, the webhook
    sweep sends them)."""
    with resources.sessions() as session:
        comments = session.scalars(
            select(Comment).where(Comment.id.in_(set(comment_ids)))
            # In id order: concurrent runs lock overlapping rows in the same order (no
            # deadlock).
            .order_by(Comment.id)
            .options(selectinload(Comment.site))
        ).all()
        statuses = {c.id: c.status for c in comments}
        todo = [c for c in comments if c.status == CommentStatus.received]
        if not todo:
            return statuses
        ctxs = [
            CommentContext(
                comment_id=c.id, site_id=c.site_id, body=c.body_original,
                author_name=c.author_name, author_email=c.author_email, client_ip=c.client_ip,
                site_settings=dict(c.site.settings or {}), received_at=c.received_at,
                text_key=c.text_key, resources=resources, article_id=c.article_id,
            )
            for c in todo
        ]
        outcomes = run_pipeline_many(ctxs)
        now = utcnow()
        rows = [_analysed_row(comment, outcome, now) for comment, outcome in zip(
            todo, outcomes, strict=True)]
        # One executemany for the batch; each row only while still `received`. Fewer rows
        # changed means another delivery of some of these comments got there first (rare):
        # then redo it row by row to know which.
        changed = session.connection().execute(_ANALYSED, rows).rowcount
        if changed == len(rows):
            done = list(zip(todo, outcomes, rows, strict=True))
        else:
            session.rollback()
            done = [(comment, outcome, row) for comment, outcome, row
                    in zip(todo, outcomes, rows, strict=True)
                    if session.connection().execute(_ANALYSED, row).rowcount == 1]
        if done:  # the audit trail: one multi-row INSERT
            session.execute(insert(ModerationAction.__table__), [
                dict(comment_id=row["b_id"], actor=outcome.decided_by,
                     from_status=CommentStatus.received, to_status=outcome.status,
                     reason=outcome.reason, created_at=now, user_id=None, edited_body=None)
                for _, outcome, row in done])
        # Automatic decisions on sites with a webhook: (comment, outcome, published text).
        decided: list[tuple[Comment, Outcome, str | None]] = []
        for comment, outcome, row in done:
            statuses[row["b_id"]] = outcome.status
            if (webhooks.webhook_url(comment.site)
                    and webhooks.event_for(CommentStatus.received, outcome.status)):
                decided.append((comment, outcome, row["b_published"]))
        delivery_ids = _add_webhooks(session, decided, now)
        session.commit()
    if delivery_ids and send_webhooks is not None:
        send_webhooks(delivery_ids)
    return statuses


def _add_webhooks(session: Session, decided: list[tuple[Comment, Outcome, str | None]],
                  now: datetime) -> list[int]:
    """Outbox rows for automatic decisions, in the batch's transaction (one query for the
    articles' ids as the sites know them)."""
    if not decided:
        return []
    external = dict(session.execute(select(Article.id, Article.external_id).where(
        Article.id.in_({c.article_id for c, _, _ in decided}))).tuples().all())
    ids = []
    for comment, outcome, published in decided:
        delivery_id = webhooks.add_decision(
            session, comment, comment.site, from_status=CommentStatus.received,
            to_status=outcome.status, published=published, decided_at=now,
            reason=outcome.decided_by.removeprefix("system:"), automatic=True,
            article_external_id=external.get(comment.article_id))
        if delivery_id is not None:
            ids.append(delivery_id)
    return ids


def _send_webhooks(delivery_ids: list[int]) -> None:
    from workers.celery_app import celery

    enqueue_webhooks(celery, delivery_ids)


def process_comment_now(resources: Resources, comment_id: int) -> str | None:
    return process_comments_now(resources, [comment_id]).get(comment_id)


@shared_task(
    name=TASK_PROCESS_COMMENT,
    base=Batches,
    flush_every=BATCH_SIZE,
    flush_interval=BATCH_WAIT_SECONDS,
    acks_late=True,
)
def process_comment(requests) -> None:  # noqa: ANN001
    """Messages carry one comment id each (the sweep's, and retries', which count their
    attempts in `attempt`); the worker analyses them in micro-batches."""
    attempt = max((int((r.kwargs or {}).get("attempt", 0)) for r in requests), default=0)
    _analyse_batch([int(r.args[0]) for r in requests], attempt)


@shared_task(name=TASK_PROCESS_RECEIVED, acks_late=True)
def process_received() -> int:
    """The doorbell (service/queueing.py): analyse up to RECEIVED_BATCH of the ids waiting in
    the Redis list, then ring again if more are waiting. Returns how many it took."""
    r = _resources().redis
    ids = [int(x) for x in r.lpop(RECEIVED_KEY, RECEIVED_BATCH) or []]
    if ids:
        _analyse_batch(ids)
    if r.llen(RECEIVED_KEY):
        ring_doorbell(r)
    return len(ids)


# A batch the database (or Redis) failed is queued again after RETRY_SECONDS, then twice as
# long each time; after RETRY_ATTEMPTS the comments are left to the sweep, which finds them
# still `received` once the database answers again.
RETRY_SECONDS = 5.0
RETRY_ATTEMPTS = 5

# Once per outage, then a count (service/outages.py), not a traceback per batch.
_DB_OUTAGE = outages.OutageLog(
    log, "Database", "batches are queued again with growing delays; the sweep recovers "
    "what is left once it answers", "comments whose analysis was put off")
_REDIS_OUTAGE = outages.OutageLog(
    log, "Redis", "batches are queued again with growing delays; the sweep recovers what is "
    "left", "comments whose analysis was put off")


def retry_delay(attempt: int) -> float | None:
    """Seconds before the `attempt`-th retry (1, 2, …) of a failed batch; None: no more
    retries, the sweep takes over."""
    if attempt > RETRY_ATTEMPTS:
        return None
    return RETRY_SECONDS * 2 ** (attempt - 1)


def _analyse_batch(ids: list[int], attempt: int = 0) -> None:
    started = time.perf_counter()
    try:
        process_comments_now(_resources(), ids, send_webhooks=_send_webhooks)
        log.debug("analysed a batch of %d in %.0f ms", len(ids),
                  (time.perf_counter() - started) * 1000)
    except TRANSIENT as exc:
        outage = _REDIS_OUTAGE if isinstance(exc, redis_lib.RedisError) else _DB_OUTAGE
        outage.failed(exc, count=True)
        # Their message is acknowledged (or their ids taken from the list) when the task
        # returns: queue them again one by one, later each time. (Should even that fail, the
        # sweep finds them still `received`.)
        delay = retry_delay(attempt + 1)
        if delay is None:
            log.warning("%d comments left to the sweep after %d attempts", len(ids), attempt)
            return
        try:
            for comment_id in ids:
                process_comment.apply_async(args=[comment_id], kwargs={"attempt": attempt + 1},
                                            queue=QUEUE_MODERATION, countdown=delay, retry=False)
        except Exception as queue_exc:  # noqa: BLE001 - the broker too: the sweep has them
            _REDIS_OUTAGE.failed(queue_exc, count=False)
        return
    _DB_OUTAGE.ok()


def find_stuck(session: Session, older_than: timedelta, limit: int = SWEEP_BATCH) -> list[int]:
    cutoff = utcnow() - older_than
    return list(
        session.scalars(
            select(Comment.id)
            .where(Comment.status == CommentStatus.received, Comment.enqueued_at < cutoff)
            .order_by(Comment.enqueued_at)
            .limit(limit)
        )
    )


@shared_task(name=TASK_SWEEP_RECEIVED, autoretry_for=(OperationalError,), max_retries=3)
def sweep_received() -> int:
    """Re-enqueue comments left in `received` (a lost message, a broker outage at intake)."""
    from workers.celery_app import celery

    settings = celery.conf.vimod_settings
    with _sessions()() as session:
        ids = find_stuck(session, timedelta(seconds=settings.sweep_after_seconds))
        for comment_id in ids:
            process_comment.apply_async(args=[comment_id], queue=QUEUE_MODERATION)
        if ids:
            session.execute(
                update(Comment)
                .where(Comment.id.in_(ids))
                .values(enqueue_count=Comment.enqueue_count + 1, enqueued_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.commit()
            log.info("sweep re-enqueued %d comments", len(ids))
    # Ids waiting in the list whose doorbell was lost (a worker killed between taking its
    # message and ringing again): one more task, at most once a sweep.
    r = _resources().redis
    if r is not None and r.llen(RECEIVED_KEY):
        ring_doorbell(r)
    record_sweep(r, "received")
    return len(ids)
