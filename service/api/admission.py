"""The intake's one Redis round trip before it touches the database: the sites generation
(which keeps the per-process site-key cache honest, service/api/lookups.py) and the
per-reader-IP and per-site rate limits, read and counted by one Lua script.

Every other endpoint is limited by Flask-Limiter, which spends a round trip per limit plus
a separate GET for the generation: 1.3 ms of the intake's 4.5 ms per comment, measured
in-process (the figures of benchmarks/intake.py are in the README). Same semantics here:
fixed windows from the same "N per minute" strings (parsed by `limits`, the library under
Flask-Limiter), allow-and-log when Redis is unreachable, 429 with Retry-After when a window
is full."""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from redis import Redis
from redis.exceptions import RedisError

from service import outages
from service.api.lookups import SITES_GENERATION_KEY
from service.security import hash_api_key

KEY_PREFIX = "vimod-limits/intake"
# Where the intake's fast path (service/api/fast_intake.py) leaves the admission it read, so
# that a request it hands to the Flask view is not counted twice.
ADMISSION_KEY = "vimod.intake.admission"

# KEYS[1]: the sites generation; KEYS[2..n]: one fixed-window counter per limit, with its
# amount and window (seconds) in ARGV. A request is counted only when every window has room
# (so a reader over the per-IP limit does not use up the site's limit for everyone else);
# a window starts at its first counted request. Answers {generation, milliseconds until the
# latest full window ends, or 0 when admitted}.
_SCRIPT = """
local retry = 0
for i = 2, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[2 * i - 3]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then  -- a counter left without a window (not by this script): give it one
      redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 2])
      ttl = 1000 * tonumber(ARGV[2 * i - 2])
    end
    if ttl > retry then retry = ttl end
  end
end
if retry == 0 then
  for i = 2, #KEYS do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 2]) end
  end
end
return {redis.call('GET', KEYS[1]) or '0', retry}
"""


@dataclass(frozen=True)
class Admission:
    # None when Redis could not be asked: the site cache falls back to its TTL.
    generation: bytes | None
    # Seconds to wait when a limit is full; None when the request may go on.
    retry_after: int | None = None


class IntakeGate:
    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_SCRIPT)
        self._parsed: dict[str, list[RateLimitItem]] = {}

    def _items(self, spec: str) -> list[RateLimitItem]:
        items = self._parsed.get(spec)
        if items is None:
            items = self._parsed[spec] = parse_many(spec)
        return items

    def check(self, limits: list[tuple[str, str]]) -> Admission:
        """Count this request against each (scope, "N per period") limit, e.g.
        ("ip:113.1.2.3", "30 per minute"); an empty list only reads the generation."""
        keys = [SITES_GENERATION_KEY]
        args: list[int] = []
        for scope, spec in limits:
            for item in self._items(spec):
                keys.append(f"{KEY_PREFIX}/{scope}/{item.amount}/{item.multiples}"
                            f"/{item.GRANULARITY.name}")
                args += (item.amount, item.get_expiry())
        try:
            generation, retry_ms = self._script(keys=keys, args=args)
        except RedisError as exc:
            # Logged once per outage (service/outages.py); the comment itself is counted
            # when it cannot be queued.
            outages.REDIS.failed(exc, count=False)
            return Admission(None)
        retry = None if retry_ms <= 0 else max(1, -(-int(retry_ms) // 1000))
        return Admission(generation, retry)


def site_scope(api_key: str) -> str:
    # The key's hash: the limit applies before any database lookup, and no key is stored.
    return "site:" + hash_api_key(api_key)[:24]
