"""What readers may see of an article's comments: the published ones, their published text
and author name, threaded. Nothing else is ever selected here, so nothing else can leak."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from service.storage import Article, Comment
from service.storage.tables import PUBLISHED

MAX_PER_PAGE = 50
MAX_COUNTS = 100

# The only columns that leave through the public API.
_PUBLIC_COLUMNS = (Comment.id, Comment.parent_id, Comment.author_name, Comment.body_published,
                   Comment.received_at, Comment.decided_at)


@dataclass
class PublicComment:
    id: int
    parent_id: int | None
    author: str
    body: str
    created_at: datetime
    published_at: datetime | None
    replies: list[PublicComment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "author": {"name": self.author},
            "body": self.body,
            "created_at": _iso(self.created_at),
            "published_at": _iso(self.published_at),
            "replies": [r.to_dict() for r in self.replies],
        }


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@dataclass
class ThreadPage:
    threads: int  # published comments that open a thread (see _roots)
    count: int  # all published comments of the article
    comments: list[PublicComment]


def _article_id(session: Session, site_id: int, external_id: str) -> int | None:
    return session.scalar(select(Article.id).where(Article.site_id == site_id,
                                                   Article.external_id == external_id))


def _published(article_id: int):  # noqa: ANN202
    return (Comment.article_id == article_id) & Comment.status.in_(PUBLISHED)


def _roots(article_id: int):  # noqa: ANN202
    """Published comments that open a thread: no parent, or a parent readers cannot see (it
    was rejected or removed) — such a reply stands on its own rather than disappear."""
    parent = aliased(Comment)
    return (
        select(*_PUBLIC_COLUMNS)
        .outerjoin(parent, (parent.id == Comment.parent_id) & parent.status.in_(PUBLISHED))
        .where(_published(article_id), parent.id.is_(None))
    )


def _row(row: Any) -> PublicComment:
    return PublicComment(row.id, row.parent_id, row.author_name, row.body_published or "",
                         row.received_at, row.decided_at)


def thread_page(session: Session, site_id: int, external_id: str, *, newest_first: bool,
                page: int, per_page: int) -> ThreadPage:
    article_id = _article_id(session, site_id, external_id)
    if article_id is None:
        return ThreadPage(0, 0, [])
    # Every published comment's parent, read off ix_comments_published alone: the counts
    # and the threads come from it (cheaper than a second, anti-joined count query).
    parents: dict[int, int | None] = dict(session.execute(
        select(Comment.id, Comment.parent_id).where(_published(article_id))).all())
    threads = sum(1 for parent in parents.values() if parent not in parents)
    order = (Comment.received_at.desc(), Comment.id.desc()) if newest_first else (
        Comment.received_at, Comment.id)
    roots = [_row(r) for r in session.execute(
        _roots(article_id).order_by(*order).offset((page - 1) * per_page).limit(per_page))]
    if roots and len(parents) > threads:
        _attach_replies(session, parents, roots)
    return ThreadPage(threads, len(parents), roots)


def _attach_replies(session: Session, parents: dict[int, int | None],
                    roots: list[PublicComment]) -> None:
    """Every published reply under these roots, at any depth, flattened, oldest first."""
    by_root = {r.id: r for r in roots}
    wanted: dict[int, int] = {}  # reply id → its root on this page
    for comment_id in parents:
        node, seen = comment_id, 0
        # Walk up while the parent is published; the last published ancestor is the root.
        while parents.get(node) in parents and seen < 1000:
            node, seen = parents[node], seen + 1
        if node != comment_id and node in by_root:
            wanted[comment_id] = node
    if not wanted:
        return
    rows = session.execute(
        select(*_PUBLIC_COLUMNS).where(Comment.id.in_(list(wanted)))
        .order_by(Comment.received_at, Comment.id))
    for row in rows:
        by_root[wanted[row.id]].replies.append(_row(row))


def is_published(session: Session, site_id: int, external_id: str, comment_id: int) -> bool:
    """Whether readers can see this comment under this article (so it may be replied to)."""
    return session.scalar(
        select(Comment.id).join(Article, Article.id == Comment.article_id)
        .where(Comment.id == comment_id, Comment.site_id == site_id,
               Article.external_id == external_id, Comment.status.in_(PUBLISHED))) is not None


def count_published(session: Session, site_id: int, external_ids: list[str]) -> dict[str, int]:
    """Published comments (replies included) per article; 0 for an unknown article."""
    counts = dict.fromkeys(external_ids, 0)
    if not external_ids:
        return counts
    rows = session.execute(
        select(Article.external_id, func.count(Comment.id))
        .join(Comment, Comment.article_id == Article.id)
        .where(Article.site_id == site_id, Article.external_id.in_(external_ids),
               Comment.status.in_(PUBLISHED))
        .group_by(Article.external_id))
    counts.update({external_id: n for external_id, n in rows})
    return counts
