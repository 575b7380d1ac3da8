"""The database layer (SQLAlchemy 2). Not to be confused with the ML models in `models/`."""

from service.storage.engine import make_engine, make_session_factory
from service.storage.tables import (
    Article,
    AuditEntry,
    Ban,
    Base,
    Comment,
    CommentStatus,
    ModerationAction,
    Role,
    Site,
    TrainingExample,
    TrainingOverride,
    TrainingRun,
    User,
    UserSession,
    WebhookAttempt,
    WebhookDelivery,
    WordListEntry,
)

__all__ = [
    "Article",
    "AuditEntry",
    "Ban",
    "Base",
    "Comment",
    "CommentStatus",
    "ModerationAction",
    "Role",
    "Site",
    "TrainingExample",
    "TrainingOverride",
    "TrainingRun",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WordListEntry",
    "make_engine",
    "make_session_factory",
]
