"""Per-process caches for the intake's hot path: which site a key belongs to, and which
article row an (site, external id) pair is. Both save a query on nearly every comment."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.security import hash_api_key
from service.storage import Article, Site
from service.storage.tables import DEFAULT_SITE_SETTINGS

# A rotated or revoked key stops working within this many seconds in every process.
SITE_TTL_SECONDS = 10.0
ARTICLES_CACHED = 20_000


@dataclass(frozen=True)
class SiteInfo:
    id: int
    name: str
    settings: dict[str, Any]

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SITE_SETTINGS.get(name))


class SiteKeys:
    def __init__(self, ttl: float = SITE_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, SiteInfo | None]] = {}

    def lookup(self, session: Session, api_key: str) -> SiteInfo | None:
        digest = hash_api_key(api_key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit and hit[0] > now:
            return hit[1]
        site = session.scalar(select(Site).where(Site.api_key_hash == digest))
        info = SiteInfo(site.id, site.name, dict(site.settings or {})) if site else None
        if len(self._cache) > 10_000:  # unknown keys must not grow it without bound
            self._cache.clear()
        self._cache[digest] = (now + self.ttl, info)
        return info


@dataclass(frozen=True)
class ArticleRef:
    key: tuple[int, str]
    entry: tuple[int, str | None, str | None]

    @property
    def id(self) -> int:
        return self.entry[0]


class Articles:
    def __init__(self, size: int = ARTICLES_CACHED) -> None:
        self.size = size
        self._cache: OrderedDict[tuple[int, str], tuple[int, str | None, str | None]] = (
            OrderedDict()
        )

    def resolve(self, session: Session, site_id: int, data: dict[str, Any]) -> ArticleRef:
        """The article's row id, creating it on first sight; the site's latest url and title
        win (articles get retitled). Call `remember` once the transaction has committed."""
        key = (site_id, data["id"])
        url, title = data.get("url"), data.get("title")
        cached = self._cache.get(key)
        if cached is None:
            row = session.execute(
                select(Article.id, Article.url, Article.title).where(
                    Article.site_id == site_id, Article.external_id == data["id"]
                )
            ).first()
            if row is None:
                try:
                    with session.begin_nested():
                        article = Article(site_id=site_id, external_id=data["id"], url=url,
                                          title=title)
                        session.add(article)
                    cached = (article.id, url, title)
                except IntegrityError:  # a concurrent request created it
                    row = session.execute(
                        select(Article.id, Article.url, Article.title).where(
                            Article.site_id == site_id, Article.external_id == data["id"]
                        )
                    ).one()
            if cached is None:
                cached = tuple(row)
        article_id, old_url, old_title = cached
        changes = {}
        if url and url != old_url:
            changes["url"] = url
        if title and title != old_title:
            changes["title"] = title
        if changes:
            session.execute(update(Article).where(Article.id == article_id).values(**changes))
        return ArticleRef(key, (article_id, url or old_url, title or old_title))

    def remember(self, ref: ArticleRef) -> None:
        self._cache[ref.key] = ref.entry
        self._cache.move_to_end(ref.key)
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
