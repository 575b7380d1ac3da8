"""CAPTCHA challenges for the reader's form (the `captcha` package draws and speaks them).

A challenge's answer lives only in Redis, under `vimod:captcha:<id>` as JSON
{"a": answer, "k": kind, "s": site id}, for `ttl` seconds. Checking an answer deletes it
(GETDEL, atomic), so each challenge can be tried once, right or wrong."""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from functools import cache

from redis import Redis

KEY = "vimod:captcha:{}"
KINDS = ("image", "audio")
# No 0/o, 1/l/i: letters a reader cannot tell apart make a bad test of being human.
IMAGE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
IMAGE_LENGTH = 5
# The package's voices speak digits only.
AUDIO_LENGTH = 6
DEFAULT_TTL = 600


@dataclass(frozen=True)
class Challenge:
    id: str
    kind: str
    answer: str


def normalize_answer(answer: str) -> str:
    """Case and spaces do not count: "X7 kQ" answers "x7kq"."""
    return "".join(answer.split()).lower()


def issue(redis: Redis, site_id: int, kind: str = "image", ttl: int = DEFAULT_TTL) -> Challenge:
    if kind not in KINDS:
        raise ValueError(f"unknown CAPTCHA kind {kind!r}")
    if kind == "audio":
        answer = "".join(secrets.choice("0123456789") for _ in range(AUDIO_LENGTH))
    else:
        answer = "".join(secrets.choice(IMAGE_ALPHABET) for _ in range(IMAGE_LENGTH))
    challenge = Challenge(secrets.token_urlsafe(18), kind, answer)
    redis.set(KEY.format(challenge.id), json.dumps({"a": answer, "k": kind, "s": site_id}),
              ex=ttl)
    return challenge


def _load(raw: bytes | None, site_id: int) -> dict | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return data if data.get("s") == site_id else None


def peek(redis: Redis, challenge_id: str, site_id: int) -> Challenge | None:
    """The challenge (to draw it) without using it up; None when unknown or expired."""
    data = _load(redis.get(KEY.format(challenge_id)), site_id)
    return Challenge(challenge_id, data["k"], data["a"]) if data else None


def consume(redis: Redis, challenge_id: str, site_id: int, answer: str) -> bool:
    """True when `answer` is right. Right or wrong, the challenge is used up."""
    data = _load(redis.getdel(KEY.format(challenge_id)), site_id)
    if data is None:
        return False
    return hmac.compare_digest(normalize_answer(answer).encode(), data["a"].encode())


@cache
def _image_maker():  # noqa: ANN202 - imported lazily: PIL is slow to import
    from captcha.image import ImageCaptcha

    return ImageCaptcha(width=200, height=70)


@cache
def _audio_maker():  # noqa: ANN202
    from captcha.audio import AudioCaptcha

    return AudioCaptcha()


def _draw(challenge: Challenge) -> bytes:
    if challenge.kind == "audio":
        return bytes(_audio_maker().generate(challenge.answer))  # ~0.3 s of CPU
    # Drawn in capitals, which are the easiest to read; the answer is case-insensitive.
    return _image_maker().generate(challenge.answer.upper(), format="png").getvalue()


def media(redis: Redis, challenge: Challenge) -> bytes:
    """The challenge's image or audio, drawn once and kept beside the answer until the
    challenge expires: asking for it again costs a Redis GET, not another drawing."""
    key = KEY.format(challenge.id) + ":media"
    if (cached := redis.get(key)) is not None:
        return cached
    drawn = _draw(challenge)
    ttl = redis.ttl(KEY.format(challenge.id))
    if ttl > 0:
        redis.set(key, drawn, ex=ttl)
    return drawn
