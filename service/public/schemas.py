"""Request and response schemas of the reader-facing API (docs/public-api.md)."""

from __future__ import annotations

from apiflask import Schema, fields, validators

from service.api.schemas import (
    ARTICLE_ID_DOC,
    MAX_ARTICLE_ID,
    MAX_BODY_CEILING,
    MAX_TITLE,
    MAX_URL,
    URL_DOC,
    AuthorIn,
    ExternalId,
    NFCString,
    article_id,
    http_url,
    max_chars,
    no_control_chars,
    not_blank,
    single_line,
    text_doc,
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
    id = fields.String(required=True, validate=[single_line, validators.Length(max=MAX_TOKEN)],
                       metadata=text_doc(MAX_TOKEN, one_line=True, visible=False))
    answer = fields.String(required=True,
                           validate=[single_line, validators.Length(max=MAX_TOKEN)],
                           metadata=text_doc(MAX_TOKEN, one_line=True, visible=False))


class PageArticle(Schema):
    url = fields.String(validate=[http_url, single_line, validators.Length(max=MAX_URL)],
                        metadata=URL_DOC)
    title = NFCString(validate=[single_line, max_chars(MAX_TITLE)],
                      metadata=text_doc(MAX_TITLE, one_line=True, visible=False))


class PublicCommentIn(Schema):
    author = fields.Nested(AuthorIn, required=True)
    body = fields.String(
        required=True, validate=[not_blank, no_control_chars, max_chars(MAX_BODY_CEILING)],
        metadata=text_doc(MAX_BODY_CEILING, one_line=False, visible=True, description=(
            "The comment; at most the site's max_length (GET …/form says it).")))
    # At most what an INTEGER column holds: PostgreSQL refuses a larger parameter (a 500).
    parent_id = fields.Integer(strict=True, allow_none=True,
                               validate=validators.Range(min=1, max=MAX_ID))
    article = fields.Nested(PageArticle)
    captcha = fields.Nested(CaptchaAnswer, required=True)
    form_token = fields.String(required=True, validate=validators.Length(max=MAX_TOKEN))
    # The honeypot: hidden from people, so anything in it was typed by a program.
    website = fields.String(load_default="", validate=validators.Length(max=MAX_URL),
                            metadata={"maxLength": 0, "description": "Must stay empty (a "
                                      "field people never see; anything in it: 422 honeypot)."})


class FormSettingsOut(Schema):
    max_length = fields.Integer(metadata={"description": "The site's length limit."})
    min_seconds = fields.Float(metadata={"description": "Seconds a person needs at least "
                                         "between the form's appearing and sending."})


class PublicAuthorOut(Schema):
    name = fields.String()


class PublicCommentOut(Schema):
    id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    author = fields.Nested(PublicAuthorOut)
    body = fields.String(metadata={"description": "The published text."})
    created_at = fields.String(metadata={"format": "date-time"})
    published_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    replies = fields.List(fields.Nested(lambda: PublicCommentOut()))


class CommentsPageOut(Schema):
    article_id = fields.String()
    order = fields.String(validate=validators.OneOf(["newest", "oldest"]))
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    threads = fields.Integer(metadata={"description": "Published comments opening a thread."})
    count = fields.Integer(metadata={"description": "All published comments, replies too."})
    comments = fields.List(fields.Nested(PublicCommentOut))


class CountOut(Schema):
    article_id = fields.String()
    count = fields.Integer()


class CountsOut(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


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
        ExternalId(validate=[validators.Length(min=1, max=MAX_ARTICLE_ID), article_id],
                   metadata={**ARTICLE_ID_DOC, "type": "string"}),
        required=True, validate=validators.Length(min=1, max=100))
