"""Bans: an author banned on one site by e-mail and/or IP, for a while (a suspension) or
for good, until it expires or a moderator lifts it. Shared by the review pages (service/)
and the workers (workers/pipeline/resources.py), which must see a new or lifted ban for the
very next comment they process: every change bumps a generation number in Redis that the
workers read before each comment's ban check."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis as redis_lib
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, or_

from service import change_signal
from service.storage import Ban

GENERATION_KEY = "vimod:bans:generation"

# The durations a moderator bans for (the card's choice), in this order.
DURATIONS: dict[str, tuple[timedelta | None, LazyString]] = {
    "1d": (timedelta(days=1), _l("1 day")),
    "7d": (timedelta(days=7), _l("7 days")),
    "30d": (timedelta(days=30), _l("30 days")),
    "permanent": (None, _l("permanent")),
}
# A week by default: long enough to outlast the news cycle or the flood that earned it, and
# a mistake (a shared IP, the wrong author) ends by itself; "permanent" is one click away.
DEFAULT_DURATION = "7d"

STATES: dict[str, LazyString] = {
    "active": _l("in force"),
    "expired": _l("expired"),
    "lifted": _l("lifted"),
}


def expiry(duration: str, now: datetime) -> datetime | None:
    """When a ban made `now` for `duration` ends (None: never). KeyError if unknown."""
    delta = DURATIONS[duration][0]
    return None if delta is None else now + delta


def active(now: datetime) -> ColumnElement[bool]:
    """The bans that apply at `now`: not lifted, not expired."""
    return and_(Ban.lifted_at.is_(None), or_(Ban.expires_at.is_(None), Ban.expires_at > now))


def in_state(state: str, now: datetime) -> ColumnElement[bool]:
    if state == "lifted":
        return Ban.lifted_at.is_not(None)
    if state == "expired":
        return and_(Ban.lifted_at.is_(None), Ban.expires_at.is_not(None), Ban.expires_at <= now)
    return active(now)


def bump_generation(redis: redis_lib.Redis) -> None:
    """Tell every worker the bans changed (after the commit)."""
    change_signal.announce(redis, GENERATION_KEY, "ban")


def read_generation(redis: redis_lib.Redis) -> int:
    """The bans' generation (raises redis.RedisError when Redis cannot answer)."""
    return change_signal.generation(redis, GENERATION_KEY)
