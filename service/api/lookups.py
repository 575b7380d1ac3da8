"""Per-process caches for the intake's hot path: which site a key belongs to, and which
article row an (site, external id) pair is. Both save a query on nearly every comment."""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.normalize import search_key
from service.security import hash_api_key
from service.storage import Article, Site
from service.storage.tables import DEFAULT_SITE_SETTINGS

# Without Redis, a rotated or revoked key (or changed settings) reaches every process within
# this many seconds; with Redis, at the next request (see SiteKeys).
SITE_TTL_SECONDS = 10.0
ARTICLES_CACHED = 20_000
# Bumped after any change to a site's key or settings: every web process compares it with
# the generation its cached entries were read under.
SITES_GENERATION_KEY = "vimod:sites:generation"
_READ = object()  # "read the generation from Redis now"


@dataclass(frozen=True)
class SiteInfo:
    id: int
    name: str
    settings: dict[str, Any]
    # Where the site's pages may call the reader-facing API from (scheme://host[:port]).
    allowed_origins: frozenset[str] = frozenset()

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SITE_SETTINGS.get(name))


class SiteKeys:
    """Which site a secret key belongs to, cached per process. An entry is used only while
    the Redis-held sites generation is the one it was read under (and for at most `ttl`
    seconds), so a rotation or settings change applies to the very next request everywhere;
    it costs one Redis GET per request."""

    def __init__(self, ttl: float = SITE_TTL_SECONDS, redis: Redis | None = None) -> None:
        self.ttl = ttl
        self.redis = redis
        self._cache: dict[str, tuple[float, bytes | None, SiteInfo | None]] = {}

    def _redis(self) -> Redis | None:
        if self.redis is not None:
            return self.redis
        return current_app.extensions.get("vimod.redis") if has_app_context() else None

    def _generation(self) -> bytes | None:
        r = self._redis()
        if r is None:
            return None
        try:
            return r.get(SITES_GENERATION_KEY) or b"0"
        except RedisError:
            return None  # Redis down: the TTL alone bounds staleness

    def lookup(self, session: Session, api_key: str,
               generation: bytes | None | object = _READ) -> SiteInfo | None:
        """The site whose secret key this is. The intake passes the generation it read in
        its one Redis round trip (service/api/admission.py); others let it be read here."""
        return self._lookup(session, hash_api_key(api_key), Site.api_key_hash, generation)

    def cached(self, api_key: str, generation: bytes | None) -> SiteInfo | None:
        """The site of this key if this process knows it under `generation`, without the
        database (the intake's fast path); None when unknown here or not a site's key."""
        hit = self._cache.get(hash_api_key(api_key))
        if hit and hit[0] > time.monotonic() and hit[1] == generation:
            return hit[2]
        return None

    def lookup_public(self, session: Session, public_key: str) -> SiteInfo | None:
        """The site whose public key (the one in its pages' embed tag) this is."""
        return self._lookup(session, "public:" + public_key, Site.public_key)

    def _lookup(self, session: Session, cache_key: str, column: Any,
                generation: bytes | None | object = _READ) -> SiteInfo | None:
        value = cache_key.removeprefix("public:")
        # Read the generation before the database: a change committed after this read bumps
        # the generation after its commit, so this entry cannot outlive it.
        if generation is _READ:
            generation = self._generation()
        now = time.monotonic()
        hit = self._cache.get(cache_key)
        if hit and hit[0] > now and hit[1] == generation:  # None == None: Redis down, TTL only
            return hit[2]
        site = session.scalar(select(Site).where(column == value))
        info = (SiteInfo(site.id, site.name, dict(site.settings or {}),
                         frozenset(site.allowed_origins or ())) if site else None)
        if len(self._cache) > 10_000:  # unknown keys must not grow it without bound
            self._cache.clear()
        self._cache[cache_key] = (now + self.ttl, generation, info)
        return info

    def invalidate(self) -> None:
        """Call after committing a change to a site's key or settings."""
        self._cache.clear()
        r = self._redis()
        if r is not None:
            # Redis down: other processes see the change when their entries expire.
            with contextlib.suppress(RedisError):
                r.incr(SITES_GENERATION_KEY)


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
            changes["title_folded"] = search_key(title)
        if changes:
            session.execute(update(Article).where(Article.id == article_id).values(**changes))
        return ArticleRef(key, (article_id, url or old_url, title or old_title))

    def cached_id(self, site_id: int, data: dict[str, Any]) -> int | None:
        """The article's row id if it is cached and `data` changes neither its url nor its
        title (the intake's fast path); else None, and `resolve` must run."""
        cached = self._cache.get((site_id, data["id"]))
        if cached is None:
            return None
        url, title = data.get("url"), data.get("title")
        if (url and url != cached[1]) or (title and title != cached[2]):
            return None
        return cached[0]

    def forget(self, site_id: int, external_id: str) -> None:
        self._cache.pop((site_id, external_id), None)

    def remember(self, ref: ArticleRef) -> None:
        self._cache[ref.key] = ref.entry
        self._cache.move_to_end(ref.key)
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
