"""What counts as generic wording for the near-duplicate check (models/fingerprint.py
content_words, workers/pipeline/repeats.py generic_reason)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.fingerprint import content_words
from workers.pipeline.context import CommentContext
from workers.pipeline.repeats import GENERIC_ARTICLES, _Match, generic_reason


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Bài viết rất hay, cảm ơn tác giả", 0),
        ("bai viet rat hay cam on tac gia nhe", 0),  # unmarked: the same words
        ("Đồng ý với bạn, nói rất đúng luôn", 0),
        ("Cảm ơn tác giả!!! 👍👍", 0),
        ("Vay tiền nhanh lãi suất thấp", 6),  # "vay" (loan) is not filler, though "vậy" is
        ("Mong cơ quan chức năng sớm vào cuộc xử lý", 6),
    ],
)
def test_content_words(text: str, words: int) -> None:
    assert content_words(text) == words


def _ctx(article: int) -> CommentContext:
    return CommentContext(1, 1, "x", "A", "Reader@Example.vn", None, {},
                          received_at=datetime(2026, 12, 1, tzinfo=UTC), article_id=article)


def _spread(n: int) -> list[_Match]:
    """Near-duplicates by n other readers on n other articles."""
    return [_Match(10 + i, f"r{i}@example.vn", str(100 + i), 0.0) for i in range(n)]


def test_generic_reason() -> None:
    wish = "Cầu mong các nạn nhân sớm bình phục"
    assert generic_reason("Bài viết rất hay, cảm ơn tác giả", _ctx(1), []) == "little_content"
    assert generic_reason(wish, _ctx(1), _spread(GENERIC_ARTICLES - 2)) is None
    assert generic_reason(wish, _ctx(1), _spread(GENERIC_ARTICLES - 1)) == "common_phrase"
    # Many matches on one article are not spread.
    same = [m._replace(article="1") for m in _spread(10)]
    assert generic_reason(wish, _ctx(1), same) is None
    # A contact, or a long text, is never generic.
    assert generic_reason("Cảm ơn tác giả, zalo 0912 345 678", _ctx(1), _spread(9)) is None
    long = " ".join([wish] * 3)
    assert generic_reason(long, _ctx(1), _spread(9)) is None
