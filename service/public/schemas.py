"""Request and response schemas of the reader-facing API (docs/public-api.md)."""

from __future__ import annotations

from apiflask import Schema, fields, validators

from service.api.schemas import (
    MAX_ARTICLE_ID,
    MAX_BODY_CEILING,
    MAX_TITLE,
    MAX_URL,
    AuthorIn,
    ExternalId,
    NFCString,
    article_id,
    http_url,
    max_chars,
    no_control_chars,
    not_blank,
    single_line,
)
from service.params import MAX_ID
from service.public.captcha import KINDS

MAX_TOKEN = 200


class CaptchaRequest(Schema):
    kind = fields.String(load_default="image", validate=validators.OneOf(KINDS))


class CaptchaOut(Schema):
    id = fields.String()
    kind = fields.String()
    image_url = fields.String(allow_none=True)
    audio_url = fields.String(allow_none=True)
    expires_in = fields.Integer()
    form_token = fields.String(metadata={
        "description": "Send the first one of the page with the comment (minimum time)."})


class CaptchaAnswer(Schema):
    id = fields.String(required=True, validate=[single_line, validators.Length(max=MAX_TOKEN)])
    answer = fields.String(required=True,
                           validate=[single_line, validators.Length(max=MAX_TOKEN)])


class PageArticle(Schema):
    url = fields.String(validate=[http_url, single_line, validators.Length(max=MAX_URL)])
    title = NFCString(validate=[single_line, max_chars(MAX_TITLE)])


class PublicCommentIn(Schema):
    author = fields.Nested(AuthorIn, required=True)
    body = fields.String(
        required=True, validate=[not_blank, no_control_chars, max_chars(MAX_BODY_CEILING)])
    # At most what an INTEGER column holds: PostgreSQL refuses a larger parameter (a 500).
    parent_id = fields.Integer(strict=True, allow_none=True,
                               validate=validators.Range(min=1, max=MAX_ID))
    article = fields.Nested(PageArticle)
    captcha = fields.Nested(CaptchaAnswer, required=True)
    form_token = fields.String(required=True, validate=validators.Length(max=MAX_TOKEN))
    # The honeypot: hidden from people, so anything in it was typed by a program.
    website = fields.String(load_default="", validate=validators.Length(max=MAX_URL))


class PublicAccepted(Schema):
    id = fields.Integer()
    status = fields.String()
    message = fields.String()


class ListQuery(Schema):
    order = fields.String(load_default="newest", validate=validators.OneOf(["newest", "oldest"]))
    page = fields.Integer(load_default=1, validate=validators.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validators.Range(min=1, max=50))


class CountsQuery(Schema):
    article = fields.List(
        ExternalId(validate=[validators.Length(min=1, max=MAX_ARTICLE_ID), article_id]),
        required=True, validate=validators.Length(min=1, max=100))
