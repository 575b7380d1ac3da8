"""Configuration from environment variables (all documented in README.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def instance_path() -> Path:
    return Path(os.environ.get("VIMOD_INSTANCE", "instance")).resolve()


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def env_number(name: str, default: float) -> float:
    """A number ≥ 0 from the environment (seconds, days, …); a clear exit on anything else."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc
    if not 0 <= value < float("inf"):
        raise SystemExit(f"{name} must be a number ≥ 0, got {raw!r}")
    return value


@dataclass
class Settings:
    instance: Path
    database_url: str
    redis_url: str
    secret_key: str
    port: int = 5000
    # Webhooks (workers/webhooks.py): the first retry waits webhook_backoff_seconds, each
    # next one twice as long up to webhook_backoff_max_seconds; after webhook_max_attempts
    # the delivery is failed. The sweep re-sends pending deliveries overdue this long.
    webhook_backoff_seconds: float = 30.0
    webhook_backoff_max_seconds: float = 1800.0
    webhook_max_attempts: int = 8
    webhook_timeout_seconds: float = 10.0
    webhook_sweep_after_seconds: float = 60.0
    # Finished deliveries (and their attempts) older than this are deleted by the sweep.
    webhook_keep_days: float = 30.0
    ratelimit_ip: str = "30 per minute"
    ratelimit_site: str = "6000 per minute"
    ratelimit_diacritics: str = "120 per minute"
    ratelimit_enabled: bool = True
    max_request_bytes: int = 64 * 1024
    sweep_after_seconds: int = 120
    sweep_interval_seconds: int = 60
    default_max_length: int = 2000
    secure_cookies: bool = True
    # The reader's form (service/public): CAPTCHA issuance per IP, comments per IP, the
    # seconds a person needs at least between opening the form and sending, the demo page.
    ratelimit_captcha: str = "20 per minute"
    ratelimit_public: str = "10 per minute"
    form_min_seconds: float = 3.0
    demo_page: bool = False
    # Reverse proxies in front of the web server whose X-Forwarded-For/-Proto/-Host to
    # believe (0: none, the connection's address is the client's).
    trusted_proxies: int = 0
    # Sign-in sessions (service/user_sessions.py): ended after this long without a request,
    # and this long after signing in whatever the activity.
    session_idle_minutes: float = 480.0
    session_max_hours: float = 24.0
    # Who may read /metrics (service/metrics_access.py): with a port of its own, the gunicorn
    # master serves it there and the app's /metrics is gone; else the bearer token; else
    # anyone when public (`vimod dev`); else nobody.
    metrics_port: int | None = None
    metrics_token: str | None = None
    metrics_public: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        instance = Path(overrides.pop("instance", None) or instance_path())
        values = dict(
            instance=instance,
            database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'vimod.db'}",
            redis_url=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            secret_key=overrides.pop("secret_key", None) or _secret_key(instance),
            port=_int("VIMOD_PORT", 5000),
            webhook_backoff_seconds=env_number("VIMOD_WEBHOOK_BACKOFF_SECONDS", 30.0),
            webhook_backoff_max_seconds=env_number("VIMOD_WEBHOOK_BACKOFF_MAX_SECONDS", 1800.0),
            webhook_max_attempts=max(1, _int("VIMOD_WEBHOOK_MAX_ATTEMPTS", 8)),
            webhook_timeout_seconds=env_number("VIMOD_WEBHOOK_TIMEOUT_SECONDS", 10.0) or 10.0,
            webhook_sweep_after_seconds=env_number("VIMOD_WEBHOOK_SWEEP_AFTER", 60.0),
            webhook_keep_days=env_number("VIMOD_WEBHOOK_KEEP_DAYS", 30.0),
            ratelimit_ip=os.environ.get("VIMOD_RATELIMIT_IP", "30 per minute"),
            ratelimit_site=os.environ.get("VIMOD_RATELIMIT_SITE", "6000 per minute"),
            ratelimit_diacritics=os.environ.get("VIMOD_RATELIMIT_DIACRITICS", "120 per minute"),
            ratelimit_enabled=os.environ.get("VIMOD_RATELIMIT_ENABLED", "1") not in ("0", "false"),
            max_request_bytes=_int("VIMOD_MAX_REQUEST_BYTES", 64 * 1024),
            sweep_after_seconds=_int("VIMOD_SWEEP_AFTER", 120),
            sweep_interval_seconds=_int("VIMOD_SWEEP_INTERVAL", 60),
            secure_cookies=os.environ.get("VIMOD_SECURE_COOKIES", "1") not in ("0", "false"),
            ratelimit_captcha=os.environ.get("VIMOD_RATELIMIT_CAPTCHA", "20 per minute"),
            ratelimit_public=os.environ.get("VIMOD_RATELIMIT_PUBLIC", "10 per minute"),
            form_min_seconds=_int("VIMOD_FORM_MIN_SECONDS", 3),
            demo_page=os.environ.get("VIMOD_DEMO", "0") not in ("0", "false", ""),
            trusted_proxies=_int("VIMOD_TRUSTED_PROXIES", 0),
            session_idle_minutes=env_number("VIMOD_SESSION_IDLE_MINUTES", 480.0) or 480.0,
            session_max_hours=env_number("VIMOD_SESSION_MAX_HOURS", 24.0) or 24.0,
            metrics_port=_int("VIMOD_METRICS_PORT", 0) or None,
            metrics_token=os.environ.get("VIMOD_METRICS_TOKEN") or None,
            metrics_public=os.environ.get("VIMOD_METRICS_PUBLIC", "0") not in ("0", "false", ""),
        )
        values.update(overrides)
        return cls(**values)
