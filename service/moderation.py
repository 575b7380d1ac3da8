"""Moderators' decisions: approve, reject with a reason, edit-then-approve, remove a
published comment, undo — each a conditional status change plus an audit row (and, when the
site has a webhook, its outbox row) in one transaction, so two moderators can never both
decide and a decision is never without its event."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service import bans, webhooks
from service.form_text import text_error
from service.queueing import enqueue_webhooks
from service.storage import AuditEntry, Ban, Comment, CommentStatus, ModerationAction
from service.storage.tables import DEFAULT_SITE_SETTINGS, PUBLISHED, utcnow

# Labels and messages are lazy: translated when rendered (in the request's language);
# outside an app context they read as the English msgid.
REJECT_REASONS: dict[str, LazyString] = {
    "no_diacritics": _l("Written without diacritics"),
    "spam": _l("Spam, advertising"),
    "offensive": _l("Insulting, vulgar"),
    "hate": _l("Incitement, hate"),
    "off_topic": _l("Off topic"),
    "duplicate": _l("Duplicate"),
    "other": _l("Other reason"),
    "banned": _l("Author is banned"),
}
# Why a published comment is taken down (the shared ones read as their reject reasons).
REMOVE_REASONS: dict[str, LazyString] = {
    "offensive": REJECT_REASONS["offensive"],
    "hate": REJECT_REASONS["hate"],
    "spam": REJECT_REASONS["spam"],
    "off_topic": REJECT_REASONS["off_topic"],
    "author_request": _l("The author asked for it"),
    "legal": _l("Legal request"),
    "other": REJECT_REASONS["other"],
}
# Statuses a moderator may decide from (a published comment is unpublished with `remove`).
DECIDABLE = {CommentStatus.pending, CommentStatus.auto_rejected, CommentStatus.auto_approved,
             CommentStatus.received}
UNDO_WINDOW = timedelta(minutes=10)


class ModerationError(ValueError):
    """str(error) is the message in the current language."""

    def __init__(self, message: str | LazyString, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _change(session: Session, comment: Comment, user_id: int, actor: str, to_status: str,
            reason: str | None, edited: str | None, published: str | None,
            undo: bool = False, reopen: dict[str, Any] | None = None) -> None:
    now = utcnow()
    decided_at = None if to_status == CommentStatus.pending else now
    values: dict[str, Any] = dict(status=to_status, body_published=published,
                                  decided_at=decided_at)
    # A decision on an escalated comment resolves the escalation (service/escalation.py);
    # an undo of that decision opens it again (`reopen`: the escalation as it was).
    escalated = comment.escalated_at is not None
    resolving = escalated and to_status != CommentStatus.pending
    if resolving:
        values.update(escalated_at=None, escalated_by=None, escalation_note=None)
    values.update(reopen or {})
    changed = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.status == comment.status,
               Comment.escalated_at.is_not(None) if escalated else Comment.escalated_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise ModerationError(_l("Someone else has just handled this comment."))
    delivery_id = webhooks.add_decision(
        session, comment, comment.site, from_status=comment.status, to_status=to_status,
        published=published, decided_at=decided_at, reason=reason, automatic=False, undo=undo)
    action = ModerationAction(
        comment_id=comment.id, user_id=user_id, actor=actor, created_at=now,
        from_status=comment.status, to_status=to_status, reason=reason, edited_body=edited,
    )
    session.add(action)
    if resolving:
        session.flush()  # the decision's id, for an undo to find this escalation again
        session.add(AuditEntry(
            user_id=user_id, actor=actor, created_at=now, action="comment.escalation_resolve",
            target_type="comment", target_id=str(comment.id), details={
                "decision": to_status, "decision_id": action.id, "reason": reason,
                "escalation": {"at": comment.escalated_at.isoformat(),
                               "by": comment.escalated_by, "note": comment.escalation_note}}))
    session.commit()
    if delivery_id is not None:
        _send_after_commit([delivery_id])


def _send_after_commit(delivery_ids: list[int]) -> None:
    """Queue the committed deliveries from a web request; elsewhere (scripts, the CLI) the
    webhook sweep finds them still pending and sends them."""
    if has_app_context() and "vimod.producer" in current_app.extensions:
        enqueue_webhooks(current_app.extensions["vimod.producer"], delivery_ids)


def approve(session: Session, comment: Comment, user_id: int, actor: str,
            edited_body: str | None = None) -> None:
    if comment.status not in DECIDABLE:
        raise ModerationError(_l("This comment has already been handled."))
    edited = None
    if edited_body is not None:
        edited = unicodedata.normalize("NFC", edited_body).strip()
        # What readers receive: the rules and the length limit of their own comments.
        if error := text_error(edited, required=True, max_length=_max_length(comment)):
            raise ModerationError(error, 422)
        original = unicodedata.normalize("NFC", comment.body_original).strip()
        if edited == original:
            edited = None
    published = edited or unicodedata.normalize("NFC", comment.body_original).strip()
    _change(session, comment, user_id, actor, CommentStatus.approved,
            "edited" if edited else None, edited, published)


def reject(session: Session, comment: Comment, user_id: int, actor: str, reason: str,
           note: str | None = None) -> None:
    if comment.status not in DECIDABLE:
        raise ModerationError(_l("This comment has already been handled."))
    if reason not in REJECT_REASONS:
        raise ModerationError(_l("Choose a reason for rejecting."), 400)
    _change(session, comment, user_id, actor, CommentStatus.rejected, _reason(reason, note),
            None, None)


def undo(session: Session, comment: Comment, user_id: int, actor: str) -> str:
    """Reverse this user's last decision on the comment, within UNDO_WINDOW."""
    last = session.scalar(
        select(ModerationAction).where(ModerationAction.comment_id == comment.id)
        .order_by(ModerationAction.id.desc()).limit(1)
    )
    if last is None or last.user_id != user_id or last.reason == "undo":
        raise ModerationError(_l("You have no action to undo."))
    if utcnow() - last.created_at > UNDO_WINDOW:
        raise ModerationError(_l("The time to undo has passed."))
    if comment.status != last.to_status:
        raise ModerationError(_l("The comment has changed since that action."))
    if last.from_status not in PUBLISHED:
        published = None
    elif last.to_status == CommentStatus.removed:
        # `remove` keeps the text it took down (perhaps an edited one): publish it again.
        published = comment.body_published or _nfc(comment.body_original)
    else:
        published = _nfc(comment.body_original)  # what automatic approval publishes
    _change(session, comment, user_id, actor, last.from_status, "undo", None, published,
            undo=True, reopen=_escalation_resolved_by(session, comment, last, user_id, actor))
    return last.from_status


def _escalation_resolved_by(session: Session, comment: Comment, decision: ModerationAction,
                            user_id: int, actor: str) -> dict[str, Any] | None:
    """The escalation `decision` resolved, as the comment's columns were (None if it
    resolved none); its reopening is audited with the undo."""
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.target_type == "comment",
                                 AuditEntry.target_id == str(comment.id),
                                 AuditEntry.action == "comment.escalation_resolve")
        .order_by(AuditEntry.id.desc()).limit(1))
    details = (entry.details or {}) if entry is not None else {}
    if details.get("decision_id") != decision.id:
        return None
    escalation = details.get("escalation") or {}
    session.add(AuditEntry(
        user_id=user_id, actor=actor, action="comment.escalation_reopen", target_type="comment",
        target_id=str(comment.id), details={"undo_of": decision.id,
                                            "escalation": escalation}))
    return {"escalated_at": datetime.fromisoformat(escalation["at"]),
            "escalated_by": escalation.get("by"), "escalation_note": escalation.get("note")}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def remove(session: Session, comment: Comment, user_id: int, actor: str, reason: str,
           note: str | None = None) -> None:
    """Take a published comment down (sites stop showing it), with a reason; undoable."""
    if comment.status not in PUBLISHED:
        raise ModerationError(_l("Only a published comment can be removed."))
    if reason not in REMOVE_REASONS:
        raise ModerationError(_l("Choose a reason for removing."), 400)
    text = _reason(reason, note)
    # The published text stays on the row (readers no longer get it: not a published
    # status), so an undo can put back exactly what was there.
    _change(session, comment, user_id, actor, CommentStatus.removed, text, None,
            comment.body_published)


MAX_NOTE = 400


def _reason(reason: str, note: str | None) -> str:
    """The audit row's reason: the key, and the moderator's note after it."""
    note = (note or "").strip()
    if error := text_error(note, one_line=True, max_length=MAX_NOTE):
        raise ModerationError(error, 422)
    return f"{reason}: {note}" if note else reason


def _max_length(comment: Comment) -> int:
    settings = comment.site.settings or {}
    return int(settings.get("max_length") or DEFAULT_SITE_SETTINGS["max_length"])


MAX_BAN_REASON = 400


def ban_author(session: Session, comment: Comment, user_id: int, actor: str, by_email: bool,
               by_ip: bool, reject_pending: bool, duration: str = bans.DEFAULT_DURATION,
               reason: str | None = None) -> int:
    """Ban the comment's author on its site for `duration` (service/bans.py DURATIONS),
    audited; optionally reject their pending comments. Returns how many pending comments
    were rejected. Workers see the ban for the next comment they process."""
    if not (by_email or (by_ip and comment.client_ip)):
        raise ModerationError(_l("Choose to ban by e-mail or IP."), 400)
    if duration not in bans.DURATIONS:
        raise ModerationError(_l("Choose how long the ban lasts."), 400)
    reason = unicodedata.normalize("NFC", reason or "").strip()
    if error := text_error(reason, one_line=True, max_length=MAX_BAN_REASON):
        raise ModerationError(error, 422)
    email = comment.author_email.lower() if by_email else None
    ip = comment.client_ip if by_ip else None
    now = utcnow()
    ban = Ban(site_id=comment.site_id, email=email, ip=ip, created_by=user_id, created_at=now,
              reason=reason or f"from comment {comment.id}",
              expires_at=bans.expiry(duration, now))
    session.add(ban)
    session.flush()
    session.add(AuditEntry(
        user_id=user_id, actor=actor, action="ban.create", target_type="site",
        target_id=str(comment.site_id), created_at=now,
        details={"ban": ban.id, "email": email, "ip": ip, "duration": duration,
                 "expires_at": ban.expires_at.isoformat() if ban.expires_at else None,
                 "reason": reason or None, "comment": comment.id}))
    session.commit()
    _announce_bans()
    if not reject_pending:
        return 0
    who = []
    if email:
        who.append(func.lower(Comment.author_email) == email)
    if ip:
        who.append(Comment.client_ip == ip)
    pending = session.scalars(select(Comment).where(
        Comment.site_id == comment.site_id, Comment.status.in_(DECIDABLE), or_(*who),
        Comment.escalated_at.is_(None)))  # an escalated one waits for a senior editor
    rejected = 0
    for other in list(pending):
        try:
            reject(session, other, user_id, actor, "banned")
            rejected += 1
        except ModerationError:
            session.rollback()
    return rejected


def lift_ban(session: Session, ban: Ban, user_id: int, actor: str) -> None:
    """Lift a ban before its end, audited (who, when); the author may comment again from
    their next comment on."""
    now = utcnow()
    if ban.lifted_at is not None:
        raise ModerationError(_l("This ban has already been lifted."))
    if ban.state(now) != "active":
        raise ModerationError(_l("This ban has already ended."))
    changed = session.execute(
        update(Ban).where(Ban.id == ban.id, Ban.lifted_at.is_(None))
        .values(lifted_at=now, lifted_by=user_id)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        session.rollback()
        raise ModerationError(_l("This ban has already been lifted."))
    session.add(AuditEntry(
        user_id=user_id, actor=actor, action="ban.lift", target_type="site",
        target_id=str(ban.site_id), created_at=now,
        details={"ban": ban.id, "email": ban.email, "ip": ban.ip}))
    session.commit()
    session.refresh(ban)
    _announce_bans()


def _announce_bans() -> None:
    """Tell the workers (from a web request; elsewhere they see it within their TTL)."""
    if has_app_context() and "vimod.redis" in current_app.extensions:
        bans.bump_generation(current_app.extensions["vimod.redis"])
