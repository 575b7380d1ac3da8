"""One JSON error shape for every failure: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from service import outages
from service.metrics import COMMENTS_REFUSED

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class APIError(HTTPError):
    """An error with our own code and per-field messages."""

    def __init__(
        self,
        status_code: int,
        message: str,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, headers=headers)
        self.code = code or _CODES.get(status_code, "error")
        self.fields = fields or {}


def flatten_messages(messages: object, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested {"author": {"email": ["..."]}} → {"author.email": "..."}."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out.update(flatten_messages(value, name))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "body"] = " ".join(messages)
        else:
            for m in messages:
                out.update(flatten_messages(m, prefix))
    else:
        out[prefix or "body"] = str(messages)
    return out


# What every client reads when the database is down (the view's handler here and the
# intake's fast path, service/api/fast_intake.py).
DB_UNAVAILABLE = {"error": {"code": "unavailable", "fields": {},
                            "message": "The database is unavailable; retry shortly."}}
RETRY_AFTER_SECONDS = "5"
REDIS_UNAVAILABLE = {"error": {"code": "unavailable", "fields": {},
                               "message": "A service vimod needs is unavailable; retry shortly."}}


def _payload(status: int, code: str, message: str, fields: dict[str, str]) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields}}


def _count_refusal(status: int, code: str) -> None:
    if request.endpoint and request.endpoint.endswith("submit_comment") and status >= 400:
        COMMENTS_REFUSED.labels(reason=code).inc()


UI_PREFIXES = ("/review", "/login", "/logout", "/sessions", "/admin", "/lang")

# What the moderators' pages say (translated); the JSON API keeps its English messages,
# which API clients parse.
_HTML_MESSAGES = {
    400: _l("The request could not be processed. Reload the page and try again."),
    401: _l("Please sign in to continue."),
    403: _l("You do not have permission to do this."),
    404: _l("Page not found."),
    405: _l("This action is not allowed here."),
    409: _l("This was changed in the meantime. Reload the page and try again."),
    413: _l("The request is too large."),
    429: _l("Too many requests. Please try again later."),
    500: _l("Something went wrong on the server."),
    503: _l("The service is temporarily unavailable. Please try again shortly."),
    "csrf": _l("The session has expired, please try again."),
}


def _wants_html() -> bool:
    return request.path.startswith(UI_PREFIXES)


def _same_site_referrer() -> str | None:
    """Where the failed request came from, when that was a page of this app (a way back)."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc == request.host and parts.path.startswith("/") and \
            parts.path != request.path:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return None


def _html_error(status: int, message: object) -> str:
    """A page of the app (the header, the language switch, a way back) with the message;
    a bare page when even that cannot be drawn (the template asks who is signed in, which
    needs the database)."""
    if status != 503:
        try:
            return render_template("error.html", status=status, message=str(message),
                                   back=_same_site_referrer())
        except Exception:  # noqa: BLE001 - the fallback below needs nothing
            log.exception("error page could not be drawn")
    return _bare_html_error(status, message)


def _bare_html_error(status: int, message: object) -> str:
    # str() first: a lazy string's __html__ would pass it through unescaped.
    locale = get_locale()
    lang = locale.language if locale is not None else "vi"
    return (f"<!doctype html><html lang={lang}><meta charset=utf-8><title>{status}</title>"
            f"<h1>{status}</h1><p>{escape(str(message))}</p><p><a href=/review>vimod</a></p>")


def _html_message(error: HTTPError, status: int) -> object:
    # An APIError raised by a UI view carries its own (already translated) message.
    if isinstance(error, APIError):
        return error.message
    return _HTML_MESSAGES.get(status) or _HTML_MESSAGES[500 if status >= 500 else 400]


def init_app(app: APIFlask) -> None:
    @app.error_processor
    def _api_error(error: HTTPError):  # noqa: ANN202
        status = error.status_code
        if isinstance(error, APIError):
            code, message, fields = error.code, error.message, error.fields
        elif status == 422 or (status == 400 and isinstance(error.detail, dict) and error.detail):
            detail = error.detail or {}
            # One location (the JSON body or the query string): name the fields alone.
            # (A body that is not JSON never gets here: service/request_body.py.)
            inner = detail
            if isinstance(detail, dict) and len(detail) == 1 and {"json", "query"} & set(detail):
                inner = next(iter(detail.values()))
            fields = flatten_messages(inner)
            code, message = "validation_error", "Some fields are invalid."
        else:
            code = _CODES.get(status, "error")
            message = error.message or code
            fields = {}
        headers = dict(error.headers or {})
        if status == 429:
            from service.limits import retry_after_seconds

            # The intake's own limits (service/api/admission.py) name the wait themselves.
            headers.setdefault("Retry-After", str(retry_after_seconds()))
            message = "Too many comments; retry after the time in Retry-After."
        _count_refusal(status, code)
        if _wants_html():
            return _html_error(status, _html_message(error, status)), status, headers
        return _payload(status, code, message, fields), status, headers

    @app.errorhandler(CSRFError)
    def _csrf_failed(exc: CSRFError):  # noqa: ANN202
        # A form from an ended session (signed out, expired) or older than the session's
        # lifetime: say so on a page of the app, with the way back to where the form was.
        if _wants_html():
            return _html_error(400, _HTML_MESSAGES["csrf"]), 400
        return _payload(400, "csrf_failed", exc.description, {}), 400

    @app.errorhandler(OperationalError)
    def _db_unavailable(exc: OperationalError):  # noqa: ANN202
        # Once per outage, then a count (service/outages.py): not a line per request.
        outages.DATABASE.failed(exc.orig if exc.orig is not None else exc)
        return _unavailable(DB_UNAVAILABLE)

    @app.errorhandler(PoolTimeout)
    def _no_free_connection(exc: PoolTimeout):  # noqa: ANN202
        # Every pooled connection busy for VIMOD_DB_POOL_TIMEOUT: as good as unavailable.
        outages.DATABASE.failed(exc)
        return _unavailable(DB_UNAVAILABLE)

    @app.errorhandler(RedisError)
    def _redis_unavailable(exc: RedisError):  # noqa: ANN202
        # What cannot work without Redis (a CAPTCHA's answer lives there) answers 503;
        # the intake's comments are stored without it (service/queueing.py).
        outages.REDIS.failed(exc, count=False)
        return _unavailable(REDIS_UNAVAILABLE)

    def _unavailable(body: dict):  # noqa: ANN202
        _count_refusal(503, "unavailable")
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
        if _wants_html():
            return _bare_html_error(503, _HTML_MESSAGES[503]), 503, headers
        return body, 503, headers

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        if isinstance(exc, HTTPException):  # let apiflask turn these into JSON
            return app.handle_http_exception(exc)
        log.exception("unhandled error")
        _count_refusal(500, "internal_error")
        if _wants_html():
            return _html_error(500, _HTML_MESSAGES[500]), 500
        return _payload(500, "internal_error", "Internal error.", {}), 500
