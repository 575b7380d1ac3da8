"""Claims: a comment being worked by one moderator is skipped by the others. Kept in Redis
(no table): without Redis every moderator may open every comment, and the conditional
updates of service/moderation.py still keep two decisions apart."""

from __future__ import annotations

from flask import current_app

CLAIM_SECONDS = 5 * 60


def _claim_key(comment_id: int) -> str:
    return f"vimod:claim:{comment_id}"


def claim(comment_id: int, user_id: int) -> int | None:
    """Claim the comment for this user (or renew the claim); returns the holder's id."""
    r = current_app.extensions["vimod.redis"]
    key = _claim_key(comment_id)
    try:
        if r.set(key, user_id, nx=True, ex=CLAIM_SECONDS):
            return user_id
        holder = r.get(key)
        if holder is not None and int(holder) == user_id:
            r.expire(key, CLAIM_SECONDS)
        return int(holder) if holder is not None else user_id
    except Exception:  # noqa: BLE001 - without Redis, the conditional updates still protect
        return user_id


def release(comment_id: int, user_id: int) -> None:
    r = current_app.extensions["vimod.redis"]
    try:
        holder = r.get(_claim_key(comment_id))
        if holder is not None and int(holder) == user_id:
            r.delete(_claim_key(comment_id))
    except Exception:  # noqa: BLE001
        pass


def claimed_by_others(comment_ids: list[int], user_id: int) -> set[int]:
    if not comment_ids:
        return set()
    r = current_app.extensions["vimod.redis"]
    try:
        holders = r.mget([_claim_key(c) for c in comment_ids])
    except Exception:  # noqa: BLE001
        return set()
    return {c for c, h in zip(comment_ids, holders, strict=True)
            if h is not None and int(h) != user_id}
