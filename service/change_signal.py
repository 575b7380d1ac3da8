"""A change announced to every worker: a counter in Redis that the writer bumps after its
commit and each worker reads before it trusts its cached copy (word lists, bans). Without
Redis the workers fall back to their cache's own expiry, so a failed bump is only logged."""

from __future__ import annotations

import logging

import redis as redis_lib

log = logging.getLogger(__name__)


def announce(redis: redis_lib.Redis, key: str, what: str) -> None:
    try:
        redis.incr(key)
    except redis_lib.RedisError:
        log.warning("could not announce a %s change; workers see it within their TTL", what,
                    exc_info=True)


def generation(redis: redis_lib.Redis, key: str) -> int:
    """The counter's value, 0 before the first change (raises redis.RedisError)."""
    raw = redis.get(key)
    return int(raw) if raw is not None else 0
