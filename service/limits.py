"""Rate limits (Flask-Limiter on Redis): per reader IP and per site."""

from __future__ import annotations

import hashlib
import ipaddress

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(
    key_func=get_remote_address,
    strategy="fixed-window",
    # X-RateLimit-* headers cost a Redis round trip per limit on every request; only the
    # 429 carries Retry-After (service/errors.py).
    headers_enabled=False,
    # Redis trouble must not turn comments away: allow and log instead.
    swallow_errors=True,
)


def client_ip() -> str:
    """The reader's IP: what the site forwarded in `client.ip`, else the connection's."""
    data = request.get_json(silent=True)
    if isinstance(data, dict) and isinstance(data.get("client"), dict):
        ip = data["client"].get("ip")
        if isinstance(ip, str):
            try:
                return str(ipaddress.ip_address(ip))
            except ValueError:
                pass
    return get_remote_address() or "unknown"


def site_key() -> str:
    # Keyed by the key's hash, so the limit applies before any database lookup.
    key = request.headers.get("X-Api-Key", "")
    return "site:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def ip_limit() -> str:
    return current_app.config["RATELIMIT_IP"]


def site_limit() -> str:
    return current_app.config["RATELIMIT_SITE"]


def retry_after_seconds() -> int:
    """Seconds until the limit that was just exceeded resets."""
    import time

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)
