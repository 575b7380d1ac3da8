"""Request and response schemas of the intake API. They validate requests and generate
/api/v1/openapi.json, so the document cannot drift from the code."""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit

from apiflask import Schema, fields, validators
from email_validator import EmailNotValidError, validate_email
from marshmallow import ValidationError, pre_load

from service import text_rules
from service.params import MAX_ID

MAX_NAME = 100
MAX_EMAIL = 320
MAX_ARTICLE_ID = text_rules.MAX_ARTICLE_ID
MAX_TITLE = 500
MAX_URL = 2000
MAX_USER_AGENT = 500
# A hard ceiling whatever a site's setting; the site's own limit is checked after auth.
MAX_BODY_CEILING = 20000


def has_control_char(value: str) -> bool:
    """A character the text rules refuse even where text may span lines."""
    return text_rules.forbidden_char(value) is not None


def nfc_length(text: str) -> int:
    """The length limit counts code points after NFC, as the reader's counter does."""
    return len(unicodedata.normalize("NFC", text))


def no_control_chars(value: str) -> None:
    if ch := text_rules.forbidden_char(value):
        raise ValidationError(f"Contains {text_rules.describe(ch)}.")


def single_line(value: str) -> None:
    if ch := text_rules.forbidden_char(value, one_line=True):
        raise ValidationError(f"Must be a single line without control characters; "
                              f"contains {text_rules.describe(ch)}.")


def not_blank(value: str) -> None:
    if text_rules.is_blank(value):
        raise ValidationError("Must not be blank.")


# How the rules read in /api/v1/openapi.json (field metadata: documentation only, the
# validators above decide).
def text_doc(limit: int | None = None, *, one_line: bool, visible: bool,
             description: str | None = None) -> dict:
    doc: dict = {"pattern": text_rules.json_schema_pattern(one_line=one_line, visible=visible)}
    if visible:
        doc["minLength"] = 1
    if limit is not None:
        doc["maxLength"] = limit
    rules = ("One line; no" if one_line else "No") + " control characters" + (
        "" if one_line else " but tab and newline") + " and no bidirectional controls" + (
        "; at least one visible character" if visible else "") + (
        f"; at most {limit} characters, counted after NFC normalization" if limit else "") + "."
    doc["description"] = f"{description} {rules}" if description else rules
    return doc


EMAIL_DOC = {"format": "email", "maxLength": 254,  # email-validator's limit (RFC 5321)
             "description": "An address email-validator accepts (no DNS lookup)."}
_URL_NOT = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
URL_DOC = {"pattern": f"^[hH][tT][tT][pP][sS]?://[^\\s/?#\\[\\]{_URL_NOT}]+([/?#][^{_URL_NOT}]*)?$",
           "maxLength": MAX_URL, "description": "An http(s) URL, one line."}


def article_id(value: str) -> None:
    if problem := text_rules.article_id_problem(value):
        raise ValidationError(problem)


def max_chars(limit: int):  # noqa: ANN201
    def check(value: str) -> None:
        if nfc_length(value) > limit:
            raise ValidationError(f"Longer than {limit} characters.")

    return check


def email_address(value: str) -> None:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"Not a valid email address: {exc}") from exc


def http_url(value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # "http://[": an unclosed IPv6 bracket
        raise ValidationError("Must be an http(s) URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Must be an http(s) URL.")


class IPString(fields.String):
    """A reader's IPv4 or IPv6 address, kept in its canonical spelling: one reader is one
    string for the bans, the flood check and the rate limit ("2402:0800::1" is
    "2402:800::1"). A zone ("fe80::1%eth0") means nothing off its host and is refused."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        return canonical_ip(super()._deserialize(value, attr, data, **kwargs))


def canonical_ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise ValidationError("Not a valid IPv4 or IPv6 address.") from exc
    if getattr(address, "scope_id", None):
        raise ValidationError("An address with a zone (%...) is not a reader's address.")
    return str(address)


ARTICLE_ID_DOC = {
    "type": ["string", "integer"], "format": "article-id", "minLength": 1,
    "maxLength": MAX_ARTICLE_ID,
    "description": "The site's own id for the article (a string or an integer). Surrounding "
    "spaces are dropped; printable characters only, and no empty, \".\" or \"..\" part between "
    "slashes: it travels in the reader API's URL path."}


class ExternalId(fields.String):
    """Article ids arrive as strings or integers from CMSs; both are stored as text, in
    canonical form (service.text_rules.canonical_article_id)."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        value = super()._deserialize(value, attr, data, **kwargs)
        return text_rules.canonical_article_id(value)


class NFCString(fields.String):
    """Text stored in a column sized in characters (names, titles): kept in NFC, so that a
    value typed with combining marks (NFD) that passes the limit counted after NFC also fits
    the column."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        return unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs))


class ArticleIn(Schema):
    id = ExternalId(
        required=True,
        validate=[validators.Length(min=1, max=MAX_ARTICLE_ID), article_id],
        metadata=ARTICLE_ID_DOC,
    )
    url = fields.String(validate=[http_url, single_line, validators.Length(max=MAX_URL)],
                        metadata=URL_DOC)
    title = NFCString(validate=[single_line, max_chars(MAX_TITLE)],
                      metadata=text_doc(MAX_TITLE, one_line=True, visible=False))


class AuthorIn(Schema):
    name = NFCString(required=True, validate=[not_blank, single_line, max_chars(MAX_NAME)],
                     metadata=text_doc(MAX_NAME, one_line=True, visible=True))
    email = fields.String(
        required=True, validate=[email_address, validators.Length(max=MAX_EMAIL)],
        metadata=EMAIL_DOC,
    )


class ClientIn(Schema):
    ip = IPString(metadata={"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
                            "description": "The reader's IPv4 or IPv6 address (without a zone; "
                            "stored in canonical form)."})
    user_agent = fields.String(
        validate=no_control_chars,
        metadata=text_doc(one_line=False, visible=False, description=(
            f"The reader's browser; cut to {MAX_USER_AGENT} characters.")),
    )

    @pre_load
    def _cut_user_agent(self, data, **_kwargs):  # noqa: ANN001, ANN202
        # A long user agent is no reason to refuse a reader's comment.
        if isinstance(data, dict) and isinstance(data.get("user_agent"), str):
            data = {**data, "user_agent": data["user_agent"][:MAX_USER_AGENT]}
        return data


class CommentIn(Schema):
    article = fields.Nested(ArticleIn, required=True)
    author = fields.Nested(AuthorIn, required=True)
    body = fields.String(
        required=True,
        validate=[not_blank, no_control_chars, max_chars(MAX_BODY_CEILING)],
        metadata=text_doc(MAX_BODY_CEILING, one_line=False, visible=True, description=(
            "The comment, stored exactly as sent; at most the site's max_length (default "
            "2000; the site's own limit answers 422 naming `body`).")),
    )
    # At most what an INTEGER column holds: PostgreSQL refuses a larger parameter (a 500).
    parent_id = fields.Integer(strict=True, allow_none=True,
                               validate=validators.Range(min=1, max=MAX_ID))
    client = fields.Nested(ClientIn)


class CommentAccepted(Schema):
    id = fields.Integer()
    status = fields.String()
    status_url = fields.String()


class ArticleOut(Schema):
    id = fields.String()
    url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)


class AuthorOut(Schema):
    name = fields.String()
    email = fields.String()


class CommentOut(Schema):
    id = fields.Integer()
    status = fields.String()
    article = fields.Nested(ArticleOut)
    author = fields.Nested(AuthorOut)
    parent_id = fields.Integer(allow_none=True)
    body = fields.String(metadata={"description": "The text exactly as submitted."})
    body_normalized = fields.String(allow_none=True)
    body_published = fields.String(allow_none=True)
    received_at = fields.DateTime()
    analysed_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    analysis = fields.Dict(allow_none=True)
    model_version = fields.String(allow_none=True)


class ErrorDetail(Schema):
    code = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.String())


class ErrorOut(Schema):
    error = fields.Nested(ErrorDetail)
