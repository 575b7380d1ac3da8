"""Webhook signatures: what the sender puts in the headers and what a receiver checks.

X-Vimod-Signature is `sha256=` + hex HMAC-SHA256(secret, f"{timestamp}.{raw body}"), the
timestamp (unix seconds) being X-Vimod-Timestamp: signing it with the body lets a receiver
refuse an old request replayed as is. docs/webhooks.md shows receivers the same check."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

EVENT_HEADER = "X-Vimod-Event"
DELIVERY_HEADER = "X-Vimod-Delivery"
TIMESTAMP_HEADER = "X-Vimod-Timestamp"
SIGNATURE_HEADER = "X-Vimod-Signature"
# How far a receiver should let the timestamp be from its own clock.
DEFAULT_TOLERANCE_SECONDS = 300


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8, Vietnamese unescaped."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                      hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, event: str, delivery_id: int, body: bytes,
                   now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json; charset=utf-8",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret: str, body: bytes, timestamp: str | None, signature_header: str | None,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """True when `signature_header` signs `body` at `timestamp` with `secret`, and the
    timestamp is within `tolerance` seconds of now."""
    if not timestamp or not signature_header or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)
