"""The word-level diff the comment card shows between a comment and its suggestion."""

from __future__ import annotations

import unicodedata

from service.worddiff import DiffPart, changed_words, word_diff


def _rebuild(parts: list[DiffPart]) -> tuple[str, str]:
    return "".join(p.old for p in parts), "".join(p.new for p in parts)


def test_one_word_per_change() -> None:
    parts = word_diff("Bai viet nay rat hay", "Bài viết này rất hay")
    changed = [(p.old, p.new) for p in parts if p.changed]
    assert changed == [("Bai", "Bài"), ("viet", "viết"), ("nay", "này"), ("rat", "rất")]
    assert changed_words(parts) == 4
    assert _rebuild(parts) == ("Bai viet nay rat hay", "Bài viết này rất hay")
    assert parts[-1] == DiffPart(" hay", " hay")  # unchanged runs merged


def test_decomposed_original_matches_its_precomposed_suggestion() -> None:
    nfd = unicodedata.normalize("NFD", "Cảm ơn tác giả")
    assert changed_words(word_diff(nfd, "Cảm ơn tác giả")) == 0


def test_teencode_expansion_and_mixed_english() -> None:
    parts = word_diff("ko dc dau, good job", "không được đâu, good job")
    assert [(p.old, p.new) for p in parts if p.changed] == [
        ("ko", "không"), ("dc", "được"), ("dau,", "đâu,")]
    assert _rebuild(parts)[1] == "không được đâu, good job"


def test_insertions_and_deletions_keep_both_texts() -> None:
    parts = word_diff("mong tinh som sua", "mong tỉnh sớm sửa đường")
    assert _rebuild(parts) == ("mong tinh som sua", "mong tỉnh sớm sửa đường")
    # An unequal rewrite stays one block: what was there and all that replaces it.
    assert parts[-1] == DiffPart("sua", "sửa đường")
