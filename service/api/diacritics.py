"""POST /api/v1/diacritics: the reader's form asks, before submitting, whether the text is
written with Vietnamese diacritics and what the fully marked text would be."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema, fields, validators
from flask import current_app
from flask_cors import cross_origin

from models.diacritics import check
from service.api.schemas import MAX_BODY_CEILING, max_chars, no_control_chars, text_doc
from service.limits import client_ip, limiter

bp = APIBlueprint("diacritics", __name__, url_prefix="/api/v1", tag="Diacritics")


class DiacriticsIn(Schema):
    text = fields.String(required=True, validate=[no_control_chars, max_chars(MAX_BODY_CEILING)],
                         metadata=text_doc(MAX_BODY_CEILING, one_line=False, visible=False))


class DiacriticsOut(Schema):
    verdict = fields.String(
        validate=validators.OneOf(["ok", "missing", "not_vietnamese", "too_short"]),
        metadata={"description": "missing: written without the marks Vietnamese needs."},
    )
    ratio = fields.Float(metadata={"description": "Unmarked share of the Vietnamese syllables."})
    unmarked = fields.List(fields.String(), metadata={"description": "The unmarked syllables."})
    suggestion = fields.String(
        allow_none=True,
        metadata={"description": "The restored, fully marked text (when verdict is missing)."},
    )


def _limit() -> str:
    return current_app.config["RATELIMIT_DIACRITICS"]


@bp.post("/diacritics")
# Public and stateless: any page may ask (no cookies, no key).
@cross_origin(origins="*", methods=["POST"], allow_headers=["Content-Type"])
@limiter.limit(_limit, key_func=client_ip)
@bp.input(DiacriticsIn, arg_name="payload")
@bp.output(DiacriticsOut)
@bp.doc(responses={422: "Invalid text", 429: "Rate limited; see Retry-After"})
def check_diacritics(payload: dict):  # noqa: ANN201
    """Check a text for missing Vietnamese diacritics and suggest the marked text."""
    return check(payload["text"]).to_dict()
