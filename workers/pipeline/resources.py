"""What phases need from outside the comment: the database (word lists, earlier comments)
and Redis (near-duplicate index, bursts). Cached per process where safe."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis as redis_lib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.wordlists import WordMatcher
from service.storage import Ban
from service.wordlists import entries_for, read_generation

# An admin's word-list change bumps a generation number in Redis; a worker looks at it at
# most this often, so a change applies to new comments within a few seconds, no restart.
WORDLIST_RECHECK_SECONDS = 2.0
# Lists are re-read at least this often anyway (a change made while Redis was unreachable).
WORDLIST_TTL_SECONDS = 60.0
# A new ban applies within this many seconds in every worker.
BANS_TTL_SECONDS = 30.0


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
        # site → (expires at, generation it was read at, matcher)
        self._matchers: dict[int, tuple[float, int | None, WordMatcher]] = {}
        self._generation: int | None = None
        self._generation_checked = float("-inf")
        self._bans: dict[int, tuple[float, frozenset[str], frozenset[str]]] = {}

    def _wordlist_generation(self, now: float) -> int | None:
        """The lists' generation in Redis, read at most every WORDLIST_RECHECK_SECONDS
        (None without Redis: then only the TTL renews the lists)."""
        if self.redis is None:
            return None
        if now - self._generation_checked >= WORDLIST_RECHECK_SECONDS:
            self._generation = read_generation(self.redis)
            self._generation_checked = now
        return self._generation

    def word_matcher(self, site_id: int) -> WordMatcher:
        now = self._clock()
        generation = self._wordlist_generation(now)
        cached = self._matchers.get(site_id)
        if cached and cached[0] > now and (generation is None or cached[1] == generation):
            return cached[2]
        with self.sessions() as session:
            matcher = WordMatcher(entries_for(session, site_id))
        self._matchers[site_id] = (now + WORDLIST_TTL_SECONDS, generation, matcher)
        return matcher

    def bans(self, site_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """The site's banned e-mails (lower case) and IPs; a new ban applies within
        BANS_TTL_SECONDS in every worker."""
        now = self._clock()
        cached = self._bans.get(site_id)
        if cached and cached[0] > now:
            return cached[1], cached[2]
        with self.sessions() as session:
            rows = session.execute(select(Ban.email, Ban.ip).where(Ban.site_id == site_id)).all()
        emails = frozenset(e.lower() for e, _ in rows if e)
        ips = frozenset(ip for _, ip in rows if ip)
        self._bans[site_id] = (now + BANS_TTL_SECONDS, emails, ips)
        return emails, ips

    def forget_cached(self) -> None:
        self._matchers.clear()
        self._generation_checked = float("-inf")
        self._bans.clear()
