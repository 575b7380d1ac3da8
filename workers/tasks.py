"""Celery tasks: thin, idempotent wrappers around the pipeline and the database."""

from __future__ import annotations

import logging
import unicodedata
from datetime import timedelta
from functools import cache

import redis as redis_lib
from celery import shared_task
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.queueing import QUEUE_MODERATION, TASK_PROCESS_COMMENT, TASK_SWEEP_RECEIVED
from service.storage import (
    Comment,
    CommentStatus,
    ModerationAction,
    make_engine,
    make_session_factory,
)
from service.storage.tables import utcnow
from workers.pipeline import CommentContext, run_pipeline
from workers.pipeline.policy import failed_outcome
from workers.pipeline.resources import Resources

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


@cache
def _sessions() -> sessionmaker[Session]:
    from workers.celery_app import celery

    return make_session_factory(make_engine(celery.conf.vimod_settings.database_url))


@cache
def _resources() -> Resources:
    from workers.celery_app import celery

    return Resources(
        _sessions(),
        redis_lib.Redis.from_url(celery.conf.vimod_settings.redis_url, socket_timeout=5),
    )


def process_comment_now(resources: Resources, comment_id: int) -> str | None:
    """Analyse one `received` comment and move it on. Safe to run any number of times:
    only the run whose conditional UPDATE matches `status = received` writes anything."""
    sessions = resources.sessions
    with sessions() as session:
        comment = session.get(Comment, comment_id)
        if comment is None:
            log.warning("comment %s does not exist", comment_id)
            return None
        if comment.status != CommentStatus.received:
            return comment.status  # already processed: a duplicate delivery
        ctx = CommentContext(
            comment_id=comment.id,
            site_id=comment.site_id,
            body=comment.body_original,
            author_name=comment.author_name,
            author_email=comment.author_email,
            client_ip=comment.client_ip,
            site_settings=dict(comment.site.settings or {}),
            received_at=comment.received_at,
            text_key=comment.text_key,
            resources=resources,
        )
        try:
            outcome = run_pipeline(ctx)
        except (OperationalError, redis_lib.ConnectionError, redis_lib.TimeoutError):
            raise  # transient: the task retries
        except Exception as exc:  # noqa: BLE001
            # A bug or bad model must not strand the comment: a moderator sees it unanalysed.
            log.exception("pipeline failed on comment %s", comment_id)
            outcome = failed_outcome(ctx, exc)
        now = utcnow()
        changed = session.execute(
            update(Comment)
            .where(Comment.id == comment_id, Comment.status == CommentStatus.received)
            .values(
                status=outcome.status,
                body_normalized=outcome.normalized,
                analysis=outcome.analysis,
                priority=outcome.priority,
                model_version=outcome.model_version,
                analysed_at=now,
                decided_at=now if outcome.status != CommentStatus.pending else None,
                # Auto-approved text is published as the writer typed it (in NFC, with
                # paragraphs kept); otherwise a moderator publishes it.
                body_published=unicodedata.normalize("NFC", comment.body_original).strip()
                if outcome.status == CommentStatus.auto_approved
                else None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            session.rollback()
            return None
        session.add(
            ModerationAction(
                comment_id=comment_id,
                actor=outcome.decided_by,
                from_status=CommentStatus.received,
                to_status=outcome.status,
                reason=outcome.reason,
                created_at=now,
            )
        )
        session.commit()
        return outcome.status


@shared_task(
    name=TASK_PROCESS_COMMENT,
    bind=True,
    autoretry_for=(OperationalError, redis_lib.ConnectionError, redis_lib.TimeoutError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=None,
    acks_late=True,
)
def process_comment(self, comment_id: int) -> str | None:  # noqa: ANN001
    return process_comment_now(_resources(), comment_id)


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
    return len(ids)
