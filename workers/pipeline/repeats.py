"""Phase: repeats and floods.

- the same text (see models.fingerprint) again from one author or IP within a window;
- near-duplicates from *different* authors (MinHash over word shingles, LSH in Redis):
  coordinated posting;
- a burst of comments from one IP.

Every write is idempotent (sorted-set members are comment ids), so a re-run of the
pipeline on the same comment counts it once.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import numpy as np
from sqlalchemy import func, or_, select

from models.fingerprint import comparable
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


def _near_duplicates(ctx: CommentContext, words: list[str]) -> list[int]:
    r = ctx.resources.redis
    sig = minhash(words)
    ts = ctx.received_at.timestamp() if ctx.received_at else 0.0
    sig_key = f"vimod:mh:{ctx.comment_id}"
    pipe = r.pipeline()
    pipe.hset(sig_key, mapping={"sig": sig.tobytes(), "author": ctx.author_email.lower()})
    pipe.expire(sig_key, NEAR_DUP_WINDOW_SECONDS)
    band_keys = []
    for b in range(BANDS):
        band = hashlib.blake2b(sig[b * ROWS:(b + 1) * ROWS].tobytes(), digest_size=8).hexdigest()
        key = f"vimod:lsh:{ctx.site_id}:{b}:{band}"
        band_keys.append(key)
        pipe.zadd(key, {ctx.comment_id: ts})
        pipe.expire(key, NEAR_DUP_WINDOW_SECONDS)
    pipe.execute()
    pipe = r.pipeline()
    for key in band_keys:
        pipe.zrangebyscore(key, ts - NEAR_DUP_WINDOW_SECONDS, "+inf")
    candidates = {int(x) for members in pipe.execute() for x in members} - {ctx.comment_id}
    similar = []
    for cid in sorted(candidates):
        other = r.hgetall(f"vimod:mh:{cid}")
        if not other or other[b"author"].decode() == ctx.author_email.lower():
            continue
        est = float(np.mean(np.frombuffer(other[b"sig"], dtype=np.uint64) == sig))
        if est >= NEAR_DUP_JACCARD:
            similar.append(cid)
    return similar


def _burst(ctx: CommentContext) -> int:
    r = ctx.resources.redis
    ts = ctx.received_at.timestamp()
    key = f"vimod:burst:{ctx.client_ip}"
    pipe = r.pipeline()
    pipe.zadd(key, {ctx.comment_id: ts})
    pipe.zremrangebyscore(key, "-inf", ts - 3600)
    pipe.zcount(key, ts - BURST_WINDOW_SECONDS, ts)
    pipe.expire(key, 3600)
    return int(pipe.execute()[2])


def run(ctx: CommentContext, text: str) -> PhaseResult:
    result = PhaseResult(name="repeats")
    if ctx.resources is None:
        return result
    if ctx.text_key and ctx.received_at:
        with ctx.resources.sessions() as session:
            conditions = [Comment.author_email == ctx.author_email]
            if ctx.client_ip:
                conditions.append(Comment.client_ip == ctx.client_ip)
            earlier = session.scalars(
                select(Comment.id).where(
                    Comment.site_id == ctx.site_id,
                    Comment.text_key == ctx.text_key,
                    Comment.id != ctx.comment_id,
                    Comment.received_at > ctx.received_at - REPEAT_WINDOW,
                    or_(*conditions),
                ).order_by(Comment.id).limit(20)
            ).all()
            if earlier:
                result.flags.append("repeat")
                result.data["repeat_of"] = list(earlier)
                result.data["repeat_count"] = session.scalar(
                    select(func.count()).select_from(Comment).where(
                        Comment.site_id == ctx.site_id, Comment.text_key == ctx.text_key,
                        Comment.received_at > ctx.received_at - REPEAT_WINDOW,
                        or_(*conditions)))
    if ctx.resources.redis is None or ctx.received_at is None:
        return result
    words = comparable(text).split()
    if len(words) >= MIN_WORDS:
        similar = _near_duplicates(ctx, words)
        if similar:
            result.flags.append("near_duplicate")
            result.data["near_duplicates"] = similar[:20]
    if ctx.client_ip:
        count = _burst(ctx)
        result.data["ip_comments_last_minute"] = count
        if count > BURST_LIMIT:
            result.flags.append("burst")
    return result
