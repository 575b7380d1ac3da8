"""The admin dashboard's figures, aggregated in the database (GROUP BY day, never a row per
comment in Python): pending comments per site, decisions per moderator per day, the share
of automatic decisions per day, and how often moderators overrode each model version.

Days are calendar days in Vietnam time. `vn_day()` compiles to each database's own date
arithmetic: PostgreSQL converts with the zone, SQLite adds the fixed offset (Vietnam has
kept UTC+7, without daylight saving, since 1975).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from service.storage import Comment, CommentStatus, ModerationAction, Site

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS = 14
OVERRIDE_DAYS = 90  # how far back the overrides per model version look
CATEGORIES = ("clean", "spam", "offensive", "hate")
HUMAN_DECISIONS = (CommentStatus.approved, CommentStatus.rejected)
AUTOMATIC_DECISIONS = (CommentStatus.auto_approved, CommentStatus.auto_rejected)


class vn_day(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """The Vietnam calendar day of a UTC timestamp column, as 'YYYY-MM-DD' text."""

    type = String()
    inherit_cache = True
    name = "vn_day"


@compiles(vn_day, "postgresql")
def _vn_day_postgresql(element: vn_day, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"to_char(({arg}) AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')"


@compiles(vn_day, "sqlite")
def _vn_day_sqlite(element: vn_day, compiler: Any, **kw: Any) -> str:
    # SQLite holds the UTC time as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _human(action: type[ModerationAction] = ModerationAction):  # noqa: ANN202
    # A person: a user id, or (the user since deleted) an actor that is not the pipeline.
    return or_(action.user_id.is_not(None), not_(action.actor.startswith("system:")))


@dataclass(frozen=True)
class Window:
    """The last `DAYS` Vietnam calendar days, today included."""

    days: tuple[date, ...]

    @classmethod
    def ending(cls, now: datetime, length: int = DAYS) -> Window:
        today = now.astimezone(VIETNAM).date()
        return cls(tuple(today - timedelta(days=n) for n in range(length - 1, -1, -1)))

    @property
    def start(self) -> datetime:
        """Midnight in Vietnam of the first day, in UTC (for the WHERE clause)."""
        return datetime.combine(self.days[0], time(0), tzinfo=VIETNAM).astimezone(UTC)


# --- pending ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SitePending:
    site_id: int
    name: str
    pending: int
    oldest: datetime | None  # received_at of the oldest pending comment

    def age(self, now: datetime) -> timedelta | None:
        return None if self.oldest is None else max(timedelta(0), now - self.oldest)


def pending_by_site(session: Session) -> list[SitePending]:
    """Every site with its pending count and oldest pending comment (read off the pending
    queue's partial index)."""
    counts = {site_id: (n, oldest) for site_id, n, oldest in session.execute(
        select(Comment.site_id, func.count(), func.min(Comment.received_at))
        .where(Comment.status == CommentStatus.pending).group_by(Comment.site_id))}
    sites = session.execute(select(Site.id, Site.name).order_by(Site.name, Site.id)).all()
    return [SitePending(site_id, name, *counts.get(site_id, (0, None)))
            for site_id, name in sites]


# --- decisions per moderator per day --------------------------------------------------------

@dataclass
class ModeratorDays:
    actor: str
    approved: dict[date, int] = field(default_factory=dict)
    rejected: dict[date, int] = field(default_factory=dict)

    def on(self, day: date) -> int:
        return self.approved.get(day, 0) + self.rejected.get(day, 0)

    @property
    def total_approved(self) -> int:
        return sum(self.approved.values())

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def total(self) -> int:
        return self.total_approved + self.total_rejected


def decisions_per_moderator(session: Session, window: Window,
                            site_id: int | None = None) -> list[ModeratorDays]:
    """Approvals and rejections each person made per day (an undo does not count as a
    decision; the decision it undid was still made). Busiest moderator first."""
    action = ModerationAction
    inner = select(action.actor.label("actor"), vn_day(action.created_at).label("day"),
                   action.to_status.label("to_status")).where(
        _human(), action.created_at >= window.start, action.to_status.in_(HUMAN_DECISIONS),
        or_(action.reason.is_(None), action.reason != "undo"))
    if site_id is not None:
        inner = inner.join(Comment, Comment.id == action.comment_id).where(
            Comment.site_id == site_id)
    sub = inner.subquery()
    rows = session.execute(select(sub.c.actor, sub.c.day, sub.c.to_status, func.count())
                           .group_by(sub.c.actor, sub.c.day, sub.c.to_status))
    people: dict[str, ModeratorDays] = {}
    for actor, day, to_status, n in rows:
        person = people.setdefault(actor, ModeratorDays(actor))
        bucket = person.approved if to_status == CommentStatus.approved else person.rejected
        bucket[_day(day)] = bucket.get(_day(day), 0) + n
    return sorted(people.values(), key=lambda p: (-p.total, p.actor))


# --- automatic decisions ----------------------------------------------------------------------

@dataclass(frozen=True)
class DayDecisions:
    day: date
    auto_approved: int = 0
    auto_rejected: int = 0
    approved: int = 0
    rejected: int = 0

    @property
    def automatic(self) -> int:
        return self.auto_approved + self.auto_rejected

    @property
    def by_moderators(self) -> int:
        return self.approved + self.rejected

    @property
    def total(self) -> int:
        return self.automatic + self.by_moderators

    @property
    def automatic_rate(self) -> float | None:
        return self.automatic / self.total if self.total else None


def decisions_per_day(session: Session, window: Window,
                      site_id: int | None = None) -> list[DayDecisions]:
    """Comments decided each day by their current decision: automatic (auto_approved,
    auto_rejected) or a moderator's (approved, rejected; an automatic decision a moderator
    reversed counts as the moderator's, on the day of the reversal)."""
    inner = select(vn_day(Comment.decided_at).label("day"), Comment.status.label("status")
                   ).where(Comment.decided_at >= window.start,
                           Comment.status.in_(HUMAN_DECISIONS + AUTOMATIC_DECISIONS))
    if site_id is not None:
        inner = inner.where(Comment.site_id == site_id)
    sub = inner.subquery()
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    for day, status, n in session.execute(select(sub.c.day, sub.c.status, func.count())
                                          .group_by(sub.c.day, sub.c.status)):
        counts[_day(day)][status] = n
    return [DayDecisions(day, **counts.get(day, {})) for day in window.days]


# --- moderators overriding the model ---------------------------------------------------------

@dataclass
class VersionOverrides:
    version: str
    scored: int = 0                 # comments this version scored
    first_scored: datetime | None = None
    last_scored: datetime | None = None
    decided: int = 0                # of those, decided by a moderator with a content label
    approved_flagged: int = 0       # model: not clean; moderator: approved
    rejected_clean: int = 0         # model: clean; moderator: rejected as spam/offensive/hate
    other_category: int = 0         # both not clean, different categories (not an override)
    other_reasons: int = 0          # rejected for reasons that name no category (left out)
    by_top: dict[tuple[str, str], int] = field(default_factory=dict)  # (model, moderator)

    @property
    def overridden(self) -> int:
        return self.approved_flagged + self.rejected_clean

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.decided if self.decided else None


def _score(name: str):  # noqa: ANN202
    return func.coalesce(Comment.analysis[("scores", name)].as_float(), 0.0)


def override_rates(session: Session, since: datetime,
                   site_id: int | None = None) -> list[VersionOverrides]:
    """Per model version, over the comments analysed since `since`: of those it scored
    that a moderator then decided, how often the moderator disagreed — approved a comment
    whose top label was not `clean`, or rejected as spam/offensive/hate one whose top label
    was `clean`. Rejections for other reasons (off topic, duplicate, no diacritics, banned
    author…) say nothing about the category and are counted apart. Newest version first."""
    clean, spam, offensive, hate = (_score(c) for c in CATEGORIES)
    # The classifier phase stores its top label: one JSON lookup per row (the scores'
    # arg-max, a dozen lookups, only where it is missing; COALESCE stops at the first).
    top = func.coalesce(
        Comment.analysis[("phases", "classifier", "label")].as_string(),
        case((and_(clean >= spam, clean >= offensive, clean >= hate), "clean"),
             (and_(spam >= offensive, spam >= hate), "spam"),
             (offensive >= hate, "offensive"),
             else_="hate"))
    action = ModerationAction
    reason = action.reason
    code = case(*((or_(reason == c, reason.like(f"{c}:%")), c) for c in CATEGORIES[1:]),
                else_="other")
    # approved / rejected are only ever set by a person (the pipeline writes auto_*); a
    # rejection's category is the reason of the comment's latest rejection. (A join, not
    # a correlated subquery: PostgreSQL estimates that one so high that it JIT-compiles
    # the query, which costs more than running it.)
    latest = (select(action.comment_id, func.max(action.id).label("action_id"))
              .where(action.to_status == CommentStatus.rejected)
              .group_by(action.comment_id).subquery())
    # Bounded in time: the JSON lookups are the cost, and a version's recent record is
    # what an admin weighs when promoting or rolling back.
    scope = [Comment.model_version.is_not(None), Comment.analysed_at >= since]
    if site_id is not None:
        scope.append(Comment.site_id == site_id)
    inner = (
        select(Comment.model_version.label("version"), top.label("top"),
               case((Comment.status == CommentStatus.approved, "clean"), else_=code
                    ).label("label"))
        .outerjoin(latest, and_(latest.c.comment_id == Comment.id,
                                Comment.status == CommentStatus.rejected))
        .outerjoin(action, action.id == latest.c.action_id)
        .where(*scope, Comment.status.in_(HUMAN_DECISIONS))
    ).subquery()

    versions: dict[str, VersionOverrides] = {}
    for version, n, first, last in session.execute(
            select(Comment.model_version, func.count(), func.min(Comment.analysed_at),
                   func.max(Comment.analysed_at)).where(*scope).group_by(Comment.model_version)):
        versions[version] = VersionOverrides(version, n, first, last)
    for version, model, label, n in session.execute(
            select(inner.c.version, inner.c.top, inner.c.label, func.count())
            .group_by(inner.c.version, inner.c.top, inner.c.label)):
        v = versions.setdefault(version, VersionOverrides(version))
        label = label or "other"
        if label == "other":
            v.other_reasons += n
            continue
        v.decided += n
        v.by_top[(model, label)] = v.by_top.get((model, label), 0) + n
        if model != "clean" and label == "clean":
            v.approved_flagged += n
        elif model == "clean" and label != "clean":
            v.rejected_clean += n
        elif model != label:
            v.other_category += n
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(versions.values(), key=lambda v: (v.last_scored or epoch, v.version),
                  reverse=True)
