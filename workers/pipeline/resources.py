"""What phases need from outside the comment: the database (word lists, earlier comments)
and Redis (near-duplicate index, bursts). Cached per process where safe."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis as redis_lib
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from models.wordlists import Entry, WordMatcher, builtin_entries
from service.storage import Ban, WordListEntry

# Word-list edits reach every worker within this many seconds, without restart.
WORDLIST_TTL_SECONDS = 30.0


class Resources:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        redis: redis_lib.Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self._clock = clock
        self._matchers: dict[int, tuple[float, WordMatcher]] = {}
        self._bans: dict[int, tuple[float, frozenset[str], frozenset[str]]] = {}

    def word_matcher(self, site_id: int) -> WordMatcher:
        now = self._clock()
        cached = self._matchers.get(site_id)
        if cached and cached[0] > now:
            return cached[1]
        with self.sessions() as session:
            rows = session.scalars(
                select(WordListEntry).where(
                    or_(WordListEntry.site_id.is_(None), WordListEntry.site_id == site_id)
                )
            ).all()
            entries = [
                Entry(r.phrase, r.kind, r.accent_insensitive,
                      source="global" if r.site_id is None else "site")
                for r in rows
            ]
        matcher = WordMatcher([*builtin_entries(), *entries])
        self._matchers[site_id] = (now + WORDLIST_TTL_SECONDS, matcher)
        return matcher

    def bans(self, site_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """The site's banned e-mails (lower case) and IPs; a new ban applies within
        WORDLIST_TTL_SECONDS in every worker."""
        now = self._clock()
        cached = self._bans.get(site_id)
        if cached and cached[0] > now:
            return cached[1], cached[2]
        with self.sessions() as session:
            rows = session.execute(select(Ban.email, Ban.ip).where(Ban.site_id == site_id)).all()
        emails = frozenset(e.lower() for e, _ in rows if e)
        ips = frozenset(ip for _, ip in rows if ip)
        self._bans[site_id] = (now + WORDLIST_TTL_SECONDS, emails, ips)
        return emails, ips

    def forget_cached(self) -> None:
        self._matchers.clear()
        self._bans.clear()
