"""The webhook outbox: which status changes become events, what the site is sent, and the
delivery rows, written in the same transaction as the decision they report (so a decision
is never without its event, nor an event without its decision). Workers send them
(workers/webhooks.py); docs/webhooks.md is the receivers' side of this."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage import Article, Comment, CommentStatus, Site, WebhookDelivery
from service.storage.tables import PUBLISHED, utcnow


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


EVENT_APPROVED = "comment.approved"
EVENT_REJECTED = "comment.rejected"
EVENT_REMOVED = "comment.removed"
# A decision undone back to the queue: the comment is not published (any more).
EVENT_REOPENED = "comment.reopened"
EVENT_PING = "ping"
# Events are named after the status the comment is now in, so a receiver only needs to know
# the latest event per comment (an undo sends the event of the status it returns to).
EVENT_FOR_STATUS: dict[str, str] = {
    CommentStatus.approved: EVENT_APPROVED,
    CommentStatus.auto_approved: EVENT_APPROVED,
    CommentStatus.rejected: EVENT_REJECTED,
    CommentStatus.auto_rejected: EVENT_REJECTED,
    CommentStatus.removed: EVENT_REMOVED,
    CommentStatus.pending: EVENT_REOPENED,
}
EVENTS = (EVENT_APPROVED, EVENT_REJECTED, EVENT_REMOVED, EVENT_REOPENED, EVENT_PING)


def webhook_url(site: Site) -> str | None:
    return (site.settings or {}).get("webhook_url") or None


def event_for(from_status: str, to_status: str) -> str | None:
    """The event a status change sends, or None (a new comment joining the queue is not a
    decision: `received → pending` sends nothing)."""
    if from_status == CommentStatus.received and to_status == CommentStatus.pending:
        return None
    return EVENT_FOR_STATUS.get(to_status)


def reason_code(reason: str | None) -> str | None:
    """The code of a stored reason: "spam: the moderator's note" → "spam" (notes are the
    newsroom's own words and stay inside)."""
    if not reason:
        return None
    return reason.split(":", 1)[0].strip()[:50] or None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def add_delivery(session: Session, site_id: int, event: str, body: dict[str, Any],
                 comment_id: int | None = None, redelivery_of: int | None = None,
                 event_time: datetime | None = None) -> WebhookDelivery:
    """Add a pending delivery to the session (the caller commits). The payload carries the
    row's id, so the row is flushed first to get one."""
    now = utcnow()
    row = WebhookDelivery(site_id=site_id, comment_id=comment_id, event=event, payload={},
                          status=DeliveryStatus.pending, attempts=0, next_attempt_at=now,
                          created_at=now, redelivery_of=redelivery_of)
    session.add(row)
    session.flush()
    row.payload = {"event": event, "delivery_id": row.id,
                   "created_at": _time(event_time or now), "site_id": site_id, **body}
    return row


def add_decision(session: Session, comment: Comment, site: Site, *, from_status: str,
                 to_status: str, published: str | None, decided_at: datetime | None,
                 reason: str | None, automatic: bool, undo: bool = False,
                 article_external_id: str | None = None) -> int | None:
    """The delivery for one status change when the site has a webhook URL (its id), else
    None. Only what the site may publish is sent: never the author's e-mail, IP or browser."""
    event = event_for(from_status, to_status)
    if event is None or webhook_url(site) is None:
        return None
    if article_external_id is None:
        article_external_id = session.scalar(
            select(Article.external_id).where(Article.id == comment.article_id))
    body = {
        "automatic": automatic,
        "undo": undo,
        "comment": {
            "id": comment.id,
            "article": {"id": article_external_id},
            "parent_id": comment.parent_id,
            "status": to_status,
            "previous_status": from_status,
            "author_name": comment.author_name,
            "body": published if to_status in PUBLISHED else None,
            "decided_at": _time(decided_at),
            "reason": reason_code(reason),
        },
    }
    return add_delivery(session, site.id, event, body, comment_id=comment.id,
                        event_time=decided_at).id


def add_ping(session: Session, site: Site) -> WebhookDelivery:
    """A test event an admin sends to check the receiver (it has no comment)."""
    return add_delivery(session, site.id, EVENT_PING, {
        "test": True, "message": "vimod webhook test: your receiver is reachable."})


def add_redelivery(session: Session, original: WebhookDelivery) -> WebhookDelivery:
    """A new delivery of the same event (new id, original event time), for an admin."""
    body = {k: v for k, v in (original.payload or {}).items()
            if k not in ("event", "delivery_id", "created_at", "site_id", "redelivery_of")}
    created = original.payload.get("created_at") if original.payload else None
    event_time = datetime.fromisoformat(created) if created else original.created_at
    row = add_delivery(session, original.site_id, original.event, body,
                       comment_id=original.comment_id, redelivery_of=original.id,
                       event_time=event_time)
    row.payload = {**row.payload, "redelivery_of": original.id}
    return row
