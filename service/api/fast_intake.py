"""The intake's common case without Flask's per-request machinery.

`POST /api/v1/comments` is the one endpoint under sustained load. Flask's request context,
the app-wide hooks (Flask-Limiter, CSRF, sessions, Flask-Login), webargs and the output
schema cost more CPU than storing the comment does (measured: benchmarks/intake.py and the
README). This WSGI layer sits in front of the Flask app and answers the ordinary request
itself: a known key, valid JSON that the `CommentIn` schema certainly accepts (checked by
service/api/fast_load.py), within the site's length, an article already in the per-process
cache, no parent and no Idempotency-Key. The INSERT runs on the driver's connection
(service/storage/raw_insert.py).
Everything else (every error, every first sighting of an article, replies, retries) goes
on to the Flask view in service/api/intake.py, which stays the reference implementation.

The hand-over happens before anything is written, except the rate-limit count: the
admission read here is handed to the Flask view in the WSGI environ, so a request is
counted once whichever path answers it.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.wsgi import get_host

from service import json_body, outages
from service.api.admission import ADMISSION_KEY, Admission, site_scope
from service.api.fast_load import load_common
from service.api.intake import COMMENT_COLUMNS, comment_row
from service.api.lookups import SiteInfo
from service.api.schemas import nfc_length
from service.errors import DB_UNAVAILABLE, RETRY_AFTER_SECONDS
from service.metrics import (
    COMMENTS_ACCEPTED,
    COMMENTS_REFUSED,
    ENQUEUE_FAILURES,
    INTAKE_LATENCY,
)
from service.queueing import enqueue_comment
from service.security import RESPONSE_HEADERS
from service.storage import Comment, CommentStatus
from service.storage.raw_insert import RawInsert

PATH = "/api/v1/comments"

StartResponse = Callable[..., Any]
log = logging.getLogger(__name__)


class FastIntake:
    """WSGI middleware: answers the intake's ordinary POST, passes everything else on."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict, StartResponse], Iterable[bytes]]
                 ) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._insert: RawInsert | None = None  # built on first use: the engine comes later

    def insert(self, values: dict[str, Any]) -> int:
        if self._insert is None:
            self._insert = RawInsert(self.app.extensions["vimod.engine"], Comment.__table__,
                                     COMMENT_COLUMNS)
        return self._insert(values)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            prepared = self._prepare(environ)
        except Exception:  # noqa: BLE001 - nothing is written yet: the view answers
            log.exception("intake fast path failed before storing; the Flask view answers")
            prepared = None
        answer = self._store(environ, *prepared) if prepared else None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, body, headers = answer
        start_response(status, headers)
        INTAKE_LATENCY.observe(time.perf_counter() - started)
        return [body]

    def _body(self, environ: dict) -> bytes | None:
        """The request body, or None when the Flask view must answer (not JSON, too large);
        the body is put back for it either way."""
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= self.app.config["MAX_CONTENT_LENGTH"]:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _prepare(self, environ: dict) -> tuple[SiteInfo, int, dict[str, Any]] | None:
        """Validation, admission, site and article, or None when the view must answer."""
        key = environ.get("HTTP_X_API_KEY")
        if not key or "HTTP_IDEMPOTENCY_KEY" in environ:
            return None
        body = self._body(environ)
        if body is None:
            return None
        try:
            data = json_body.loads(body)
        except json_body.InvalidJSON:
            return None  # the view answers, naming the reason
        # Checked before the admission, which needs the reader's address in its canonical
        # form; anything not certainly valid (a reply, too) goes to the view, which counts it.
        payload = load_common(data)
        if payload is None:
            return None
        extensions = self.app.extensions
        config = self.app.config
        limits = []
        if config["RATELIMIT_ENABLED"]:
            # As service.limits.client_ip() names the reader for Flask-Limiter.
            ip = payload.get("client", {}).get("ip") or environ.get("REMOTE_ADDR") or "127.0.0.1"
            limits = [("ip:" + ip, config["RATELIMIT_IP"]),
                      (site_scope(key), config["RATELIMIT_SITE"])]
        admission: Admission = extensions["vimod.intake_gate"].check(limits)
        environ[ADMISSION_KEY] = admission
        if admission.retry_after is not None:
            return None
        site = extensions["vimod.site_keys"].cached(key, admission.generation)
        if site is None:
            return None
        if nfc_length(payload["body"]) > int(site.setting("max_length")):
            return None
        articles = extensions["vimod.articles"]
        article_id = articles.cached_id(site.id, payload["article"])
        if article_id is None:
            return None
        return site, article_id, payload

    def _store(self, environ: dict, site: SiteInfo, article_id: int,
               payload: dict[str, Any]) -> tuple[str, bytes, list] | None:
        client = payload.get("client") or {}
        values = comment_row(site.id, article_id, payload, key=None, fingerprint=None,
                             client_ip=client.get("ip") or environ.get("REMOTE_ADDR"),
                             user_agent=client.get("user_agent"))
        extensions = self.app.extensions
        dbapi = extensions["vimod.engine"].dialect.loaded_dbapi
        try:
            comment_id = self.insert(values)
        except dbapi.IntegrityError:
            # The cached article was deleted meanwhile; nothing was stored. The view looks
            # the article up again.
            extensions["vimod.articles"].forget(site.id, payload["article"]["id"])
            return None
        except (dbapi.OperationalError, PoolTimeout) as exc:
            # Unreachable, silent (service/storage/bounds.py) or no free connection: 503 at
            # once, logged once per outage (service/outages.py).
            outages.DATABASE.failed(exc)
            COMMENTS_REFUSED.labels(reason="unavailable").inc()
            return _json("503 SERVICE UNAVAILABLE", DB_UNAVAILABLE,
                         [("Retry-After", RETRY_AFTER_SECONDS)])
        except dbapi.Error:  # not stored: the view answers in the API's error shape
            log.exception("intake fast path could not store; the Flask view answers")
            return None
        outages.DATABASE.ok()
        if not enqueue_comment(extensions["vimod.redis"], comment_id):
            ENQUEUE_FAILURES.inc()
        COMMENTS_ACCEPTED.labels(site=str(site.id)).inc()
        status_url = f"{_host_url(environ)}{PATH}/{comment_id}"
        body = {"id": comment_id, "status": CommentStatus.received, "status_url": status_url}
        return _json("202 ACCEPTED", body, [("Location", status_url)])


def _json(status: str, body: dict, headers: list[tuple[str, str]]) -> tuple[str, bytes, list]:
    # As Flask's JSON provider writes it (compact, sorted keys, a final newline) with the
    # app's security headers, so a client cannot tell which path answered.
    out = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    data = (out + "\n").encode()
    return status, data, [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(data))),
        *headers,
        *RESPONSE_HEADERS.items(),
    ]


def _host_url(environ: dict) -> str:
    """scheme://host + script root, as Flask's url_for(..., _external=True) writes it."""
    script = quote(environ.get("SCRIPT_NAME", "").rstrip("/"))
    return f"{environ.get('wsgi.url_scheme', 'http')}://{get_host(environ)}{script}"
