"""Moderators' decisions: approve, reject with a reason, edit-then-approve, undo — each a
conditional status change plus an audit row, so two moderators can never both decide."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.storage import Ban, Comment, CommentStatus, ModerationAction
from service.storage.tables import utcnow

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
# Statuses a moderator may decide from (a published comment is unpublished with `remove`).
DECIDABLE = {CommentStatus.pending, CommentStatus.auto_rejected, CommentStatus.auto_approved,
             CommentStatus.received}
UNDO_WINDOW = timedelta(minutes=10)
MAX_EDITED_LENGTH = 20000


class ModerationError(ValueError):
    """str(error) is the message in the current language."""

    def __init__(self, message: str | LazyString, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _change(session: Session, comment: Comment, user_id: int, actor: str, to_status: str,
            reason: str | None, edited: str | None, published: str | None) -> None:
    now = utcnow()
    changed = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, Comment.status == comment.status)
        .values(status=to_status, body_published=published,
                decided_at=None if to_status == CommentStatus.pending else now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise ModerationError(_l("Someone else has just handled this comment."))
    session.add(ModerationAction(
        comment_id=comment.id, user_id=user_id, actor=actor, created_at=now,
        from_status=comment.status, to_status=to_status, reason=reason, edited_body=edited,
    ))
    session.commit()


def approve(session: Session, comment: Comment, user_id: int, actor: str,
            edited_body: str | None = None) -> None:
    if comment.status not in DECIDABLE:
        raise ModerationError(_l("This comment has already been handled."))
    edited = None
    if edited_body is not None:
        edited = unicodedata.normalize("NFC", edited_body).strip()
        if not edited:
            raise ModerationError(_l("The edited text must not be empty."), 400)
        if len(edited) > MAX_EDITED_LENGTH:
            raise ModerationError(_l("The text is too long."), 400)
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
    text = reason + (f": {note.strip()[:400]}" if note and note.strip() else "")
    _change(session, comment, user_id, actor, CommentStatus.rejected, text, None, None)


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
    published = (unicodedata.normalize("NFC", comment.body_original).strip()
                 if last.from_status == CommentStatus.auto_approved else None)
    _change(session, comment, user_id, actor, last.from_status, "undo", None, published)
    return last.from_status


def ban_author(session: Session, comment: Comment, user_id: int, actor: str, by_email: bool,
               by_ip: bool, reject_pending: bool) -> int:
    """Ban the comment's author on its site; optionally reject their pending comments.
    Returns how many pending comments were rejected."""
    if not (by_email or (by_ip and comment.client_ip)):
        raise ModerationError(_l("Choose to ban by e-mail or IP."), 400)
    email = comment.author_email.lower() if by_email else None
    ip = comment.client_ip if by_ip else None
    session.add(Ban(site_id=comment.site_id, email=email, ip=ip, created_by=user_id,
                    reason=f"from comment {comment.id}"))
    session.commit()
    if not reject_pending:
        return 0
    who = []
    if email:
        who.append(func.lower(Comment.author_email) == email)
    if ip:
        who.append(Comment.client_ip == ip)
    pending = session.scalars(select(Comment).where(
        Comment.site_id == comment.site_id, Comment.status.in_(DECIDABLE), or_(*who)))
    rejected = 0
    for other in list(pending):
        try:
            reject(session, other, user_id, actor, "banned")
            rejected += 1
        except ModerationError:
            session.rollback()
    return rejected
