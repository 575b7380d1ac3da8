"""Rate limits (Flask-Limiter on Redis) for every endpoint but the intake's POST, which
counts its per-IP and per-site limits in its one Redis round trip (service/api/admission.py)."""

from __future__ import annotations

import logging

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from marshmallow import ValidationError
from redis.exceptions import RedisError

from service import outages
from service.api.schemas import canonical_ip

limiter = Limiter(
    key_func=get_remote_address,
    strategy="fixed-window",
    # X-RateLimit-* headers cost a Redis round trip per limit on every request; only the
    # 429 carries Retry-After (service/errors.py).
    headers_enabled=False,
    # Redis trouble must not turn comments away: allow and log instead.
    swallow_errors=True,
)


class _RedisOutageOnce(logging.Filter):
    """Flask-Limiter logs a traceback for every request it lets through while Redis is
    unavailable; the outage is logged once instead (service/outages.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None and not isinstance(exc, RedisError):
            exc = exc.__cause__ or exc.__context__
        if exc is None:
            return True
        outages.REDIS.failed(exc, count=False)
        return False


logging.getLogger("flask-limiter").addFilter(_RedisOutageOnce())


@limiter.request_filter
def _intake_counts_its_own() -> bool:
    # The intake's limits are counted in its one Redis round trip (service/api/admission.py);
    # this skips Flask-Limiter's per-request bookkeeping there.
    return request.blueprint == "intake"


def normalized_ip(value: object) -> str | None:
    """A reader's address as the intake stores and counts it (canonical_ip), or None."""
    if isinstance(value, str):
        try:
            return canonical_ip(value)
        except ValidationError:
            pass
    return None


def client_ip() -> str:
    """The reader's IP: what the site forwarded in `client.ip`, else the connection's."""
    data = request.get_json(silent=True)
    client = data.get("client") if isinstance(data, dict) else None
    if isinstance(client, dict) and (ip := normalized_ip(client.get("ip"))):
        return ip
    return get_remote_address() or "unknown"


def retry_after_seconds() -> int:
    """Seconds until the limit that was just exceeded resets."""
    import time

    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)
