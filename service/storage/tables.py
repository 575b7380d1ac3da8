"""Database tables: sites, articles, comments, the moderation audit trail, users and their
sessions."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from models.normalize import search_key


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class CommentStatus(enum.StrEnum):
    received = "received"
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    auto_approved = "auto_approved"
    auto_rejected = "auto_rejected"
    removed = "removed"


# What readers see: approved by a moderator or automatically (never removed or pending).
PUBLISHED = (CommentStatus.approved, CommentStatus.auto_approved)
_PUBLISHED_SQL = "status IN ('approved', 'auto_approved')"


class Role(enum.StrEnum):
    moderator = "moderator"
    # A moderator who also decides the comments moderators escalate (on their sites).
    senior = "senior"
    admin = "admin"


DEFAULT_SITE_SETTINGS: dict[str, Any] = {
    "max_length": 2000,
    "premoderation": True,
    "diacritics_policy": "flag",  # flag | reject | off
}


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(255))
    # Only a SHA-256 of the secret key is kept: the key is random (256 bits), so
    # a fast hash is as safe as a slow one and costs nothing per request.
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=lambda: dict(DEFAULT_SITE_SETTINGS))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def setting(self, name: str) -> Any:
        return (self.settings or {}).get(name, DEFAULT_SITE_SETTINGS.get(name))


def _folded(*sources: str):  # noqa: ANN202
    """A column default: search_key of the row's `sources` columns, as the INSERT gives
    them (ORM and Core inserts; the intake's raw insert gives the value itself)."""
    def default(context) -> str:  # noqa: ANN001
        params = context.get_current_parameters()
        return search_key(*(params.get(source) for source in sources))
    return default


def trigram_index(name: str, column: str) -> Index:
    """A pg_trgm GIN index: serves the review queue's LIKE '%…%' searches on PostgreSQL.
    PostgreSQL only (info["dialects"], which service/migrations/env.py and the migration
    tests read): SQLite has no trigram index and a B-tree would not serve '%…%'."""
    return Index(name, column, postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops"},
                 info={"dialects": ("postgresql",)}).ddl_if(dialect="postgresql")


def include_for(dialect: str):  # noqa: ANN201
    """Alembic's include_object for a database of this dialect: an index declared for
    other dialects only (trigram_index) is not expected there."""
    def include(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
        if type_ == "index" and not reflected:
            dialects = obj.info.get("dialects")
            return dialects is None or dialect in dialects
        return True
    return include


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),
                      trigram_index("ix_articles_title_folded", "title_folded"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(500))
    # The title as the queue's article filter searches it (models.normalize.search_key):
    # set on insert, and by whoever changes the title (service/api/lookups.py).
    title_folded: Mapped[str | None] = mapped_column(Text, default=_folded("title"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("site_id", "idempotency_key"),
        Index("ix_comments_status_enqueued_at", "status", "enqueued_at"),
        Index("ix_comments_site_status_priority", "site_id", "status", "priority"),
        # An article's comments; with site, status and priority the queue's article filter
        # (one article, or all whose title matches) counts its tabs from the index alone.
        Index("ix_comments_article", "article_id", "site_id", "status", "priority"),
        Index("ix_comments_site_text_key", "site_id", "text_key"),
        Index("ix_comments_client_ip_received_at", "client_ip", "received_at"),
        Index("ix_comments_author_email", "site_id", "author_email"),
        # The dashboard's windows ("analysed in the last 90 days") read a range of this.
        Index("ix_comments_analysed_at", "analysed_at"),
        # The review queue's first page: pending comments of a site by priority, read
        # straight off this (small, partial) index instead of sorting the whole backlog.
        Index("ix_comments_pending_queue", "site_id", "priority",
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        # "Least certain first": pending comments by certainty (PostgreSQL's ascending order
        # already puts NULLs last), ties by age. site_id trails, not leads, so one index
        # serves one site (checked inside the index), several sites, or all in order.
        Index("ix_comments_pending_certainty", "certainty", "received_at", "id", "site_id",
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        # What readers see (service/public/reading.py, on every article page view): an
        # article's published comments in order, and their counts, from the index alone.
        Index("ix_comments_published", "article_id", "received_at", "id", "parent_id",
              postgresql_where=text(_PUBLISHED_SQL), sqlite_where=text(_PUBLISHED_SQL)),
        # The "Escalated" tab: the few comments waiting for a senior editor, oldest first.
        Index("ix_comments_escalated", "escalated_at", "site_id",
              postgresql_where=text("escalated_at IS NOT NULL"),
              sqlite_where=text("escalated_at IS NOT NULL")),
        # The review queue's text and author search (accent- and case-insensitive).
        trigram_index("ix_comments_search_folded", "search_folded"),
        trigram_index("ix_comments_author_folded", "author_folded"),
        # The flag filter (flags LIKE '% phone %'): its tab counts read only matching rows.
        trigram_index("ix_comments_flags", "flags"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(100))
    author_email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # The text exactly as submitted; never overwritten. The normal form is what
    # the checks saw; the published text is what readers see once approved.
    body_original: Mapped[str] = mapped_column(Text)
    body_normalized: Mapped[str | None] = mapped_column(Text)
    body_published: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=CommentStatus.received)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    analysed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    # How close the classifier came to a decision boundary (workers/pipeline/policy.py);
    # NULL when the comment was not scored.
    certainty: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # Hash of the request payload: a retry with the same key must carry the same comment.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # When the comment was last put on the queue: the sweep re-enqueues only
    # comments whose message has had time to be processed and was not.
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueue_count: Mapped[int] = mapped_column(Integer, default=0)
    # The analysis flags as " phone spam " so the queue can filter with LIKE on any database.
    flags: Mapped[str | None] = mapped_column(String(500))
    # SHA-1 of the normalized, accent-stripped, lower-cased text: "the same comment again".
    text_key: Mapped[str | None] = mapped_column(String(40))
    # An open escalation (service/escalation.py): a moderator handed the comment to a senior
    # editor with a note; cleared by the decision or the sending back that resolves it
    # (the history is in audit_log, target "comment").
    escalated_at: Mapped[datetime | None]
    escalated_by: Mapped[str | None] = mapped_column(String(100))  # the username
    escalation_note: Mapped[str | None] = mapped_column(String(500))
    # What the review queue's search reads (models.normalize.search_key): the text folded
    # (lower case, no marks) as submitted, and after analysis its normal form too
    # (workers/tasks.py); the author's name and email folded.
    search_folded: Mapped[str | None] = mapped_column(Text, default=_folded("body_original"))
    author_folded: Mapped[str | None] = mapped_column(
        Text, default=_folded("author_name", "author_email"))

    site: Mapped[Site] = relationship()
    article: Mapped[Article] = relationship()


class ModerationAction(Base):
    """One row per status change: the audit trail."""

    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100))  # username, or "system:<phase>"
    # Indexed: decisions per day, training data by date and thresholds read recent ranges.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    edited_body: Mapped[str | None] = mapped_column(Text)


class WordListEntry(Base):
    """A banned or suspect word/phrase, global (site_id NULL) or for one site. The shipped
    seed lists (models/data/wordlists) apply everywhere in addition to these rows."""

    __tablename__ = "word_list_entries"
    __table_args__ = (UniqueConstraint("site_id", "kind", "phrase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # banned | suspect
    phrase: Mapped[str] = mapped_column(String(200))
    accent_insensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ShippedEntryOff(Base):
    """A shipped word-list entry (models/data/wordlists) switched off, everywhere (site_id
    NULL, the global admin's choice) or on one site: the matcher leaves it out there."""

    __tablename__ = "shipped_entry_switch_offs"
    __table_args__ = (UniqueConstraint("site_id", "kind", "phrase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # banned | suspect
    phrase: Mapped[str] = mapped_column(String(200))  # as in the shipped file
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Ban(Base):
    """An author banned on one site, by e-mail and/or IP: their comments are auto-rejected."""

    __tablename__ = "bans"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(45))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A suspension ends by itself at expires_at (NULL: permanent); a moderator may lift it
    # earlier (lifted_at/lifted_by). Either way the ban no longer applies.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def state(self, now: datetime) -> str:
        """"active", "expired" or "lifted" at `now`."""
        if self.lifted_at is not None:
            return "lifted"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


user_sites = Table(
    "user_sites",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.moderator)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sites: Mapped[list[Site]] = relationship(secondary=user_sites)


class AuditEntry(Base):
    """An administrator's change (site settings and keys, users, word lists, training data,
    models): who changed what, when, and the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))  # e.g. site.settings, user.disable
    target_type: Mapped[str] = mapped_column(String(30))  # site | user | word | model | ...
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TrainingOverride(Base):
    """An admin's correction of the example a moderator's decision implies: another label,
    or left out of training altogether."""

    __tablename__ = "training_overrides"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(20))  # NULL keeps the derived label
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TrainingExample(Base):
    """A labelled text an admin imported (CSV/JSONL) to train on beside the decisions."""

    __tablename__ = "training_examples"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(200))  # the imported file's name
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TrainingRun(Base):
    """One retraining job: its stage and progress for the live page, then its outcome."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # queued | running | succeeded | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    stage: Mapped[str | None] = mapped_column(String(50))
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    message: Mapped[str | None] = mapped_column(String(1000))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[str | None] = mapped_column(String(64))  # the registered model
    task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WebhookDelivery(Base):
    """One event for a site's webhook (the outbox): written in the same transaction as the
    decision it reports, then sent by a worker until the site answers 2xx or the attempts
    run out. The payload is stored exactly as it is sent."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The admin page: a site's deliveries newest first, all or only the failed ones.
        Index("ix_webhook_deliveries_site", "site_id", "id"),
        Index("ix_webhook_deliveries_site_status", "site_id", "status", "id"),
        # The sweep: pending deliveries whose next attempt is overdue (a lost message).
        Index("ix_webhook_deliveries_due", "next_attempt_at",
              postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # NULL for a test event (and once the comment is deleted).
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set on a copy an admin asked for: the delivery it repeats.
    redelivery_of: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))

    site: Mapped[Site] = relationship()


class WebhookAttempt(Base):
    """One HTTP request of a delivery: its answer's status or the error, and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class UserSession(Base):
    """A signed-in browser. The Flask session cookie carries a random token; only its SHA-256
    is kept here, so a session can be ended on the server (sign-out, password reset, a
    disabled user, "sign out everywhere") and expires when idle and at a fixed age."""

    __tablename__ = "user_sessions"
    # "Your sessions" and revoking a user's sessions: that user's rows.
    __table_args__ = (Index("ix_user_sessions_user", "user_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute lifetime's end
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
