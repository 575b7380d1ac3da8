"""Throttling of failed sign-ins, counted in Redis. Never a lock that an attacker controls:

- per (username, address): after CHALLENGE_AFTER failures the form asks for a CAPTCHA, and
  from DELAY_AFTER failures on each one makes that pair wait before its next try, FIRST_DELAY
  seconds doubling up to MAX_DELAY. Someone guessing a moderator's password from elsewhere
  slows down only themselves; the moderator at their own address is not held up.
- per address (any username) and per username (any address): beyond a higher count a CAPTCHA
  is asked of everyone at that address (one newsroom behind a NAT) or for that username (a
  guess spread over many addresses). A slowdown that a person passes, never a refusal.
- Redis unreachable: the counts cannot be kept, so the sign-in form refuses (503, "fail
  closed"); the sessions already signed in go on (they live in the database).

Usernames and addresses are kept as SHA-256 prefixes: the keys name nobody."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from redis import Redis

CHALLENGE_AFTER = 3
DELAY_AFTER = 5
FIRST_DELAY = 2  # seconds
MAX_DELAY = 60
ADDRESS_CHALLENGE_AFTER = 20
USERNAME_CHALLENGE_AFTER = 10
PAIR_WINDOW = 3600  # seconds a pair's count lives after its last failure
WIDE_WINDOW = 900  # the same for an address's and a username's count

_PREFIX = "vimod:signin:"


@dataclass(frozen=True)
class State:
    failures: int  # of this (username, address) pair, in its window
    challenge: bool  # the next try must answer a CAPTCHA
    wait: int  # seconds before this pair may try again (0: now)


def delay_after(failures: int) -> int:
    """Seconds a pair waits after its `failures`-th failure."""
    if failures < DELAY_AFTER:
        return 0
    return min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - DELAY_AFTER, 16))


def address_of(remote_addr: str | None) -> str:
    """The address a sign-in is counted under: an IPv6 client's /64 (one subscriber gets a
    whole /64 and could otherwise take a fresh address per guess), an IPv4 address as is."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SignInThrottle:
    """The counts of one sign-in attempt. Every method raises RedisError when Redis cannot be
    reached (the caller refuses the sign-in: see the module's docstring)."""

    def __init__(self, redis: Redis, username: str, address: str) -> None:
        self.redis = redis
        name = username.strip().casefold()
        pair = _digest(name, address)
        self.pair_key = f"{_PREFIX}pair:{pair}"
        self.wait_key = f"{_PREFIX}wait:{pair}"
        self.address_key = f"{_PREFIX}address:{_digest(address)}"
        self.username_key = f"{_PREFIX}user:{_digest(name)}"

    def state(self) -> State:
        pipe = self.redis.pipeline(transaction=False)
        pipe.mget(self.pair_key, self.address_key, self.username_key)
        pipe.pttl(self.wait_key)
        (pair, by_address, by_username), wait_ms = pipe.execute()
        return _state(int(pair or 0), int(by_address or 0), int(by_username or 0),
                      -(-wait_ms // 1000) if wait_ms > 0 else 0)

    def failed(self) -> State:
        """Count a wrong password; the state the next try is in."""
        pipe = self.redis.pipeline(transaction=False)
        for key, window in ((self.pair_key, PAIR_WINDOW), (self.address_key, WIDE_WINDOW),
                            (self.username_key, WIDE_WINDOW)):
            pipe.incr(key)
            pipe.expire(key, window)
        pair, _, by_address, _, by_username, _ = pipe.execute()
        wait = delay_after(pair)
        if wait:
            self.redis.set(self.wait_key, 1, ex=wait)
        return _state(pair, by_address, by_username, wait)

    def succeeded(self) -> None:
        """The right password: this pair starts again from nothing. (The address's and the
        username's counts run out on their own: one success proves nothing about the rest.)"""
        self.redis.delete(self.pair_key, self.wait_key)

    @staticmethod
    def address_needs_challenge(redis: Redis, address: str) -> bool:
        """Whether the form shows a CAPTCHA before anyone at `address` has typed a name."""
        return int(redis.get(f"{_PREFIX}address:{_digest(address)}") or 0) \
            >= ADDRESS_CHALLENGE_AFTER


def _state(pair: int, by_address: int, by_username: int, wait: int) -> State:
    challenge = (pair >= CHALLENGE_AFTER or by_address >= ADDRESS_CHALLENGE_AFTER
                 or by_username >= USERNAME_CHALLENGE_AFTER)
    return State(pair, challenge, wait)
