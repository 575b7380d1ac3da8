"""Claims: a comment being worked by one moderator is skipped by the others. Kept in Redis
(no table): without Redis every moderator may open every comment, and the conditional
updates of service/moderation.py still keep two decisions apart.

A claim names its holder and says since when; the open card renews it with a heartbeat
(static/review.js, every HEARTBEAT_SECONDS while the card is shown and the tab visible), so
a claim whose card was left without a word lapses after CLAIM_SECONDS. The holder releases
it by deciding, by opening another card, or by leaving the page (a beacon on `pagehide`).
An admin may take a claim over at any time, a peer once its holder has gone idle
(can_take_over); the take-over is audited and the previous holder is told."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup
from redis.exceptions import RedisError
from sqlalchemy import select

from service import db
from service.storage import AuditEntry

# A claim lapses this long after its last heartbeat (the card sends one every 30 s: a tab
# closed without its beacon, or a laptop put to sleep, holds a comment two minutes at most).
CLAIM_SECONDS = 120
HEARTBEAT_SECONDS = 30
# A holder whose card has sent no heartbeat for this long (two missed beats: the tab is
# hidden, asleep or gone) is idle: a peer moderator of the same site may take over.
IDLE_SECONDS = 60
# How long the previous holder's "taken over" notice waits for their next heartbeat or
# decision.
LOST_SECONDS = 60 * 60

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# The Redis errors a claim survives (the server away, a timeout, a value it cannot read).
_REDIS_DOWN = (RedisError, OSError, ValueError)

ACTION_TAKEOVER = "claim.takeover"


@dataclass(frozen=True)
class Claim:
    user_id: int
    name: str
    since: int  # epoch seconds
    beat: int  # the last heartbeat (or opening), epoch seconds
    token: str = ""  # which page holds it: a reload's late beacon does not release it

    @classmethod
    def parse(cls, raw: bytes | str | None) -> Claim | None:
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        if isinstance(value, int):  # the value before names: a bare user id
            return cls(value, "", 0, 0)
        if not isinstance(value, dict):
            return None
        try:
            return cls(int(value["u"]), str(value.get("n", "")), int(value.get("s", 0)),
                       int(value.get("h", 0)), str(value.get("t", "")))
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def since_at(self) -> datetime:
        return datetime.fromtimestamp(self.since, UTC)

    @property
    def since_local(self) -> str:
        """"10:42": Vietnam time, as the newsroom reads it."""
        return self.since_at.astimezone(VIETNAM).strftime("%H:%M")

    def idle_seconds(self, now: float | None = None) -> int:
        return max(0, int((time.time() if now is None else now) - self.beat))

    @property
    def idle(self) -> bool:
        return self.idle_seconds() >= IDLE_SECONDS


def can_take_over(user: Any, holder_idle: bool) -> bool:
    """May `user` take over a claim another moderator holds on a comment `user` can see
    (the caller has checked the site)? An admin or a senior editor at any time (they answer
    for the queue); a peer moderator once the holder has gone idle. The one place this rule
    lives."""
    if getattr(user, "is_admin", False) or getattr(user, "resolves_escalations", False):
        return True
    return holder_idle


def bdi(name: str) -> Markup:
    return Markup("<bdi>%s</bdi>") % name


def taken_over_message(comment_id: int, by: str) -> Markup:
    """What the previous holder is told (their heartbeat, or their decision refused)."""
    return Markup(_("%(name)s took over comment #%(id)d: it is theirs now, and your "
                    "decision on it was not recorded.", name=bdi(by or "?"), id=comment_id))


def held_message(comment_id: int, user_id: int, held: Claim | None, deciding: bool = True
                 ) -> Markup | str:
    """Why a decision was refused (or, `deciding` False, a card's claim lost) while someone
    else holds the comment."""
    taker = lost_to(comment_id, user_id)
    if taker is not None:
        return taken_over_message(comment_id, taker)
    if held is not None and held.name and not deciding:
        return Markup(_("%(name)s is handling this comment now.", name=bdi(held.name)))
    if held is not None and held.name:
        return Markup(_("%(name)s is handling this comment; your decision was not recorded.",
                        name=bdi(held.name)))
    return _("This comment is being handled by another moderator.")


def refusal(comment_id: int, user: Any) -> Markup | str | None:
    """Before a decision: the claim renewed, or why the decision is refused (someone else
    holds the comment, or took it over from this moderator)."""
    held = hold(comment_id, user.id, user.username)
    if held is None or held.user_id == user.id:
        return None
    return held_message(comment_id, user.id, held)


def takeovers(comment_id: int) -> list[AuditEntry]:
    """The comment's take-overs, for its card's log."""
    return list(db.session().scalars(
        select(AuditEntry).where(AuditEntry.target_type == "comment",
                                 AuditEntry.target_id == str(comment_id),
                                 AuditEntry.action == ACTION_TAKEOVER)
        .order_by(AuditEntry.id)))


def _redis() -> Any:
    return current_app.extensions["vimod.redis"]


def _claim_key(comment_id: int) -> str:
    return f"vimod:claim:{comment_id}"


def _lost_key(comment_id: int, user_id: int) -> str:
    return f"vimod:claim-lost:{comment_id}:{user_id}"


def new_token() -> str:
    return secrets.token_urlsafe(9)


# Claim or renew, atomically. ARGV: user id, name, now, ttl, token, mode. "open" (a card
# drawn) gives the claim the new page's token; "beat" (a heartbeat, a decision) keeps it.
# Returns the claim as it stands: ours, or the other holder's. Ours again: an old "taken
# over" notice (KEYS[2]) is void.
_CLAIM = """
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then
    if tostring(v.u) ~= ARGV[1] then return raw end
    redis.call('DEL', KEYS[2])
    v.h = tonumber(ARGV[3])
    if ARGV[6] == 'open' or not v.t or v.t == '' then v.t = ARGV[5] end
    if not v.n or v.n == '' then v.n = ARGV[2] end
    local out = cjson.encode(v)
    redis.call('SET', KEYS[1], out, 'EX', ARGV[4])
    return out
  end
  if raw ~= ARGV[1] then return raw end
end
local out = cjson.encode({u = tonumber(ARGV[1]), n = ARGV[2], s = tonumber(ARGV[3]),
                          h = tonumber(ARGV[3]), t = ARGV[5]})
redis.call('SET', KEYS[1], out, 'EX', ARGV[4])
redis.call('DEL', KEYS[2])
return out
"""

# Release our own claim (of this page, when a token is given). ARGV: user id, token.
_RELEASE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, v = pcall(cjson.decode, raw)
if ok and type(v) == 'table' then
  if tostring(v.u) ~= ARGV[1] then return 0 end
  if ARGV[2] ~= '' and v.t and v.t ~= '' and v.t ~= ARGV[2] then return 0 end
elseif raw ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"""

# Replace the claim if it is still the one the permission was checked against.
# ARGV: the value read, the new value, ttl.
_REPLACE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def hold(comment_id: int, user_id: int, name: str, *, token: str = "", opening: bool = False
         ) -> Claim | None:
    """Claim the comment for this user, or renew their claim; returns the claim as it
    stands (the other holder's, if someone else has it), None without Redis."""
    try:
        raw = _redis().eval(_CLAIM, 2, _claim_key(comment_id), _lost_key(comment_id, user_id),
                            str(user_id), name,
                            str(int(time.time())), str(CLAIM_SECONDS), token or new_token(),
                            "open" if opening else "beat")
    except _REDIS_DOWN:
        return None
    return Claim.parse(raw)


def claim(comment_id: int, user_id: int, name: str = "") -> int | None:
    """Claim the comment for this user (or renew the claim); returns the holder's id."""
    held = hold(comment_id, user_id, name or _current_name(user_id))
    return user_id if held is None else held.user_id


def _current_name(user_id: int) -> str:
    from flask_login import current_user

    return current_user.username if getattr(current_user, "id", None) == user_id else ""


def release(comment_id: int, user_id: int, token: str = "") -> bool:
    """Release this user's claim (only the page's own, when its token is given)."""
    try:
        return bool(_redis().eval(_RELEASE, 1, _claim_key(comment_id), str(user_id), token))
    except _REDIS_DOWN:
        return False


def holder(comment_id: int) -> Claim | None:
    try:
        return Claim.parse(_redis().get(_claim_key(comment_id)))
    except _REDIS_DOWN:
        return None


def claimed_by_others(comment_ids: list[int], user_id: int) -> dict[int, Claim]:
    """The comments of the list someone else holds, with their claims."""
    if not comment_ids:
        return {}
    try:
        values = _redis().mget([_claim_key(c) for c in comment_ids])
    except _REDIS_DOWN:
        return {}
    held = {c: Claim.parse(v) for c, v in zip(comment_ids, values, strict=True)}
    return {c: h for c, h in held.items() if h is not None and h.user_id != user_id}


@dataclass(frozen=True)
class TakeOver:
    ok: bool
    previous: Claim | None = None  # whose claim it was (None: nobody held it any more)
    changed: bool = False  # the claim changed between the check and the take-over


def take_over(comment_id: int, user: Any, token: str = "") -> TakeOver:
    """Take the claim from its holder if `user` may (can_take_over); the previous holder
    finds a notice on their next heartbeat or decision. Not ok: the rule says no, or the
    claim changed meanwhile (the caller says so and shows the card as it now stands)."""
    r = _redis()
    key = _claim_key(comment_id)
    try:
        raw = r.get(key)
        current = Claim.parse(raw)
        if current is None or current.user_id == user.id:
            hold(comment_id, user.id, user.username, token=token, opening=True)
            return TakeOver(True, None)
        if not can_take_over(user, current.idle):
            return TakeOver(False, current)
        now = int(time.time())
        mine = json.dumps({"u": user.id, "n": user.username, "s": now, "h": now,
                           "t": token or new_token()})
        if not r.eval(_REPLACE, 1, key, raw, mine, str(CLAIM_SECONDS)):
            return TakeOver(False, holder(comment_id), changed=True)
        r.set(_lost_key(comment_id, current.user_id),
              json.dumps({"n": user.username, "at": now}), ex=LOST_SECONDS)
    except _REDIS_DOWN:
        return TakeOver(False, None)
    return TakeOver(True, current)


def lost_to(comment_id: int, user_id: int) -> str | None:
    """Who took this comment over from the user (told once: the notice is then gone)."""
    try:
        raw = _redis().getdel(_lost_key(comment_id, user_id))
    except _REDIS_DOWN:
        return None
    if raw is None:
        return None
    try:
        return str(json.loads(raw).get("n", ""))
    except (ValueError, AttributeError):
        return ""
