"""Moderators' decisions: approve, reject with a reason, edit-then-approve, undo — each a
conditional status change plus an audit row, so two moderators can never both decide."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.storage import Ban, Comment, CommentStatus, ModerationAction
from service.storage.tables import utcnow

REJECT_REASONS = {
    "no_diacritics": "Viết không dấu",
    "spam": "Spam, quảng cáo",
    "offensive": "Xúc phạm, thô tục",
    "hate": "Kích động, thù ghét",
    "off_topic": "Không liên quan",
    "duplicate": "Trùng lặp",
    "other": "Lý do khác",
    "banned": "Người viết bị chặn",
}
# Statuses a moderator may decide from (a published comment is unpublished with `remove`).
DECIDABLE = {CommentStatus.pending, CommentStatus.auto_rejected, CommentStatus.auto_approved,
             CommentStatus.received}
UNDO_WINDOW = timedelta(minutes=10)
MAX_EDITED_LENGTH = 20000


class ModerationError(ValueError):
    def __init__(self, message: str, status: int = 409) -> None:
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
        raise ModerationError("Bình luận vừa được người khác xử lý.")
    session.add(ModerationAction(
        comment_id=comment.id, user_id=user_id, actor=actor, created_at=now,
        from_status=comment.status, to_status=to_status, reason=reason, edited_body=edited,
    ))
    session.commit()


def approve(session: Session, comment: Comment, user_id: int, actor: str,
            edited_body: str | None = None) -> None:
    if comment.status not in DECIDABLE:
        raise ModerationError("Bình luận này đã được xử lý.")
    edited = None
    if edited_body is not None:
        edited = unicodedata.normalize("NFC", edited_body).strip()
        if not edited:
            raise ModerationError("Nội dung sau khi sửa không được để trống.", 400)
        if len(edited) > MAX_EDITED_LENGTH:
            raise ModerationError("Nội dung quá dài.", 400)
        original = unicodedata.normalize("NFC", comment.body_original).strip()
        if edited == original:
            edited = None
    published = edited or unicodedata.normalize("NFC", comment.body_original).strip()
    _change(session, comment, user_id, actor, CommentStatus.approved,
            "edited" if edited else None, edited, published)


def reject(session: Session, comment: Comment, user_id: int, actor: str, reason: str,
           note: str | None = None) -> None:
    if comment.status not in DECIDABLE:
        raise ModerationError("Bình luận này đã được xử lý.")
    if reason not in REJECT_REASONS:
        raise ModerationError("Hãy chọn lý do từ chối.", 400)
    text = reason + (f": {note.strip()[:400]}" if note and note.strip() else "")
    _change(session, comment, user_id, actor, CommentStatus.rejected, text, None, None)


def undo(session: Session, comment: Comment, user_id: int, actor: str) -> str:
    """Reverse this user's last decision on the comment, within UNDO_WINDOW."""
    last = session.scalar(
        select(ModerationAction).where(ModerationAction.comment_id == comment.id)
        .order_by(ModerationAction.id.desc()).limit(1)
    )
    if last is None or last.user_id != user_id or last.reason == "undo":
        raise ModerationError("Không có thao tác nào của bạn để hoàn tác.")
    if utcnow() - last.created_at > UNDO_WINDOW:
        raise ModerationError("Đã quá thời gian hoàn tác.")
    if comment.status != last.to_status:
        raise ModerationError("Bình luận đã thay đổi kể từ thao tác đó.")
    published = (unicodedata.normalize("NFC", comment.body_original).strip()
                 if last.from_status == CommentStatus.auto_approved else None)
    _change(session, comment, user_id, actor, last.from_status, "undo", None, published)
    return last.from_status


def ban_author(session: Session, comment: Comment, user_id: int, actor: str, by_email: bool,
               by_ip: bool, reject_pending: bool) -> int:
    """Ban the comment's author on its site; optionally reject their pending comments.
    Returns how many pending comments were rejected."""
    if not (by_email or (by_ip and comment.client_ip)):
        raise ModerationError("Chọn chặn theo email hoặc IP.", 400)
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
