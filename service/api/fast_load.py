"""`CommentIn().load(data)` for the ordinary comment, without marshmallow's machinery.

marshmallow spends ≈ 80 µs per comment walking the schema (field objects, error
collection, hooks): more than the checks themselves. `load_common` walks the same fields
with the schema's own validators and returns what `CommentIn().load` returns, or None
whenever it is not sure (a reply, an unknown key, any check failing): the caller then runs
the schema, which names every bad field. What this module states again is the schema's
shape; tests/test_fast_load.py holds it to service/api/schemas.py (a tripwire on the
schema's fields and validators, and hypothesis comparing both on near-valid comments).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from marshmallow import ValidationError

from service.api.schemas import (
    MAX_BODY_CEILING,
    MAX_EMAIL,
    MAX_NAME,
    MAX_TITLE,
    MAX_URL,
    MAX_USER_AGENT,
    canonical_ip,
    email_address,
    has_control_char,
    http_url,
    nfc_length,
)
from service.text_rules import (
    article_id_problem,
    canonical_article_id,
    forbidden_char,
    is_blank,
)

_TOP = frozenset({"article", "author", "body", "client"})
_ARTICLE = frozenset({"id", "url", "title"})
_AUTHOR = frozenset({"name", "email"})
_CLIENT = frozenset({"ip", "user_agent"})
# Plain ASCII addresses that email-validator accepts whatever else they hold (checked by
# hypothesis in the tests); any other address goes through email-validator itself.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.ASCII)
_SPECIAL_DOMAINS = tuple(SPECIAL_USE_DOMAIN_NAMES)


class _NotCommon(Exception):
    """Not certainly valid: the schema decides."""


def load_common(data: Any) -> dict[str, Any] | None:
    if type(data) is not dict or not data.keys() <= _TOP:
        return None
    try:
        out = {
            "article": _article(data["article"]),
            "author": _author(data["author"]),
            "body": _body(data["body"]),
        }
        if "client" in data:
            out["client"] = _client(data["client"])
    except (KeyError, _NotCommon, ValidationError):
        return None
    return out


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _NotCommon
    return value


def _line(value: str, limit: int) -> str:
    """One line, at most `limit` code points: article ids, names, titles."""
    if len(value) > limit or forbidden_char(value, one_line=True):
        raise _NotCommon
    return value


def _nfc(value: str) -> str:
    # As NFCString: stored in NFC, checked after it.
    return unicodedata.normalize("NFC", value)


def _article(data: Any) -> dict[str, str]:
    if type(data) is not dict or not data.keys() <= _ARTICLE:
        raise _NotCommon
    external_id = data["id"]
    if type(external_id) is int:  # ExternalId: CMSs send integers too
        external_id = str(external_id)
    external_id = canonical_article_id(_str(external_id))
    if article_id_problem(external_id):
        raise _NotCommon
    out = {"id": external_id}
    if "url" in data:
        url = _line(_str(data["url"]), MAX_URL)
        http_url(url)
        out["url"] = url
    if "title" in data:
        out["title"] = _line(_nfc(_str(data["title"])), MAX_TITLE)
    return out


def _author(data: Any) -> dict[str, str]:
    if type(data) is not dict or data.keys() != _AUTHOR:
        raise _NotCommon
    name = _line(_nfc(_str(data["name"])), MAX_NAME)
    email = _str(data["email"])
    if is_blank(name) or len(email) > MAX_EMAIL:
        raise _NotCommon
    if not _plain_email(email):
        email_address(email)
    return {"name": name, "email": email}


def _plain_email(email: str) -> bool:
    if len(email) > 254 or not _PLAIN_EMAIL.fullmatch(email):
        return False
    local, domain = email.split("@")
    return (len(local) <= 64 and "--" not in domain
            and not domain.endswith(_SPECIAL_DOMAINS))


def _body(value: Any) -> str:
    body = _str(value)
    if is_blank(body) or has_control_char(body) or nfc_length(body) > MAX_BODY_CEILING:
        raise _NotCommon
    return body


def _client(data: Any) -> dict[str, str]:
    if type(data) is not dict or not data.keys() <= _CLIENT:
        raise _NotCommon
    out = {}
    if "ip" in data:
        out["ip"] = canonical_ip(_str(data["ip"]))
    if "user_agent" in data:
        user_agent = _str(data["user_agent"])[:MAX_USER_AGENT]
        if has_control_char(user_agent):
            raise _NotCommon
        out["user_agent"] = user_agent
    return out
