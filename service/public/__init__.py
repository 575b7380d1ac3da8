"""The reader-facing API under /api/v1/public/sites/<public_key> (docs/public-api.md):
CAPTCHA challenges, the comment form's POST and the published comments of an article.

Keyed by the site's public key, which is in every page; so a comment POST must come from
one of the site's allowed origins, carry a solved CAPTCHA, an empty honeypot and a form
token old enough for a person to have typed it."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from apiflask import APIBlueprint
from apiflask.schemas import FileSchema
from flask import Response, current_app, g, jsonify, request, url_for
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service import db
from service.api.intake import _existing, _fingerprint, _idempotency_key, store_comment
from service.api.lookups import SiteInfo
from service.api.schemas import nfc_length
from service.errors import APIError
from service.limits import limiter
from service.public import captcha, reading
from service.public.schemas import (
    CaptchaOut,
    CaptchaRequest,
    CommentsPageOut,
    CountOut,
    CountsOut,
    CountsQuery,
    FormSettingsOut,
    ListQuery,
    PublicAccepted,
    PublicCommentIn,
)
from service.storage import Comment, CommentStatus
from service.text_rules import article_id_problem, canonical_article_id

bp = APIBlueprint("public", __name__, url_prefix="/api/v1/public/sites/<public_key>",
                  tag="Reader form")

PENDING_MESSAGE = "Bình luận của bạn sẽ được biên tập trước khi đăng"
FORM_TOKEN_MAX_AGE = 24 * 3600
CACHE_SECONDS = 15
MAX_USER_AGENT = 500


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="vimod-reader-form")


def _redis():  # noqa: ANN202
    return current_app.extensions["vimod.redis"]


@bp.url_value_preprocessor
def _site(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    public_key = (values or {}).pop("public_key", "")
    site = current_app.extensions["vimod.site_keys"].lookup_public(db.session(), public_key)
    if site is None:
        raise APIError(404, "No site has this public key.", fields={"public_key": "Unknown."})
    g.site, g.public_key = site, public_key


def _origin_allowed(site: SiteInfo) -> str | None:
    origin = (request.headers.get("Origin") or "").strip().lower()
    return origin if origin and origin in site.allowed_origins else None


@bp.before_request
def _check_origin() -> None:
    # Anyone can forge an Origin header outside a browser; this keeps other sites' pages
    # from posting into this site through their readers' browsers. The CAPTCHA stops bots.
    if request.method == "POST" and request.endpoint == "public.submit_comment" and \
            _origin_allowed(g.site) is None:
        raise APIError(403, "This page's origin may not post comments to this site.",
                       code="origin_not_allowed",
                       fields={"Origin": request.headers.get("Origin", "missing")[:200]})
    if request.method == "POST" and request.mimetype != "application/json" and (
            request.endpoint == "public.submit_comment" or request.content_length):
        raise APIError(415, "Send JSON with Content-Type: application/json.",
                       fields={"Content-Type": f"Got {request.mimetype or 'nothing'}."})


@bp.after_request
def _cors(response: Response) -> Response:
    response.vary.add("Origin")
    origin = (request.headers.get("Origin") or "").strip()
    if "site" not in g:
        # An unknown public key: any page may read that 404 (it holds nothing), so a
        # misconfigured form can say "wrong key" rather than "network error".
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    allowed = _origin_allowed(g.site)
    # A page on another origin may read nothing of a site, except the refusal of its
    # comment (403 origin_not_allowed, nothing stored), which it needs to explain itself.
    refusal = allowed is None and origin and request.endpoint == "public.submit_comment"
    if allowed or refusal:
        response.headers["Access-Control-Allow-Origin"] = allowed or origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After, ETag"
        if request.method == "OPTIONS":  # the preflight of a JSON POST
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


def _captcha_limit() -> str:
    return current_app.config["RATELIMIT_CAPTCHA"]


def _public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


@bp.get("/form")
@bp.output(FormSettingsOut, description="The form's settings (cached 15 s, with an ETag)")
@bp.doc(responses={304: "Not modified", 404: "Unknown public key"})
def form_settings() -> Response:
    """What the form needs to know before the reader types: the site's length limit."""
    return _cached_json({"max_length": int(g.site.setting("max_length")),
                         "min_seconds": float(current_app.config["FORM_MIN_SECONDS"])})


def _not_audio() -> bool:
    data = request.get_json(silent=True)
    return not (isinstance(data, dict) and data.get("kind") == "audio")


@bp.post("/captcha")
@limiter.limit(_captcha_limit, key_func=get_remote_address)
# Speaking a challenge costs ~0.5 s of CPU (drawing one ~10 ms): fewer of those per IP.
@limiter.limit(lambda: current_app.config["RATELIMIT_CAPTCHA_AUDIO"],
               key_func=get_remote_address, exempt_when=_not_audio)
@bp.input(CaptchaRequest, arg_name="payload")
@bp.output(CaptchaOut, status_code=201)
@bp.doc(responses={404: "Unknown public key", 429: "Rate limited; see Retry-After"})
def new_captcha(payload: dict[str, Any]):  # noqa: ANN201
    """A new CAPTCHA challenge (image or spoken digits) and a form token."""
    site: SiteInfo = g.site
    ttl = current_app.config["CAPTCHA_TTL"]
    challenge = captcha.issue(_redis(), site.id, payload["kind"], ttl)
    media = dict(public_key=g.public_key, challenge_id=challenge.id, _external=True)
    return {
        "id": challenge.id,
        "kind": challenge.kind,
        "image_url": url_for("public.captcha_image", **media)
        if challenge.kind == "image" else None,
        "audio_url": url_for("public.captcha_audio", **media)
        if challenge.kind == "audio" else None,
        "expires_in": ttl,
        # Signed with the time to the millisecond (itsdangerous' own stamp is in seconds).
        "form_token": _serializer().dumps({"s": site.id, "t": round(time.time(), 3)}),
    }


def _media(challenge_id: str, kind: str) -> captcha.Challenge:
    challenge = captcha.peek(_redis(), challenge_id[:200], g.site.id)
    if challenge is None or challenge.kind != kind:
        raise APIError(404, "No such challenge (expired or already used).")
    return challenge


def _no_store(body: bytes, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/captcha/<challenge_id>.png")
@bp.output(FileSchema(type="string", format="binary"), content_type="image/png",
           description="The challenge image")
@bp.doc(responses={404: "Expired or used"})
def captcha_image(challenge_id: str) -> Response:
    """The challenge drawn as an image."""
    return _no_store(captcha.media(_redis(), _media(challenge_id, "image")), "image/png")


@bp.get("/captcha/<challenge_id>.wav")
@bp.output(FileSchema(type="string", format="binary"), content_type="audio/wav",
           description="The challenge spoken")
@bp.doc(responses={404: "Expired or used"})
def captcha_audio(challenge_id: str) -> Response:
    """The challenge spoken (digits)."""
    return _no_store(captcha.media(_redis(), _media(challenge_id, "audio")), "audio/wav")


def _refuse(code: str, message: str, field: str, detail: str) -> APIError:
    return APIError(422, message, code=code, fields={field: detail})


def _check_form_token(token: str, site_id: int) -> None:
    try:
        signed = _serializer().loads(token, max_age=FORM_TOKEN_MAX_AGE)
    except SignatureExpired as exc:
        raise _refuse("form_expired", "The form is too old; reload the page.", "form_token",
                      "Expired.") from exc
    except BadSignature as exc:
        raise _refuse("form_expired", "The form token is not valid; reload the page.",
                      "form_token", "Invalid.") from exc
    if not isinstance(signed, dict) or signed.get("s") != site_id:
        raise _refuse("form_expired", "The form token is for another site.", "form_token",
                      "Invalid.")
    waited = time.time() - float(signed["t"])
    minimum = float(current_app.config["FORM_MIN_SECONDS"])
    if waited < minimum:
        raise APIError(422, f"Sent {waited:.1f} s after the form appeared; a person needs at "
                       f"least {minimum:g} s.", code="too_fast",
                       fields={"form_token": "Sent too soon."},
                       headers={"Retry-After": str(max(1, int(minimum - waited + 1)))})


@bp.post("/articles/<path:article_id>/comments")
@limiter.limit(_public_limit, key_func=get_remote_address)
@bp.input(PublicCommentIn, arg_name="payload")
@bp.output(PublicAccepted, status_code=202, description="Stored and queued for moderation")
@bp.doc(responses={
    403: "Origin not allowed", 404: "Unknown public key", 415: "Not JSON",
    409: "Idempotency-Key reused with another payload",
    422: "Invalid fields, honeypot, form token, too fast or wrong CAPTCHA",
    429: "Rate limited; see Retry-After"})
def submit_comment(article_id: str, payload: dict[str, Any]):  # noqa: ANN201
    """A reader's comment from the embedded form."""
    site: SiteInfo = g.site
    session = db.session()
    article_id = canonical_article_id(article_id)
    if problem := article_id_problem(article_id):
        raise APIError(422, "Some fields are invalid.", fields={"article_id": problem})
    max_length = int(site.setting("max_length"))
    if nfc_length(payload["body"]) > max_length:
        raise APIError(422, "Some fields are invalid.",
                       fields={"body": f"Longer than {max_length} characters."})
    comment = {"article": {"id": article_id, **(payload.get("article") or {})},
               "author": payload["author"], "body": payload["body"],
               "parent_id": payload.get("parent_id")}
    key = _idempotency_key()
    fingerprint = _fingerprint(comment)
    # A retry of a comment already stored (the answer was lost on the way) needs no new
    # CAPTCHA: the reader's random Idempotency-Key and the same text prove it is theirs.
    if key and (found := _existing(session, site, key, fingerprint)):
        return _pending(found.id)
    if payload["website"]:
        raise _refuse("honeypot", "A hidden field was filled in, which people never do.",
                      "website", "Must be empty.")
    _check_form_token(payload["form_token"], site.id)
    if payload.get("parent_id") is not None and not reading.is_published(
            session, site.id, article_id, payload["parent_id"]):
        # Checked before the CAPTCHA is used up (store_comment checks again, authoritatively).
        raise APIError(422, "Some fields are invalid.",
                       fields={"parent_id": "No such comment under this article."})
    answer = payload["captcha"]
    if not captcha.consume(_redis(), answer["id"], site.id, answer["answer"]):
        raise _refuse("captcha_invalid", "Wrong, expired or already used CAPTCHA; "
                      "fetch a new one.", "captcha", "Wrong answer.")
    user_agent = (request.headers.get("User-Agent") or "")[:MAX_USER_AGENT] or None
    stored = store_comment(
        session, site, comment["article"], comment, key=key, fingerprint=fingerprint,
        client_ip=request.remote_addr, user_agent=user_agent, published_parent_only=True)
    return _pending(stored.id if isinstance(stored, Comment) else stored)


def _pending(comment_id: int) -> tuple[dict, int]:
    return {"id": comment_id, "status": CommentStatus.received,
            "message": PENDING_MESSAGE}, 202


def _cached_json(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    # A strong validator over exactly what is sent: a new comment or edit changes it.
    response.set_etag(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response.make_conditional(request)


@bp.get("/articles/<path:article_id>/comments")
@bp.input(ListQuery, location="query", arg_name="query")
@bp.output(CommentsPageOut, description="A page of threads (cached 15 s, with an ETag); an "
           "unknown article has none")
@bp.doc(responses={304: "Not modified", 404: "Unknown public key", 422: "Invalid paging"})
def list_comments(article_id: str, query: dict[str, Any]) -> Response:
    """The article's published comments, threads paged, each with its replies."""
    article_id = canonical_article_id(article_id)
    result = reading.thread_page(db.session(), g.site.id, article_id,
                                 newest_first=query["order"] == "newest", page=query["page"],
                                 per_page=query["per_page"])
    pages = max(1, -(-result.threads // query["per_page"]))
    return _cached_json({
        "article_id": article_id, "order": query["order"], "page": query["page"],
        "per_page": query["per_page"], "pages": pages, "threads": result.threads,
        "count": result.count, "comments": [c.to_dict() for c in result.comments]})


@bp.get("/articles/<path:article_id>/comments/count")
@bp.output(CountOut, description="The count (cached 15 s, with an ETag)")
@bp.doc(responses={304: "Not modified", 404: "Unknown public key"})
def count_comments(article_id: str) -> Response:
    """How many comments of the article are published (replies included)."""
    article_id = canonical_article_id(article_id)
    counts = reading.count_published(db.session(), g.site.id, [article_id])
    return _cached_json({"article_id": article_id, "count": counts[article_id]})


@bp.get("/counts")
@bp.input(CountsQuery, location="query", arg_name="query")
@bp.output(CountsOut, description="Counts by article id (cached 15 s, with an ETag)")
@bp.doc(responses={304: "Not modified", 404: "Unknown public key", 422: "1-100 article ids"})
def count_many(query: dict[str, Any]) -> Response:
    """Published comment counts of up to 100 articles, for article lists."""
    ids = list(dict.fromkeys(query["article"]))
    return _cached_json({"counts": reading.count_published(db.session(), g.site.id, ids)})
