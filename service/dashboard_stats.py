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

from sqlalchemy import String, and_, case, func, or_, select
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


def _utc(value: datetime | str) -> datetime:
    """An aggregate over a subquery's column comes back untyped on SQLite (text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


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


@dataclass(frozen=True)
class DecisionCount:
    actor: str       # a username, or "system:<phase>" for the pipeline
    day: date
    to_status: str
    n: int

    @property
    def automatic(self) -> bool:
        return self.actor.startswith("system:")


def decision_counts(session: Session, window: Window,
                    site_id: int | None = None) -> list[DecisionCount]:
    """Decisions per actor, Vietnam day and outcome in the window, from the audit trail:
    the pipeline's (auto_approved, auto_rejected) and the moderators' (approved, rejected;
    an undo is no decision, the decision it undid was still made). One scan of the audit
    rows — narrow, unlike the comments with their analysis — feeds two sections."""
    action = ModerationAction
    inner = select(action.actor.label("actor"), vn_day(action.created_at).label("day"),
                   action.to_status.label("to_status")).where(
        action.created_at >= window.start,
        action.to_status.in_(HUMAN_DECISIONS + AUTOMATIC_DECISIONS),
        or_(action.reason.is_(None), action.reason != "undo"))
    if site_id is not None:
        inner = inner.join(Comment, Comment.id == action.comment_id).where(
            Comment.site_id == site_id)
    sub = inner.subquery()
    rows = session.execute(select(sub.c.actor, sub.c.day, sub.c.to_status, func.count())
                           .group_by(sub.c.actor, sub.c.day, sub.c.to_status))
    return [DecisionCount(actor, _day(day), to_status, n) for actor, day, to_status, n in rows]


def decisions_per_moderator(counts: list[DecisionCount]) -> list[ModeratorDays]:
    """Approvals and rejections each person made per day; busiest moderator first."""
    people: dict[str, ModeratorDays] = {}
    for c in counts:
        if c.automatic or c.to_status not in HUMAN_DECISIONS:
            continue
        person = people.setdefault(c.actor, ModeratorDays(c.actor))
        bucket = person.approved if c.to_status == CommentStatus.approved else person.rejected
        bucket[c.day] = bucket.get(c.day, 0) + c.n
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


def decisions_per_day(counts: list[DecisionCount], window: Window) -> list[DayDecisions]:
    """Per day of the window: the pipeline's automatic decisions and the moderators'. A
    moderator reversing an automatic decision adds a decision of theirs; the automatic one
    still counts as made, on its own day."""
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        if c.automatic == (c.to_status in AUTOMATIC_DECISIONS):
            by_day[c.day][c.to_status] += c.n
    return [DayDecisions(day, **by_day.get(day, {})) for day in window.days]


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
    the model flagged as spam/offensive/hate (its top label), or rejected as one of those a
    comment it did not flag. Rejections for other reasons (off topic, duplicate, no
    diacritics, banned author…) say nothing about the category and are counted apart.
    Newest version first."""
    # What the model said: the category it flagged (the classifier phase flags its top
    # label when that is not clean), read off the `flags` column — a LIKE, where reading
    # the analysis JSON costs five times as much. Rows without the column filled (written
    # before it existed) fall back to the stored label, or the scores' arg-max.
    clean, spam, offensive, hate = (_score(c) for c in CATEGORIES)
    from_json = func.coalesce(
        Comment.analysis[("phases", "classifier", "label")].as_string(),
        case((and_(clean >= spam, clean >= offensive, clean >= hate), "clean"),
             (and_(spam >= offensive, spam >= hate), "spam"),
             (offensive >= hate, "offensive"),
             else_="hate"))
    top = case(
        (Comment.flags.is_(None), from_json),
        *((Comment.flags.like(f"% {c} %"), c) for c in CATEGORIES[1:]),
        else_="clean")
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
    label = case((Comment.status == CommentStatus.approved, "clean"),
                 (Comment.status == CommentStatus.rejected, code), else_=None)
    # A version's recent record is what an admin weighs when promoting or rolling back;
    # the bound also keeps the scan from growing with the years.
    scope = [Comment.model_version.is_not(None), Comment.analysed_at >= since]
    if site_id is not None:
        scope.append(Comment.site_id == site_id)
    inner = (
        select(Comment.model_version.label("version"), top.label("top"),
               label.label("label"), Comment.analysed_at)
        .outerjoin(latest, and_(latest.c.comment_id == Comment.id,
                                Comment.status == CommentStatus.rejected))
        .outerjoin(action, and_(action.id == latest.c.action_id,
                                action.to_status == CommentStatus.rejected))
        .where(*scope)
    ).subquery()

    versions: dict[str, VersionOverrides] = {}
    for version, model, label, n, first, last in session.execute(
            select(inner.c.version, inner.c.top, inner.c.label, func.count(),
                   func.min(inner.c.analysed_at), func.max(inner.c.analysed_at))
            .group_by(inner.c.version, inner.c.top, inner.c.label)):
        v = versions.setdefault(version, VersionOverrides(version))
        v.scored += n
        v.first_scored = min(filter(None, (v.first_scored, _utc(first))))
        v.last_scored = max(filter(None, (v.last_scored, _utc(last))))
        if label is None:
            continue  # not (or not yet) decided by a person
        if label == "other":
            v.other_reasons += n
            continue
        v.decided += n
        if model != "clean" and label == "clean":
            v.approved_flagged += n
        elif model == "clean" and label != "clean":
            v.rejected_clean += n
        elif model != label:
            v.other_category += n
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(versions.values(), key=lambda v: (v.last_scored or epoch, v.version),
                  reverse=True)
