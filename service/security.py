"""Secrets: site API keys (random, stored as SHA-256) and user passwords (argon2)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

API_KEY_PREFIX = "vmk_"
PUBLIC_KEY_PREFIX = "vmp_"


# Sent with every response (service/app.py after each view; the intake's fast path itself).
RESPONSE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_public_key() -> str:
    return PUBLIC_KEY_PREFIX + secrets.token_urlsafe(12)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_password_hash() -> str:
    """A hash of a random password with the same parameters as the users' (made once per
    process; service/app.py makes it at start-up so no sign-in pays for it)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def check_password(password_hash: str | None, password: str) -> bool:
    """Verify a sign-in's password. Without a user (unknown or disabled: password_hash None)
    the password is verified against the dummy hash all the same, so a wrong username costs
    the argon2 work of a wrong password and the time taken says nothing about who exists."""
    if password_hash is None:
        verify_password(dummy_password_hash(), password)
        return False
    return verify_password(password_hash, password)
