"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

import redis
from apiflask import APIFlask

from service import db, errors
from service.api.lookups import Articles, SiteKeys
from service.api.schemas import ErrorOut
from service.config import Settings
from service.limits import limiter
from service.queueing import make_producer


def create_app(settings: Settings | None = None, **config: Any) -> APIFlask:
    settings = settings or Settings.from_env()
    app = APIFlask(
        "vimod",
        title="vimod API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path="/api/v1/docs",
        instance_path=str(settings.instance),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        RATELIMIT_IP=settings.ratelimit_ip,
        RATELIMIT_SITE=settings.ratelimit_site,
        RATELIMIT_DIACRITICS=settings.ratelimit_diacritics,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_KEY_PREFIX="vimod-limits",
        VALIDATION_ERROR_STATUS_CODE=422,
        VALIDATION_ERROR_SCHEMA=ErrorOut,
        HTTP_ERROR_SCHEMA=ErrorOut,
        JSON_SORT_KEYS=False,
        INFO={"description": "Comment moderation for Vietnamese news sites."},
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # Vietnamese stays readable in responses
    app.security_schemes = {
        "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    }
    logging.basicConfig(level=logging.INFO)

    db.init_app(app)
    errors.init_app(app)
    limiter.init_app(app)
    app.extensions["vimod.redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2
    )
    app.extensions["vimod.producer"] = make_producer(app.config["REDIS_URL"])
    app.extensions["vimod.site_keys"] = SiteKeys()
    app.extensions["vimod.articles"] = Articles()

    from service.api.diacritics import bp as diacritics_bp
    from service.api.intake import bp as intake_bp
    from service.health import bp as health_bp

    app.register_blueprint(intake_bp)
    app.register_blueprint(diacritics_bp)
    app.register_blueprint(health_bp)
    return app
