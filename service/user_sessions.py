"""Server-side sign-in sessions (the user_sessions table).

A sign-in starts a session: a random token goes into the (signed) Flask session cookie and
its SHA-256 into the table. Every request looks the token up (service/auth.py's user loader:
one indexed query with the user and their sites) and is signed out when the session was
revoked, the user disabled, or the session has been idle or alive too long. Revoking is an
UPDATE: sign-out ends one session; a password reset, a disabled account and "sign out
everywhere" end all of a user's sessions, in every process at once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, joinedload

from service.storage import User, UserSession
from service.storage.tables import utcnow

# last_seen_at is written at most this often: one UPDATE per session a minute, not one a click.
TOUCH_EVERY = timedelta(minutes=1)
# Ended sessions stay listed this long after their end, then go (when the user signs in).
KEEP_ENDED = timedelta(days=7)
MAX_USER_AGENT = 300


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta  # no request for this long ends a session
    absolute: timedelta  # a session ends this long after sign-in, busy or not


class Ended(StrEnum):
    revoked = "revoked"  # signed out, password reset, "sign out everywhere"
    disabled = "disabled"  # the user was disabled
    idle = "idle"
    expired = "expired"  # the absolute lifetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(session: Session, user_id: int, lifetimes: Lifetimes, ip: str | None,
          user_agent: str | None) -> tuple[str, UserSession]:
    """A new session for the user (added to `session`, committed by the caller): its token,
    for the cookie, and its row."""
    now = utcnow()
    session.execute(delete(UserSession).where(UserSession.user_id == user_id,
                                              UserSession.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    row = UserSession(token_hash=hash_token(token), user_id=user_id, created_at=now,
                      last_seen_at=now, expires_at=now + lifetimes.absolute,
                      ip=(ip or "")[:64] or None,
                      user_agent=(user_agent or "")[:MAX_USER_AGENT] or None)
    session.add(row)
    session.flush()
    return token, row


def find(session: Session, token: str) -> tuple[UserSession, User] | None:
    """The session with this token and its user (with the user's sites), in one query."""
    if not token or len(token) > 100:
        return None
    row = session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token))
        .options(joinedload(User.sites))
    ).unique().first()
    return (row[0], row[1]) if row else None


def ended(record: UserSession, user: User, lifetimes: Lifetimes,
          now: datetime | None = None) -> Ended | None:
    """Why this session is over, or None while it is good."""
    now = now or utcnow()
    if record.revoked_at is not None:
        return Ended.revoked
    if not user.is_active:
        return Ended.disabled
    if now >= record.expires_at:
        return Ended.expired
    if now - record.last_seen_at >= lifetimes.idle:
        return Ended.idle
    return None


def touch(session: Session, record: UserSession, now: datetime | None = None) -> None:
    """Note that the session is in use (at most once per TOUCH_EVERY). Committed at once when
    the request's session holds nothing else: the loader runs before the view changes
    anything, and a view's half-made change must never be committed here."""
    now = now or utcnow()
    if now - record.last_seen_at < TOUCH_EVERY:
        return
    if session.new or session.dirty or session.deleted:
        return
    session.execute(update(UserSession).where(UserSession.id == record.id)
                    .values(last_seen_at=now))
    session.commit()


def revoke(session: Session, session_id: int, user_id: int) -> bool:
    """End one of the user's sessions; False when it was not theirs or already over."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.user_id == user_id,
               UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return result.rowcount > 0


def revoke_all(session: Session, user_id: int, keep: int | None = None) -> int:
    """End every session of the user (but `keep`, the one making the change, if given); how
    many were still open. Committed by the caller, with the change that calls for it."""
    now = utcnow()
    query = update(UserSession).where(UserSession.user_id == user_id,
                                      UserSession.revoked_at.is_(None),
                                      UserSession.expires_at > now)
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return session.execute(query.values(revoked_at=now)).rowcount


def open_sessions(session: Session, user_id: int, lifetimes: Lifetimes) -> list[UserSession]:
    """The user's sessions still good now, newest activity first."""
    now = utcnow()
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
               UserSession.expires_at > now, UserSession.last_seen_at > now - lifetimes.idle)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))
    return list(rows)
