"""The database layer (SQLAlchemy 2). Not to be confused with the ML models in `models/`."""

from service.storage.engine import make_engine, make_session_factory
from service.storage.tables import (
    Article,
    Ban,
    Base,
    Comment,
    CommentStatus,
    ModerationAction,
    Role,
    Site,
    User,
    WordListEntry,
)

__all__ = [
    "Article",
    "Ban",
    "Base",
    "Comment",
    "CommentStatus",
    "ModerationAction",
    "Role",
    "Site",
    "User",
    "WordListEntry",
    "make_engine",
    "make_session_factory",
]
