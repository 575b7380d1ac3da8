"""Phase (batched): repeats and floods.

- the same text (see models.fingerprint) again from one author or IP within a window (from
  one author only, when the text has little content);
- near-duplicates from *different* authors (MinHash over word shingles, LSH bands in
  Redis): coordinated posting -- unless the text is generic (see `generic_reason`): praise,
  thanks or agreement with little content of its own, or a short phrase already seen on many
  articles from many authors. Those link people only when they crowd one article within
  minutes;
- a burst of comments from one IP.

The whole batch costs one database query and one Redis round trip (a Lua script per
comment, pipelined). Every write is
idempotent (sorted-set members are comment ids), so a re-run counts a comment once.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import timedelta
from typing import NamedTuple

import numpy as np
from sqlalchemy import select

from models.contacts import find_contacts
from models.fingerprint import comparable, content_words
from service.storage import Comment
from workers.pipeline.context import CommentContext, PhaseResult

REPEAT_WINDOW = timedelta(hours=24)
BURST_WINDOW_SECONDS = 60
BURST_LIMIT = 5
SHINGLE = 3
MIN_WORDS = 6  # shorter texts ("cảm ơn tác giả") repeat innocently
BANDS, ROWS = 16, 4
NEAR_DUP_JACCARD = 0.6
NEAR_DUP_WINDOW_SECONDS = 24 * 3600
MAX_CANDIDATES = 20
# Generic texts (README, "Repeats and near-duplicates"): fewer than MIN_CONTENT_WORDS words
# outside models.fingerprint.FILLER_WORDS; or at most GENERIC_MAX_WORDS words, no contact,
# and near-duplicates in the window on at least GENERIC_ARTICLES articles (this one
# included) from at least GENERIC_AUTHORS authors. The evidence is what the LSH lookup
# already returns (at most MAX_CANDIDATES recent matches kept NEAR_DUP_WINDOW_SECONDS):
# no other Redis keys.
MIN_CONTENT_WORDS = 3
GENERIC_MAX_WORDS = 15
GENERIC_ARTICLES = 5
GENERIC_AUTHORS = 5
# A generic text still counts as seeding when at least CROWD_OTHERS other authors posted it
# on the same article within CROWD_SECONDS.
CROWD_OTHERS = 3
CROWD_SECONDS = 600

# Universal hashing mod a 31-bit prime keeps a*x + b inside uint64: fast, exact numpy.
_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20261123)
_A = _rng.integers(1, _PRIME, BANDS * ROWS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, BANDS * ROWS, dtype=np.uint64)


def minhash(words: list[str]) -> np.ndarray:
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "little")
         for s in shingles],
        dtype=np.uint64,
    ) % _PRIME
    return ((np.outer(_A, hashes) + _B[:, None]) % _PRIME).min(axis=1)


def _band_keys(site_id: int, sig: np.ndarray) -> list[str]:
    return [
        f"vimod:lsh:{site_id}:{b}:"
        + hashlib.blake2b(sig[b * ROWS:(b + 1) * ROWS].tobytes(), digest_size=8).hexdigest()
        for b in range(BANDS)
    ]


def _exact_repeats(ctxs: list[CommentContext], results: list[PhaseResult]) -> None:
    keyed = [(c, r) for c, r in zip(ctxs, results, strict=True) if c.text_key and c.received_at]
    if not keyed:
        return
    since = min(c.received_at for c, _ in keyed) - REPEAT_WINDOW
    with ctxs[0].resources.sessions() as session:
        rows = session.execute(
            select(Comment.id, Comment.site_id, Comment.text_key, Comment.author_email,
                   Comment.client_ip, Comment.received_at)
            .where(Comment.site_id.in_({c.site_id for c, _ in keyed}),
                   Comment.text_key.in_({c.text_key for c, _ in keyed}),
                   Comment.received_at > since)
        ).all()
    by_key = defaultdict(list)
    for row in rows:
        by_key[(row.site_id, row.text_key)].append(row)
    for ctx, result in keyed:
        # Generic wording ("Cảm ơn tác giả") from one address is many readers behind one
        # NAT (offices, mobile carriers) as often as one reader: only the author counts.
        by_ip = ctx.client_ip is not None and content_words(ctx.body) >= MIN_CONTENT_WORDS
        same = [
            row for row in by_key[(ctx.site_id, ctx.text_key)]
            if row.id != ctx.comment_id
            and row.received_at > ctx.received_at - REPEAT_WINDOW
            and (row.author_email == ctx.author_email
                 or (by_ip and row.client_ip == ctx.client_ip))
        ]
        if same:
            result.flags.append("repeat")
            result.data["repeat_of"] = sorted(row.id for row in same)[:20]
            result.data["repeat_count"] = len(same) + 1


# Signatures agreeing in at least this many of their BANDS * ROWS values: Jaccard estimate
# >= NEAR_DUP_JACCARD.
_SAME_VALUES = math.ceil(NEAR_DUP_JACCARD * BANDS * ROWS - 1e-9)

# One round trip per comment instead of ~50 commands: record the comment in its LSH bands
# and its IP's burst window; compare it there with the recent candidates of other authors
# (8-byte signature values), so only the near-duplicates' ids come back, not 20 signatures.
# Answers {burst count or -1, then id, author, article, time of each near-duplicate...}.
# (It reads vimod:mh:<id> keys it was not given: fine on one Redis, not on a cluster.)
_LUA = """
local id, ts = ARGV[1], tonumber(ARGV[2])
local window, maxc, burst_window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local out = {-1}
if KEYS[2] ~= '' then
  redis.call('ZADD', KEYS[2], ts, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ts - 3600)
  redis.call('EXPIRE', KEYS[2], 3600)
  out[1] = redis.call('ZCOUNT', KEYS[2], ts - burst_window, ts)
end
local sig, author, need = ARGV[3], ARGV[4], tonumber(ARGV[8])
if sig == '' then return out end
redis.call('HSET', KEYS[1], 'sig', sig, 'author', author, 'article', ARGV[9], 'ts', ARGV[2])
redis.call('EXPIRE', KEYS[1], window)
-- The signatures' values as numbers (each < 2^31, exact in a Lua number), unpacked in C.
local fmt = '<' .. string.rep('L', #sig / 8)
local mine = {struct.unpack(fmt, sig)}
local width = #mine - 1  -- unpack also returns the next position
local seen, n = {}, 0
for i = 3, #KEYS do
  -- Once maxc candidates have been compared, the other bands are only indexed.
  local recent = n < maxc and
    redis.call('ZREVRANGEBYSCORE', KEYS[i], '+inf', ts - window, 'LIMIT', 0, maxc) or {}
  for _, cid in ipairs(recent) do
    if cid ~= id and not seen[cid] and n < maxc then
      seen[cid] = true
      n = n + 1
      local other = redis.call('HMGET', 'vimod:mh:' .. cid, 'sig', 'author', 'article', 'ts')
      if other[1] and other[2] ~= author and #other[1] == #sig then
        local same = 0
        if other[1] == sig then
          same = width
        else
          local theirs = {struct.unpack(fmt, other[1])}
          for k = 1, width do
            if theirs[k] == mine[k] then same = same + 1 end
          end
        end
        if same >= need then
          table.insert(out, cid)
          table.insert(out, other[2])
          table.insert(out, other[3] or '')
          table.insert(out, other[4] or '')
        end
      end
    end
  end
  redis.call('ZADD', KEYS[i], ts, id)
  -- Only the newest maxc of a band are ever read: a flood must not grow it without bound
  -- (each new member keeps the key alive).
  if redis.call('ZCARD', KEYS[i]) > 4 * maxc then
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -2 * maxc - 1)
  end
  redis.call('EXPIRE', KEYS[i], window)
end
return out
"""


def _redis_checks(ctxs: list[CommentContext], texts: list[str],
                  results: list[PhaseResult]) -> None:
    r = ctxs[0].resources.redis
    script = r.register_script(_LUA)
    pipe = r.pipeline(transaction=False)
    planned: list[int] = []
    for i, ctx in enumerate(ctxs):
        if ctx.received_at is None:
            continue
        words = comparable(texts[i]).split()
        sig = minhash(words) if len(words) >= MIN_WORDS else None
        keys = [f"vimod:mh:{ctx.comment_id}",
                f"vimod:burst:{ctx.client_ip}" if ctx.client_ip else "",
                *(_band_keys(ctx.site_id, sig) if sig is not None else [])]
        script(keys=keys, args=[
            ctx.comment_id, ctx.received_at.timestamp(),
            sig.tobytes() if sig is not None else b"", ctx.author_email.lower(),
            NEAR_DUP_WINDOW_SECONDS, MAX_CANDIDATES, BURST_WINDOW_SECONDS, _SAME_VALUES,
            ctx.article_id if ctx.article_id is not None else "",
        ], client=pipe)
        planned.append(i)
    for i, reply in zip(planned, pipe.execute(), strict=True):
        burst = int(reply[0])
        if burst >= 0:
            results[i].data["ip_comments_last_minute"] = burst
            if burst > BURST_LIMIT:
                results[i].flags.append("burst")
        matches = [_Match(int(reply[k]), _str(reply[k + 1]), _str(reply[k + 2]),
                          float(reply[k + 3] or 0)) for k in range(1, len(reply), 4)]
        if not matches:
            continue
        ctx, data = ctxs[i], results[i].data
        reason = generic_reason(texts[i], ctx, matches)
        if reason is not None:
            # Generic: only a crowd of other authors on this article within minutes counts.
            data["generic_text"] = reason
            data["generic_matches"] = len(matches)
            mine = "" if ctx.article_id is None else str(ctx.article_id)
            ts = ctx.received_at.timestamp()
            matches = [m for m in matches if m.article == mine != ""
                       and abs(ts - m.ts) <= CROWD_SECONDS]
            if len({m.author for m in matches}) < CROWD_OTHERS:
                continue
        results[i].flags.append("near_duplicate")
        data["near_duplicates"] = sorted(m.id for m in matches)


class _Match(NamedTuple):
    """A near-duplicate from another author: its comment id, author, article, time."""
    id: int
    author: str
    article: str
    ts: float


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def generic_reason(text: str, ctx: CommentContext, matches: list[_Match]) -> str | None:
    """Why near-duplicates of `text` are not evidence of coordination ("little_content",
    "common_phrase"), or None. Long texts and texts with a contact are never generic."""
    words = comparable(text).split()
    if len(words) > GENERIC_MAX_WORDS or find_contacts(text):
        return None
    if content_words(text) < MIN_CONTENT_WORDS:
        return "little_content"
    articles = {m.article for m in matches} | {str(ctx.article_id)}
    authors = {m.author for m in matches} | {ctx.author_email.lower()}
    if len(articles) >= GENERIC_ARTICLES and len(authors) >= GENERIC_AUTHORS:
        return "common_phrase"
    return None


def run(ctxs: list[CommentContext], texts: list[str]) -> list[PhaseResult]:
    results = [PhaseResult(name="repeats") for _ in ctxs]
    if not ctxs or ctxs[0].resources is None:
        return results
    _exact_repeats(ctxs, results)
    if ctxs[0].resources.redis is not None:
        _redis_checks(ctxs, texts, results)
    return results


run.batch = True  # type: ignore[attr-defined]
