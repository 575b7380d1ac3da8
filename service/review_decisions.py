"""The moderator's last decision, kept in their session for the undo window, so that every
staff page shows it ("Đã duyệt #28 · Hoàn tác (u)") and `u` undoes *that* decision,
wherever the moderator has moved on to since."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask, session

from service.moderation import UNDO_WINDOW
from service.storage.tables import utcnow

_KEY = "vimod_last_decision"


@dataclass(frozen=True)
class Decision:
    comment_id: int
    action: str  # the status the comment was moved to
    at: datetime

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.at + UNDO_WINDOW - utcnow()).total_seconds()))


def remember(comment_id: int, action: str) -> None:
    session[_KEY] = {"id": comment_id, "action": action, "at": utcnow().isoformat()}


def forget(comment_id: int | None = None) -> None:
    """Forget the last decision (only if it is this comment's, when one is named)."""
    last = session.get(_KEY)
    if last and (comment_id is None or last.get("id") == comment_id):
        session.pop(_KEY, None)


def last() -> Decision | None:
    """The last decision, while it can still be undone."""
    raw = session.get(_KEY)
    if not raw:
        return None
    try:
        decision = Decision(int(raw["id"]), str(raw["action"]), datetime.fromisoformat(raw["at"]))
    except (KeyError, TypeError, ValueError):
        session.pop(_KEY, None)
        return None
    if decision.seconds_left <= 0:
        session.pop(_KEY, None)
        return None
    return decision


def init_app(app: Flask) -> None:
    @app.context_processor
    def _last_decision() -> dict:
        return {"last_decision": last}
