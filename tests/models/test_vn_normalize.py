import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.normalize import has_vietnamese_marks, normalize, strip_marks
from models.teencode import expand_teencode
from models.tokenize import tokenize

VN_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)
ALPHABET = st.sampled_from(
    list(VN_LETTERS + VN_LETTERS.upper())
    + list(" \t\n\u00a0\u200b\u200d\ufeff.,!?-:)(😂❤️\ufe0f0123456789@/")
    + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b"]
    + list("аоесрхуіΑοΟ")
)


@settings(max_examples=400, deadline=None)
@given(st.text(ALPHABET, max_size=60))
def test_normalize_idempotent_vietnamese_alphabet(s):
    n = normalize(s)
    assert normalize(n) == n


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalize_idempotent_any_text(s):
    n = normalize(s)
    assert normalize(n) == n


@settings(max_examples=200, deadline=None)
@given(st.text(ALPHABET, max_size=40))
def test_normalize_output_is_nfc_and_clean(s):
    n = normalize(s)
    assert unicodedata.is_normalized("NFC", n)
    assert "\u200b" not in n and "\ufeff" not in n
    assert "  " not in n and n == n.strip()


@settings(max_examples=200, deadline=None)
@given(st.text(ALPHABET, max_size=40))
def test_strip_marks_properties(s):
    out = strip_marks(normalize(s))
    assert strip_marks(out) == out
    assert not has_vietnamese_marks(out)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("hoà bình", "hòa bình"),
        ("Thuỷ", "Thủy"),
        ("khoẻ", "khỏe"),
        ("hoá học", "hóa học"),
        ("qủa", "quả"),
        ("gìn giữ", "gìn giữ"),
        ("giá", "giá"),
        ("uỷ ban", "ủy ban"),
        ("hoàn thành", "hoàn thành"),
        ("ngóai", "ngoái"),
        ("thuở", "thuở"),
        ("NGƯỜI HOÀ", "NGƯỜI HÒA"),
        ("khuỷu", "khuỷu"),
        ("quý", "quý"),
    ],
)
def test_tone_placement_old_style(raw, expected):
    assert normalize(raw) == expected


def test_nfd_and_invisible_and_whitespace():
    nfd = unicodedata.normalize("NFD", "Tiếng Việt")
    assert normalize(nfd) == "Tiếng Việt"
    assert normalize("  xin\u200b  chào\u00a0\u00a0bạn \n\n\n tôi\ufeff ") == "xin chào bạn\ntôi"
    assert normalize("ｈｅｌｌｏ") == "hello"


def test_homoglyphs():
    # Cyrillic а, о, е, с, р inside Latin words
    assert normalize("Vіệt Nаm") == "Việt Nam"
    assert normalize("сó рhоtо") == "có photo"
    assert normalize("ΟΚ") == "ΟΚ"  # all-Greek word left alone
    assert normalize("привет") == "привет"


def test_strip_marks():
    assert strip_marks("Đường Hòa Bình, ĐỦ rồi!") == "Duong Hoa Binh, DU roi!"
    assert strip_marks(unicodedata.normalize("NFD", "được")) == "duoc"


def test_tokenize_kinds_and_offsets():
    text = normalize(
        "Xem https://vnexpress.net/a-1.html, mail a.b@gmail.com 😂😂 giá 1.000.000đ :)) ok!"
    )
    toks = tokenize(text)
    kinds = [(t.text, t.kind) for t in toks]
    assert ("https://vnexpress.net/a-1.html", "url") in kinds
    assert ("a.b@gmail.com", "email") in kinds
    assert ("😂😂", "emoji") in kinds
    assert ("1.000.000đ", "number") in kinds
    assert (":))", "emoji") in kinds
    assert ("giá", "word") in kinds
    assert (",", "punct") in kinds
    for t in toks:
        assert text[t.start:t.end] == t.text


def test_teencode():
    assert expand_teencode("ko bik j, dc k vs mik") == "không biết gì, được không với mình"
    assert expand_teencode("Ko sao") == "Không sao"
    assert expand_teencode("xem www.k.com") == "xem www.k.com"


@pytest.mark.parametrize(
    "raw", ["0\u200b\u200d", "0\u200d\u200d", "Aа\u0300\u200d", "ÀΑ\u0302", "ho\u200dà"]
)
def test_idempotence_regressions_found_by_hypothesis(raw):
    n = normalize(raw)
    assert normalize(n) == n
