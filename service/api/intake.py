"""POST /api/v1/comments: validate, store (status received), then queue for the worker."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from apiflask import APIBlueprint
from flask import current_app, g, request, url_for
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.fingerprint import text_key
from models.normalize import search_key
from service import db, text_rules
from service.api.admission import ADMISSION_KEY, site_scope
from service.api.lookups import SiteInfo
from service.api.schemas import (
    CommentAccepted,
    CommentIn,
    CommentOut,
    nfc_length,
)
from service.errors import APIError
from service.limits import client_ip
from service.metrics import COMMENTS_ACCEPTED, ENQUEUE_FAILURES, INTAKE_LATENCY
from service.queueing import enqueue_comment
from service.storage import Comment, CommentStatus
from service.storage.tables import PUBLISHED

bp = APIBlueprint("intake", __name__, url_prefix="/api/v1", tag="Comments")

MAX_IDEMPOTENCY_KEY = 200
# Built once: a statement built per request costs more than the insert itself.
_INSERT = insert(Comment.__table__).returning(Comment.__table__.c.id)


def _admit() -> SiteInfo:
    """The API key, then one Redis round trip (the sites generation and, for a POST, both
    rate limits: service/api/admission.py), then the site the key belongs to."""
    key = request.headers.get("X-Api-Key")
    if not key:
        raise APIError(401, "Missing X-Api-Key header.", fields={"X-Api-Key": "Required."})
    # Read already when the fast path (service/api/fast_intake.py) handed this request on.
    admission = request.environ.get(ADMISSION_KEY)
    if admission is None:
        config = current_app.config
        limits = []
        if request.method == "POST" and config["RATELIMIT_ENABLED"]:
            limits = [("ip:" + client_ip(), config["RATELIMIT_IP"]),
                      (site_scope(key), config["RATELIMIT_SITE"])]
        admission = current_app.extensions["vimod.intake_gate"].check(limits)
    if admission.retry_after is not None:
        raise APIError(429, "Too many comments; retry after the time in Retry-After.",
                       headers={"Retry-After": str(admission.retry_after)})
    site = current_app.extensions["vimod.site_keys"].lookup(db.session(), key,
                                                            admission.generation)
    if site is None:
        raise APIError(401, "Unknown or revoked API key.", fields={"X-Api-Key": "Invalid."})
    return site


@bp.before_request
def _before() -> None:
    g.intake_started = time.perf_counter()
    g.site = _admit()
    if request.method == "POST":
        if request.mimetype != "application/json":
            raise APIError(
                415,
                "Send the comment as JSON with Content-Type: application/json.",
                fields={"Content-Type": f"Got {request.mimetype or 'nothing'}."},
            )
        if (
            request.content_length
            and request.content_length > current_app.config["MAX_CONTENT_LENGTH"]
        ):
            raise APIError(413, "The request body is too large.")
        request.get_json()  # parsed once, by the app's rule (service/request_body.py)


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if (text_rules.forbidden_char(key) or text_rules.is_blank(key)
            or len(key) > MAX_IDEMPOTENCY_KEY):
        raise APIError(
            422,
            "Invalid Idempotency-Key header.",
            fields={"Idempotency-Key": f"1-{MAX_IDEMPOTENCY_KEY} printable characters."},
        )
    return key


def _fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _accepted(comment_id: int, status: str) -> tuple[dict, int, dict]:
    status_url = url_for("intake.get_comment", comment_id=comment_id, _external=True)
    body = {"id": comment_id, "status": status, "status_url": status_url}
    return body, 202, {"Location": status_url}


def _existing(session: Session, site: SiteInfo, key: str, fingerprint: str) -> Comment | None:
    comment = session.scalar(
        select(Comment).where(Comment.site_id == site.id, Comment.idempotency_key == key)
    )
    if comment is not None and comment.request_fingerprint != fingerprint:
        raise APIError(
            409,
            "This Idempotency-Key was used for a different comment.",
            code="idempotency_conflict",
            fields={"Idempotency-Key": "Already used with another payload."},
        )
    return comment


@bp.post("/comments")
@bp.input(CommentIn, arg_name="payload")
@bp.output(CommentAccepted, status_code=202, description="Stored and queued for moderation")
@bp.doc(
    security="ApiKeyAuth",
    responses={
        400: "Invalid JSON",
        401: "Missing or unknown API key",
        409: "Idempotency-Key reused with another payload",
        413: "Request too large",
        415: "Not JSON",
        422: "Invalid fields",
        429: "Rate limited; see Retry-After",
    },
)
def submit_comment(payload: dict[str, Any]):  # noqa: ANN201
    """Submit a reader's comment.

    The comment is committed with status `received` before the answer; a worker then
    analyses it and moves it to the moderation queue. Send an `Idempotency-Key` header
    to make retries safe: the same key returns the same comment.
    """
    site: SiteInfo = g.site
    session = db.session()
    max_length = int(site.setting("max_length"))
    if nfc_length(payload["body"]) > max_length:
        raise APIError(
            422,
            "Some fields are invalid.",
            fields={"body": f"Longer than {max_length} characters."},
        )
    key = _idempotency_key()
    # Only a retry with the same key is compared with what was stored.
    fingerprint = _fingerprint(payload) if key else None
    if key and (found := _existing(session, site, key, fingerprint)):
        return _accepted(found.id, found.status)

    client = payload.get("client") or {}
    stored = store_comment(
        session, site, payload["article"], payload, key=key, fingerprint=fingerprint,
        client_ip=client.get("ip") or request.remote_addr, user_agent=client.get("user_agent"),
    )
    if isinstance(stored, Comment):  # a raced retry with the same Idempotency-Key
        return _accepted(stored.id, stored.status)
    return _accepted(stored, CommentStatus.received)


def _insert(session: Session, values: dict[str, Any]) -> int:
    """INSERT the comment and commit. A Core INSERT: the ORM's unit of work costs more than
    the insert itself here."""
    if not session.in_transaction():
        return insert_committed(session.get_bind(), values)
    # A transaction already open (a new article row, a parent read) commits with the comment.
    comment_id = session.connection().execute(_INSERT, values).scalar_one()
    session.commit()
    return comment_id


def insert_committed(engine: Engine, values: dict[str, Any]) -> int:
    """INSERT one comment, committed on its own: on PostgreSQL one round trip (autocommit)
    instead of BEGIN, INSERT, COMMIT. (Not on SQLite, whose BEGIN and COMMIT cost no round
    trip, and where switching a connection to autocommit and back costs two statements.)"""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        comment_id = conn.execute(_INSERT, values).scalar_one()
        conn.commit()
    return comment_id


# The columns comment_row() gives a value for.
COMMENT_COLUMNS = ("site_id", "article_id", "parent_id", "author_name", "author_email",
                   "client_ip", "user_agent", "body_original", "text_key", "status",
                   "idempotency_key", "request_fingerprint", "enqueue_count", "search_folded",
                   "author_folded")


def comment_row(site_id: int, article_id: int, payload: dict[str, Any], *, key: str | None,
                fingerprint: str | None, client_ip: str | None, user_agent: str | None
                ) -> dict[str, Any]:
    """The INSERT's values for a validated comment (here and in the fast path)."""
    author_name = payload["author"]["name"].strip()
    author_email = payload["author"]["email"].strip()
    return dict(
        site_id=site_id,
        article_id=article_id,
        parent_id=payload.get("parent_id"),
        author_name=author_name,
        author_email=author_email,
        client_ip=client_ip,
        user_agent=user_agent,
        body_original=payload["body"],
        text_key=text_key(payload["body"]),
        status=CommentStatus.received,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        enqueue_count=1,
        # The review queue's search (the worker adds the normal form once analysed).
        search_folded=search_key(payload["body"]),
        author_folded=search_key(author_name, author_email),
    )


def store_comment(
    session: Session,
    site: SiteInfo,
    article_data: dict[str, Any],
    payload: dict[str, Any],
    *,
    key: str | None,
    fingerprint: str | None,
    client_ip: str | None,
    user_agent: str | None,
    published_parent_only: bool = False,
) -> int | Comment:
    """Commit a validated comment (status received), then queue it for the worker. Returns
    its id; or the comment a concurrent request with the same idempotency key stored.
    Shared by the server-to-server intake and the reader's form (service/public)."""
    parent_id = payload.get("parent_id")
    articles = current_app.extensions["vimod.articles"]
    article = articles.resolve(session, site.id, article_data)
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if (parent is None or parent.site_id != site.id or parent.article_id != article.id
                or (published_parent_only and parent.status not in PUBLISHED)):
            session.rollback()
            raise APIError(
                422,
                "Some fields are invalid.",
                fields={"parent_id": "No such comment under this article."},
            )
    values = comment_row(site.id, article.id, payload, key=key, fingerprint=fingerprint,
                         client_ip=client_ip, user_agent=user_agent)
    try:
        comment_id = _insert(session, values)
    except IntegrityError:
        # Two retries with one Idempotency-Key raced: the other one stored it.
        session.rollback()
        if key and (found := _existing(session, site, key, fingerprint)):
            return found
        raise
    articles.remember(article)
    if not enqueue_comment(current_app.extensions["vimod.redis"], comment_id):
        ENQUEUE_FAILURES.inc()
    COMMENTS_ACCEPTED.labels(site=str(site.id)).inc()
    return comment_id


@bp.after_request
def _observe(response):  # noqa: ANN001, ANN202
    if request.endpoint == "intake.submit_comment" and "intake_started" in g:
        INTAKE_LATENCY.observe(time.perf_counter() - g.intake_started)
    return response


@bp.get("/comments/<int:comment_id>")
@bp.output(CommentOut)
@bp.doc(security="ApiKeyAuth", responses={401: "Bad key", 404: "Not found"})
def get_comment(comment_id: int):  # noqa: ANN201
    """A comment's status and, once analysed, the analysis."""
    comment = db.session().get(Comment, comment_id)
    if comment is None or comment.site_id != g.site.id:
        raise APIError(404, f"No comment {comment_id} for this site.")
    return {
        "id": comment.id,
        "status": comment.status,
        "article": {
            "id": comment.article.external_id,
            "url": comment.article.url,
            "title": comment.article.title,
        },
        "author": {"name": comment.author_name, "email": comment.author_email},
        "parent_id": comment.parent_id,
        "body": comment.body_original,
        "body_normalized": comment.body_normalized,
        "body_published": comment.body_published,
        "received_at": comment.received_at,
        "analysed_at": comment.analysed_at,
        "decided_at": comment.decided_at,
        "analysis": comment.analysis,
        "model_version": comment.model_version,
    }
