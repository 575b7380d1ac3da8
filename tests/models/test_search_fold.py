"""fold() and search_key(): what the review queue's search compares (accents and case
ignored, nothing else changed)."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from models.normalize import fold, search_key


def test_fold_lowercases_and_strips_every_mark() -> None:
    assert fold("XĂNG") == "xang"
    assert fold("Đường Lê Lợi") == "duong le loi"
    assert fold("Trần Văn Hùng") == "tran van hung"
    assert fold("ƯỚC MƠ Ở ĐÂY") == "uoc mo o day"


def test_fold_of_decomposed_input_is_the_same() -> None:
    composed = "Giá xăng tăng, người dân khỏe"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert fold(decomposed) == fold(composed) == "gia xang tang, nguoi dan khoe"


def test_old_and_new_tone_placement_fold_alike() -> None:
    assert fold("hoà") == fold("hòa") == "hoa"
    assert fold("thuỷ") == fold("thủy") == "thuy"
    assert fold("khoẻ") == fold("khỏe") == "khoe"


def test_teencode_and_punctuation_untouched() -> None:
    assert fold("ko bik dc j") == "ko bik dc j"
    assert fold("vay 50% lãi, ib: 0912_345") == "vay 50% lai, ib: 0912_345"


def test_search_key_words_and_marks_apart() -> None:
    assert search_key("Giá xăng, dầu!") == " gia xang , dau ! "
    assert search_key("  ") == ""
    assert search_key(None, "") == ""
    # Two texts kept apart; one folding to the same form is stored once.
    assert search_key("Xăng", "xăng") == " xang "
    assert search_key("Hùng", "hung@example.vn") == " hung \n hung @ example . vn "


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fold_is_form_independent_and_idempotent(s: str) -> None:
    assert fold(unicodedata.normalize("NFD", s)) == fold(unicodedata.normalize("NFC", s))
    assert fold(fold(s)) == fold(s)
    assert search_key(search_key(s)) == search_key(s)
