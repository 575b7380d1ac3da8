"""The Flask application factory."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import redis
from apiflask import APIFlask
from flask import Response, current_app, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from service import db, errors, request_body
from service.api import openapi
from service.api.admission import IntakeGate
from service.api.fast_intake import FastIntake
from service.api.lookups import Articles, SiteKeys
from service.api.schemas import ErrorOut
from service.config import Settings
from service.errors import APIError
from service.limits import limiter
from service.params import IdConverter
from service.queueing import make_producer
from service.security import RESPONSE_HEADERS, dummy_password_hash
from service.user_sessions import Lifetimes


def create_app(settings: Settings | None = None, **config: Any) -> APIFlask:
    settings = settings or Settings.from_env()
    lifetimes = Lifetimes(idle=timedelta(minutes=settings.session_idle_minutes),
                          absolute=timedelta(hours=settings.session_max_hours))
    app = APIFlask(
        "service",  # templates and static files live in this package
        title="vimod API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # /api/v1/docs is service/api_docs.py: vendored Swagger UI, strict CSP
        instance_path=str(settings.instance),
    )
    # Before any route: <int:...> in every URL stops at what an INTEGER column holds.
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        RATELIMIT_IP=settings.ratelimit_ip,
        RATELIMIT_SITE=settings.ratelimit_site,
        RATELIMIT_DIACRITICS=settings.ratelimit_diacritics,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_CAPTCHA=settings.ratelimit_captcha,
        RATELIMIT_CAPTCHA_AUDIO="5 per minute",
        RATELIMIT_PUBLIC=settings.ratelimit_public,
        CAPTCHA_TTL=600,  # seconds a reader has to answer a challenge
        FORM_MIN_SECONDS=settings.form_min_seconds,
        DEMO_PAGE=settings.demo_page,
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_KEY_PREFIX="vimod-limits",
        VALIDATION_ERROR_STATUS_CODE=422,
        VALIDATION_ERROR_SCHEMA=ErrorOut,
        HTTP_ERROR_SCHEMA=ErrorOut,
        JSON_SORT_KEYS=False,
        INFO={"description": "Comment moderation for Vietnamese news sites."},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        # Server-side sessions (service/user_sessions.py); a form's CSRF token lives no longer
        # than the session that issued it (a new one comes with each sign-in).
        VIMOD_SESSION_LIFETIMES=lifetimes,
        PERMANENT_SESSION_LIFETIME=lifetimes.absolute,
        WTF_CSRF_TIME_LIMIT=int(lifetimes.absolute.total_seconds()),
        METRICS_PORT=settings.metrics_port,
        METRICS_TOKEN=settings.metrics_token,
        METRICS_PUBLIC=settings.metrics_public,
        REVIEW_POLL_SECONDS=15,  # how often an open queue asks for new arrivals
        SWEEP_INTERVAL=settings.sweep_interval_seconds,  # /readyz: when a sweep is late
    )
    app.config.update(config)
    # Inside ProxyFix: the fast path sees the reader's address as the view does.
    app.wsgi_app = FastIntake(app, app.wsgi_app)
    if settings.trusted_proxies > 0:
        # Behind nginx or a load balancer every reader would otherwise share its address:
        # one rate limit for all, and the proxy's IP stored with each comment.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    request_body.init_app(app)
    app.spec_processor(openapi.complete)
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
    app.extensions["vimod.intake_gate"] = IntakeGate(app.extensions["vimod.redis"])
    app.extensions["vimod.site_keys"] = SiteKeys()
    app.extensions["vimod.articles"] = Articles()

    # review_bans: the bans page's routes, on the review blueprint.
    from service import i18n, review_bans, review_decisions  # noqa: F401
    from service.admin import bp as admin_bp
    from service.api.diacritics import bp as diacritics_bp
    from service.api.intake import bp as intake_bp
    from service.api_docs import bp as api_docs_bp
    from service.auth import bp as auth_bp
    from service.auth import login_manager
    from service.health import bp as health_bp
    from service.public import bp as public_bp
    from service.review import bp as review_bp

    app.register_blueprint(intake_bp)
    app.register_blueprint(diacritics_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_docs_bp)
    i18n.init_app(app)  # Flask-Babel and POST /lang
    review_decisions.init_app(app)  # the undo toast on every staff page
    login_manager.init_app(app)
    csrf = CSRFProtect(app)
    # The JSON APIs authenticate with keys, not cookies: CSRF does not apply to them.
    csrf.exempt(intake_bp)
    csrf.exempt(diacritics_bp)
    csrf.exempt(public_bp)  # no cookies: origin, CAPTCHA and form token instead
    app.after_request(_security_headers)
    app.add_template_filter(_bdi, "bdi")
    dummy_password_hash()  # once per process, before the first sign-in (service/security.py)
    # Before the blueprints' URL preprocessors, which look up the public key in the database.
    app.url_value_preprocessor(_refuse_nul)

    @app.get("/")
    @app.doc(hide=True)
    def _home():  # noqa: ANN202
        return redirect(url_for("review.queue"))

    # The embeddable form: news sites load these from their article pages.
    @app.get("/embed.js")
    @app.doc(hide=True)
    def _embed_js() -> Response:
        return _embed_file("embed.js")

    @app.get("/embed.css")
    @app.doc(hide=True)
    def _embed_css() -> Response:
        return _embed_file("embed.css")

    if app.config["DEMO_PAGE"]:
        from service.demo import bp as demo_bp

        app.register_blueprint(demo_bp)

    return app


def _bdi(value: object) -> Markup:
    """Untrusted text in a line of other text: `{{ name|bdi }}`. An isolate, so that a
    name or title starting with a right-to-left override cannot reverse what follows."""
    return Markup("<bdi>%s</bdi>") % value


def _embed_file(name: str) -> Response:
    # Short-lived cache: a fix to the form reaches every page within minutes.
    response = current_app.send_static_file(name)
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


def _refuse_nul(_endpoint: str | None = None, _values: dict | None = None) -> None:
    """PostgreSQL cannot hold NUL (0x00) in text, so a NUL from a URL reached the database
    as an error (a 500: an article id or public key in the reader API, the review queue's
    and the training data's filters). No URL of vimod has a use for it: refused with 400
    before any view. (JSON bodies go through schemas that refuse every control character;
    the admin's forms name the field themselves, and parsing a form here would refuse an
    oversized upload before its view can explain the limit.)"""
    where = None
    if "\x00" in request.path:
        where = "path"
    elif b"%00" in request.query_string:
        # (Only a decoded NUL counts: "%2500" is a reader searching for "%00".)
        where = next((k for k, v in request.args.items(multi=True)
                      if "\x00" in k or "\x00" in v), None)
    if where is not None:
        raise APIError(400, "The request contains a NUL character.",
                       fields={where.replace("\x00", "\\x00"): "Contains NUL (U+0000)."})


_PRIVATE_BLUEPRINTS = frozenset({"auth", "review", "admin", "i18n", "intake"})

_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


def _security_headers(response: Response) -> Response:
    for name, value in RESPONSE_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(errors.UI_PREFIXES) or request.blueprint in _PRIVATE_BLUEPRINTS:
        # Staff pages show e-mails and addresses; the intake API answers with a reader's
        # e-mail: for no cache, shared or the browser's own (a back button after sign-out).
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        # Comment text is untrusted: even if escaping ever failed, no inline script runs.
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response
