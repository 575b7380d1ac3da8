"""service/api/fast_load.py answers for CommentIn: whatever it returns is exactly what the
schema returns, it accepts the ordinary Vietnamese comment, and it is told when the schema
changes."""

from __future__ import annotations

import copy
import sys
import unicodedata

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError, fields

from service.api.fast_load import _PLAIN_EMAIL, _plain_email, load_common
from service.api.schemas import CommentIn, has_control_char, no_control_chars
from tests.helpers import VALID
from tests.test_intake_fuzz import _MUTATIONS, _mutated


def _schema(data: object) -> dict | None:
    try:
        return CommentIn().load(data)
    except ValidationError:
        return None


def _describe(schema: object) -> dict:
    """Each field: its class, required/allow_none, its validators, nested schemas; plus the
    schema's hooks and what it does with unknown keys."""
    out: dict = {"unknown": schema.unknown,
                 "hooks": sorted(f"{kind}:{hook[0]}" for kind, hooks in schema._hooks.items()
                                 for hook in hooks)}
    for name, field in schema.fields.items():
        validators = [getattr(v, "__qualname__", type(v).__name__) for v in field.validators]
        entry: dict = {"class": type(field).__name__, "required": field.required,
                       "allow_none": field.allow_none, "validators": validators}
        if isinstance(field, fields.Nested):
            entry["nested"] = _describe(field.schema)
        out[name] = entry
    return out


def test_the_schema_is_the_one_fast_load_was_written_for() -> None:
    """A tripwire: if this fails, CommentIn changed. Make service/api/fast_load.py check the
    same (or return None for what it does not know), then update this snapshot."""
    text = {"class": "String", "required": False, "allow_none": False}
    assert _describe(CommentIn()) == {
        "unknown": "raise", "hooks": [],
        "article": {"class": "Nested", "required": True, "allow_none": False, "validators": [],
                    "nested": {
                        "unknown": "raise", "hooks": [],
                        "id": {"class": "ExternalId", "required": True, "allow_none": False,
                               "validators": ["Length", "article_id"]},
                        "url": {**text, "validators": ["http_url", "single_line", "Length"]},
                        "title": {**text, "class": "NFCString", "validators": [
                            "single_line", "max_chars.<locals>.check"]}}},
        "author": {"class": "Nested", "required": True, "allow_none": False, "validators": [],
                   "nested": {
                       "unknown": "raise", "hooks": [],
                       "name": {"class": "NFCString", "required": True, "allow_none": False,
                                "validators": ["not_blank", "single_line",
                                               "max_chars.<locals>.check"]},
                       "email": {**text, "required": True,
                                 "validators": ["email_address", "Length"]}}},
        "body": {**text, "required": True,
                 "validators": ["not_blank", "no_control_chars", "max_chars.<locals>.check"]},
        "parent_id": {"class": "Integer", "required": False, "allow_none": True,
                      "validators": ["Range"]},
        "client": {"class": "Nested", "required": False, "allow_none": False, "validators": [],
                   "nested": {
                       "unknown": "raise", "hooks": ["pre_load:_cut_user_agent"],
                       "ip": {**text, "class": "IPString", "validators": []},
                       "user_agent": {**text, "validators": ["no_control_chars"]}}},
    }


ORDINARY = [
    VALID,
    {**VALID, "body": "Bai viet hay qua, cam on tac gia nhe"},  # no diacritics
    {**VALID, "body": "ko bít j lun, thủ tục này có dc làm online ko ạ?\nThanks admin!"},
    {**VALID, "body": unicodedata.normalize("NFD", "Đề nghị kiểm tra lại việc cấp phép.")},
    {**VALID, "body": "Hoà bình, thuỷ lợi, khoẻ mạnh 👍"},  # old tone placement, emoji
    {**VALID, "article": {"id": 12345}},  # CMSs send integer ids
    {**VALID, "author": {"name": unicodedata.normalize("NFD", "Trần Văn Đức"),
                         "email": "Duc.Tran+bao@Mail.Example.vn"}},
    {**VALID, "author": {"name": "Lê Thị Hồng", "email": "hồng@báo.vn"}},  # via email-validator
    {**VALID, "client": {"ip": "2402:0800:0000::0001", "user_agent": "Mozilla/5.0 " * 60}},
    {**VALID, "client": {}},
]


@pytest.mark.parametrize("data", ORDINARY, ids=range(len(ORDINARY)))
def test_ordinary_comments_are_loaded_as_the_schema_loads_them(data: dict) -> None:
    fast = load_common(copy.deepcopy(data))
    assert fast is not None
    assert fast == CommentIn().load(copy.deepcopy(data))


@pytest.mark.parametrize("data", [
    {**VALID, "parent_id": 5},  # replies: the view reads the parent
    {**VALID, "parent_id": None},
    {**VALID, "score": 1},
    {**VALID, "body": "   "},
    {**VALID, "body": "xin chào\x07"},
    {**VALID, "author": {"name": "Lan", "email": "lan@"}},
    {**VALID, "author": {"name": "Lan", "email": "lan@example.test"}},
    {**VALID, "article": {"id": "tin\n123"}},
    {**VALID, "article": {"id": True}},
    {**VALID, "article": {"id": "1", "url": "http://[2402:800::1"}},
    {**VALID, "client": {"ip": "fe80::1%eth0"}},
    {**VALID, "client": None},
    [VALID],
], ids=range(13))
def test_anything_else_is_left_to_the_schema(data: object) -> None:
    assert load_common(copy.deepcopy(data)) is None


# Near-valid comments, field by field: mostly ordinary Vietnamese text, with now and then
# what one check or another refuses (tabs, controls, combining marks, surrogates, blanks,
# lengths at a limit), so that most examples reach the comparison.
_CHARS = st.sampled_from(list("aăâđeêioôơuưy ĐỆếữỗạ.@-_+:/[]%?#") + [
    "\t", "\n", "\r", "\x00", "\x07", "\x85", "\u0300", "\u0323", "\u200b", "\ud800",
    "👍", "\u0958", "\u202e", "\u2067", "\u3164", "\u2028", "\u00a0", "\ufeff"])
_TEXT = st.one_of(
    st.sampled_from(["Nguyễn Thị Lan", "Bai viet hay qua", "ko bít j lun", " ", "", ".", "..",
                     " tin-1 ", "a//b", "\u200b\u200c",
                     "Thuỷ lợi hoà bình", unicodedata.normalize("NFD", "Trần Đức")]),
    st.text(alphabet=_CHARS, min_size=1, max_size=12),
    st.builds(lambda c, n: c * n, _CHARS, st.sampled_from([99, 100, 101, 199, 200, 201])),
)
_EMAILS = st.one_of(
    st.from_regex(_PLAIN_EMAIL, fullmatch=True),
    st.builds(lambda a, b: a + b, st.from_regex(_PLAIN_EMAIL, fullmatch=True), _TEXT),
    st.sampled_from(["lan@example.vn", "hồng@báo.vn", "a@b.test", "a@localhost", "a..b@x.vn",
                     "x@ab--cd.vn", "a@b.vn.", "a@[127.0.0.1]", '"a b"@x.vn', "@x.vn"]),
)
_IPS = st.one_of(st.ip_addresses().map(str), st.sampled_from(
    ["2402:0800::0001", "fe80::1%eth0", "113.1.2.3 ", "999.1.1.1", "::ffff:1.2.3.4"]))
_URLS = st.one_of(st.sampled_from(["https://baothu.vn/a", "http://[2402:800::1", "ftp://x/y",
                                   "https:///nohost", "http://x.vn/a b"]),
                  st.builds(lambda t: "https://baothu.vn/" + t, _TEXT))


def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(_ABSENT), strategy)


_ABSENT = object()
_ID = st.one_of(_TEXT, st.integers(min_value=-(2**70), max_value=2**70), st.booleans())
_COMMENTS = st.builds(
    lambda article, author, body, client: {k: v for k, v in (
        ("article", article), ("author", author), ("body", body), ("client", client))
        if v is not _ABSENT},
    st.builds(lambda i, u, t: {k: v for k, v in (("id", i), ("url", u), ("title", t))
                               if v is not _ABSENT},
              _ID, _optional(_URLS), _optional(_TEXT)),
    st.builds(lambda n, e: {"name": n, "email": e}, _TEXT, _EMAILS),
    st.one_of(_TEXT, st.builds(lambda c, n: c * n, _CHARS, st.sampled_from([19999, 20001]))),
    _optional(st.builds(lambda i, u: {k: v for k, v in (("ip", i), ("user_agent", u))
                                      if v is not _ABSENT},
                        _optional(_IPS), _optional(_TEXT))),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_COMMENTS)
def test_what_fast_load_accepts_the_schema_loads_the_same(data: dict) -> None:
    fast = load_common(copy.deepcopy(data))
    if fast is not None:
        assert fast == _schema(copy.deepcopy(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=_MUTATIONS)
def test_what_fast_load_accepts_of_mutated_comments_too(changes) -> None:  # noqa: ANN001
    fast = load_common(_mutated(changes))
    if fast is not None:
        assert fast == _schema(_mutated(changes))


@settings(max_examples=1500, deadline=None)
@given(email=st.from_regex(_PLAIN_EMAIL, fullmatch=True))
def test_every_plain_address_is_one_email_validator_accepts(email: str) -> None:
    if _plain_email(email):
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError as exc:
            pytest.fail(f"{email!r}: {exc}")


def test_the_control_character_check_is_the_unicode_categories() -> None:
    """Cc but tab, newline and carriage return, lone surrogates and the bidirectional
    embedding, override and isolate controls: every code point."""
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        category = unicodedata.category(ch)
        expected = ((category == "Cc" and ch not in "\t\n\r") or category == "Cs"
                    or unicodedata.bidirectional(ch) in {"LRE", "RLE", "LRO", "RLO", "PDF",
                                                         "LRI", "RLI", "FSI", "PDI"})
        assert has_control_char(ch) is expected, hex(code)
    with pytest.raises(ValidationError, match="U\\+0007"):
        no_control_chars("xin chào\x07")
