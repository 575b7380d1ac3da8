"""What phases need from outside the comment: the database (word lists, earlier comments)
and Redis (near-duplicate index, bursts). Cached per process where safe."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis as redis_lib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.wordlists import WordMatcher
from service import bans as ban_rules
from service.storage import Ban
from service.storage.tables import utcnow
from service.wordlists import entries_for, read_generation

# An admin's word-list change bumps a generation number in Redis; a worker looks at it at
# most this often, so a change applies to new comments within a few seconds, no restart.
WORDLIST_RECHECK_SECONDS = 2.0
# Lists are re-read at least this often anyway (a change made while Redis was unreachable).
WORDLIST_TTL_SECONDS = 60.0
# Bans: a worker reads the bans' generation in Redis before every comment's ban check, so a
# new or lifted ban applies to the next comment processed. The cached bans are re-read at
# least this often anyway (a change announced while Redis was unreachable)...
BANS_TTL_SECONDS = 30.0
# ...and this often while Redis does not answer (it is then asked again after as long, not
# before every comment: a Redis that hangs costs at most one timeout per period).
BANS_FALLBACK_TTL_SECONDS = 5.0


@dataclass
class _SiteBans:
    read_at: float  # monotonic clock
    generation: int | None
    rows: list[tuple[str | None, str | None, datetime | None]]  # email, ip, expires_at
    # The sets in force until `valid_until` (the next expiry among the rows).
    emails: frozenset[str]
    ips: frozenset[str]
    valid_until: datetime | None


class Resources:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        redis: redis_lib.Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self._clock = clock
        self._wall = wall  # the time bans expire by
        # site → (expires at, generation it was read at, matcher)
        self._matchers: dict[int, tuple[float, int | None, WordMatcher]] = {}
        self._generation: int | None = None
        self._generation_checked = float("-inf")
        self._bans: dict[int, _SiteBans] = {}
        self._bans_redis_down_until = float("-inf")

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

    def _bans_generation(self, now: float) -> int | None:
        """The bans' generation in Redis, read now (None without an answer)."""
        if self.redis is None or now < self._bans_redis_down_until:
            return None
        try:
            return ban_rules.read_generation(self.redis)
        except redis_lib.RedisError:
            self._bans_redis_down_until = now + BANS_FALLBACK_TTL_SECONDS
            return None

    def bans(self, site_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """The e-mails (lower case) and IPs banned on the site now (not lifted, not
        expired). A ban made or lifted before this call applies (Redis generation); without
        Redis, within BANS_FALLBACK_TTL_SECONDS."""
        now = self._clock()
        wall = self._wall()
        generation = self._bans_generation(now)
        ttl = BANS_TTL_SECONDS if generation is not None else BANS_FALLBACK_TTL_SECONDS
        cached = self._bans.get(site_id)
        if not (cached and now - cached.read_at < ttl and cached.generation == generation):
            # The generation is read before the rows: a change committed meanwhile bumps it
            # again, and the next call reads the rows again.
            with self.sessions() as session:
                rows = [tuple(r) for r in session.execute(
                    select(Ban.email, Ban.ip, Ban.expires_at).where(
                        Ban.site_id == site_id, ban_rules.active(wall))).all()]
            cached = _SiteBans(now, generation, rows, frozenset(), frozenset(), wall)  # type: ignore[arg-type]
            self._bans[site_id] = cached
        if cached.valid_until is not None and cached.valid_until <= wall:
            # A suspension among the rows has ended since the sets were made.
            live = [r for r in cached.rows if r[2] is None or r[2] > wall]
            cached.emails = frozenset(e.lower() for e, _, _ in live if e)
            cached.ips = frozenset(ip for _, ip, _ in live if ip)
            cached.valid_until = min((r[2] for r in live if r[2] is not None), default=None)
        return cached.emails, cached.ips

    def forget_cached(self) -> None:
        self._matchers.clear()
        self._generation_checked = float("-inf")
        self._bans.clear()
        self._bans_redis_down_until = float("-inf")
