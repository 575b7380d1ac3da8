"""Webhook delivery: POST one outbox row (service/webhooks.py) to its site, signed
(service/webhook_signing.py). Every attempt is logged; a failure (an error, a timeout, any
answer but 2xx) is retried with exponential backoff until the attempts run out; a beat sweep
re-queues deliveries whose message was lost.

Idempotent: an attempt starts with a conditional UPDATE that claims the row (pending, due)
and moves its due time to the end of a lease, so a second copy of the message finds nothing
to claim and a delivered row is never sent again."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPConnection, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

from celery import shared_task
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.queueing import (
    TASK_DELIVER_WEBHOOK,
    TASK_SWEEP_WEBHOOKS,
    enqueue_webhooks,
    record_sweep,
)
from service.storage import WebhookAttempt, WebhookDelivery
from service.storage.tables import utcnow
from service.webhook_signing import encode_body, signed_headers
from service.webhooks import DeliveryStatus

log = logging.getLogger(__name__)

USER_AGENT = "vimod-webhooks/1"
# Celery's limits on one attempt, whatever the socket timeout: a receiver that trickles its
# answer byte by byte is cut off at the soft limit (logged as a failed attempt).
SOFT_TIME_LIMIT = 60
HARD_TIME_LIMIT = 90
MAX_TIMEOUT_SECONDS = 30.0
# While an attempt runs, the row is due only after this: longer than any attempt can last.
LEASE_SECONDS = HARD_TIME_LIMIT + 30
# A message that arrives this close before its row is due (another host's clock, a second
# copy from the sweep) is put back until then; one further ahead is a stale copy, dropped.
DEFER_SECONDS = 5.0
SWEEP_BATCH = 500
MAX_ERROR = 500


@dataclass(frozen=True)
class Policy:
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0
    max_attempts: int = 8
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(backoff_seconds=settings.webhook_backoff_seconds,
                   backoff_max_seconds=settings.webhook_backoff_max_seconds,
                   max_attempts=max(1, settings.webhook_max_attempts),
                   timeout_seconds=min(settings.webhook_timeout_seconds, MAX_TIMEOUT_SECONDS))

    def backoff(self, attempts: int) -> float:
        """The wait after the `attempts`-th failed attempt: base, 2·base, 4·base… capped."""
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Result:
    # delivered | retry | failed | early (due in `retry_in` s: put back) | skipped (not
    # pending, taken by another worker, or not due for a while: a stale copy)
    outcome: str
    retry_in: float | None = None


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST and return the answer's status code (raises on network errors). Plain
    http.client: headers go out exactly as written, and a redirect is just an answer other
    than 2xx (the POST is never repeated elsewhere). https verifies the certificate."""
    parts = urlsplit(url)
    connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body,
                           headers={**headers, "User-Agent": USER_AGENT})
        response = connection.getresponse()
        response.read(65536)  # the answer is not used; read a little so the socket closes
        return response.status
    finally:
        connection.close()


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or exc}"[:MAX_ERROR]
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


@dataclass(frozen=True)
class _Claim:
    attempt: int  # this attempt's number, 1 for the first
    event: str
    url: str | None
    secret: str | None
    body: bytes


def _claim(sessions: sessionmaker[Session], delivery_id: int) -> _Claim | float | None:
    """Take the delivery for one attempt; or the seconds until it is due, when that is soon;
    or None (not pending, another worker has it, or not due for a while)."""
    now = utcnow()
    with sessions() as session:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id,
                   WebhookDelivery.status == DeliveryStatus.pending,
                   or_(WebhookDelivery.next_attempt_at.is_(None),
                       WebhookDelivery.next_attempt_at <= now))
            .values(attempts=WebhookDelivery.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            due = session.scalar(select(WebhookDelivery.next_attempt_at).where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == DeliveryStatus.pending))
            session.rollback()
            wait = (due - now).total_seconds() if due is not None else None
            return wait if wait is not None and 0 < wait <= DEFER_SECONDS else None
        delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
        settings = delivery.site.settings or {}
        claim = _Claim(delivery.attempts, delivery.event, settings.get("webhook_url") or None,
                       settings.get("webhook_secret") or None, encode_body(delivery.payload))
        # Committed before the request: no transaction stays open while the site answers.
        session.commit()
    return claim


def deliver_now(sessions: sessionmaker[Session], delivery_id: int, policy: Policy) -> Result:
    """One attempt at one delivery (the Celery task's body, callable without Celery). The
    site's current URL and secret are used: a rotated secret applies to retries too."""
    claim = _claim(sessions, delivery_id)
    if claim is None:
        return Result("skipped")
    if isinstance(claim, float):
        return Result("early", claim)
    attempt, event, url, secret, body = (claim.attempt, claim.event, claim.url, claim.secret,
                                         claim.body)
    started_at = utcnow()
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        if url is None:
            error = "the site has no webhook URL"
        elif secret is None:
            error = "the site has no webhook secret (generate one on the site's page)"
        else:
            headers = signed_headers(secret, event, delivery_id, body)
            status_code = post(url, body, headers, policy.timeout_seconds)
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
    except Exception as exc:  # noqa: BLE001 - any failure of the request is this attempt's result
        error = _describe(exc, policy.timeout_seconds)
    duration_ms = round((time.perf_counter() - started) * 1000)

    done_at = utcnow()
    if error is None:
        values: dict[str, Any] = {"status": DeliveryStatus.delivered, "delivered_at": done_at,
                                  "next_attempt_at": None, "last_error": None}
        result = Result("delivered")
    elif attempt >= policy.max_attempts:
        values = {"status": DeliveryStatus.failed, "next_attempt_at": None, "last_error": error}
        result = Result("failed")
    else:
        delay = policy.backoff(attempt)
        values = {"next_attempt_at": done_at + timedelta(seconds=delay), "last_error": error}
        result = Result("retry", delay)
    with sessions() as session:
        session.add(WebhookAttempt(delivery_id=delivery_id, attempted_at=started_at,
                                   status_code=status_code, error=error,
                                   duration_ms=duration_ms))
        # Only this attempt's claim is finished here (not one a later claim took over).
        finished = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id,
                   WebhookDelivery.status == DeliveryStatus.pending,
                   WebhookDelivery.attempts == attempt)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
    log.info("webhook delivery %s (%s) attempt %d: %s in %d ms", delivery_id, event, attempt,
             error or status_code, duration_ms)
    return result if finished == 1 else Result("skipped")


def _settings() -> Settings:
    from workers.celery_app import celery

    return celery.conf.vimod_settings


def _producer():  # noqa: ANN202
    from workers.celery_app import celery

    return celery


@shared_task(name=TASK_DELIVER_WEBHOOK, acks_late=True, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=HARD_TIME_LIMIT, autoretry_for=(OperationalError,), max_retries=3,
             default_retry_delay=5)
def deliver_webhook(delivery_id: int) -> str:
    from workers.tasks import _sessions

    result = deliver_now(_sessions(), int(delivery_id), Policy.from_settings(_settings()))
    if result.retry_in is not None:
        # Should this fail (broker down), the sweep finds the row overdue and re-queues it.
        enqueue_webhooks(_producer(), [int(delivery_id)], countdown=result.retry_in)
    return result.outcome


def find_overdue(session: Session, older_than: timedelta, limit: int = SWEEP_BATCH) -> list[int]:
    cutoff = utcnow() - older_than
    return list(session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DeliveryStatus.pending,
               WebhookDelivery.next_attempt_at < cutoff)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)))


def prune_finished(session: Session, keep: timedelta, limit: int = SWEEP_BATCH) -> int:
    """Delete up to `limit` delivered or failed deliveries older than `keep` (their attempts
    go with them): the outbox gets one row per decision and must not grow for ever. Walks
    the oldest ids (the primary key) rather than scanning created_at."""
    cutoff = utcnow() - keep
    oldest = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.created_at)
        .order_by(WebhookDelivery.id).limit(limit)).all()
    ids = [i for i, status, created in oldest
           if status != DeliveryStatus.pending and created < cutoff]
    if ids:
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
        session.execute(update(WebhookDelivery).where(WebhookDelivery.redelivery_of.in_(ids))
                        .values(redelivery_of=None))
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        session.commit()
    return len(ids)


@shared_task(name=TASK_SWEEP_WEBHOOKS, autoretry_for=(OperationalError,), max_retries=3)
def sweep_webhooks() -> int:
    """Re-queue pending deliveries well past their due time (a lost message, a broker outage
    when they were written, a worker killed mid-attempt). Their due time becomes now, so the
    next sweep leaves them alone while the message is on its way."""
    from workers.tasks import _resources, _sessions

    older_than = timedelta(seconds=_settings().webhook_sweep_after_seconds)
    with _sessions()() as session:
        if pruned := prune_finished(session, timedelta(days=_settings().webhook_keep_days)):
            log.info("webhook sweep deleted %d finished deliveries", pruned)
        ids = find_overdue(session, older_than)
        if not ids:
            record_sweep(_resources().redis, "webhooks")
            return 0
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids),
                   WebhookDelivery.status == DeliveryStatus.pending,
                   WebhookDelivery.next_attempt_at < utcnow() - older_than)
            .values(next_attempt_at=utcnow())
            .execution_options(synchronize_session=False))
        session.commit()
    enqueue_webhooks(_producer(), ids)
    log.info("webhook sweep re-queued %d deliveries", len(ids))
    record_sweep(_resources().redis, "webhooks")
    return len(ids)
