"""Two readings of unmarked text in the word lists (#17 item 3): a plain hit on an entry
whose letters are also ordinary words counts only when the restorer's likely reading is
the profane one; deliberate unmarked profanity and disguises still count; the shipped
lists fire on no ordinary clean sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.normalize import normalize
from models.wordlists import (
    BANNED,
    SUSPECT,
    Entry,
    WordMatcher,
    builtin_entries,
    canonical_phrase,
    likely_reading,
)

MATCHER = WordMatcher(builtin_entries())
FIXTURE = Path(__file__).parent / "fixtures" / "clean_sentences.txt"


def hits(text: str, matcher: WordMatcher = MATCHER) -> list[tuple[str, str]]:
    t = normalize(text)
    return [(m.text, m.entry.kind) for m in matcher.find(t, lambda: likely_reading(t))]


@pytest.mark.parametrize("text", [
    "cu tang qua",  # cứ tăng quá: not "cu"
    "lon xon qua",  # lộn xộn quá: the restorer itself reads it so
    "lon bia vut day duong",  # a beer can: "lon" as typed, the profane word is "lồn"
    "Con toi hoc lop 9 ma mon Ngu van",  # Ngữ văn
    "Cảm ơn b nhé",  # the shipped "b`" entry read as "b"
    "cac ban oi lon len se hieu",
    "bo me toi nam nay 70 tuoi",  # bố mẹ, not "bỏ mẹ"
    "con di cho mua rau",  # con đi chợ: the shipped "con di cho" is "con đĩ chó"
    "deo khau trang khi ra duong",  # đeo khẩu trang
])
def test_innocent_in_the_likely_reading(text: str) -> None:
    assert hits(text) == []


@pytest.mark.parametrize(("text", "found"), [
    ("dm thang nay", [("dm", BANNED)]),
    ("dit me", [("dit me", BANNED)]),  # the restorer withholds "địt mẹ"
    ("Đ.m bọn tham nhũng", [("Đ.m", BANNED)]),
    ("ngu nhu bo", [("ngu", SUSPECT)]),  # read "ngu": the word as typed is the insult
    ("vcl luôn", [("vcl", BANNED)]),
    ("cai lon gi vay", [("cai lon", SUSPECT)]),  # withheld "cái lồn"
    ("deo biet gi ca", [("deo", SUSPECT)]),  # withheld "đéo"
    ("l0n bia", [("l0n", SUSPECT)]),  # a disguise is deliberate: never dismissed
    ("Hay vai lon anh à", [("vai lon", SUSPECT)]),  # read "vãi lon": "vãi" has its marks
])
def test_deliberate_profanity_still_fires(text: str, found: list[tuple[str, str]]) -> None:
    assert hits(text) == found


def test_dismissed_hits_carry_their_reading() -> None:
    t = "lon xon qua"
    kept, dismissed = MATCHER.find_all(t, likely_reading(t))
    assert kept == []
    assert [(m.text, m.entry.phrase, m.reading) for m in dismissed] == [("lon", "lon", "lộn")]
    assert [m.text for m in MATCHER.find(t)] == ["lon"]  # without a reading: as typed


def test_admins_entries_get_the_same_reading() -> None:
    mine = WordMatcher([Entry("lon", BANNED, source="site"), Entry("lồn", BANNED, source="site")])
    assert hits("lon bia vut day duong", mine) == []
    assert hits("cai lon gi vay", mine) == [("lon", BANNED)]
    # An entry that asks to ignore marks matches whatever the reading.
    loose = WordMatcher([Entry("lon", SUSPECT, accent_insensitive=True, source="site")])
    assert hits("lon xon qua", loose) == [("lon", SUSPECT)]


def clean_sentences() -> list[str]:
    return [line.strip() for line in FIXTURE.read_text("utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_no_shipped_entry_fires_on_a_clean_sentence() -> None:
    found = {}
    for sentence in clean_sentences():
        for m in hits(sentence):
            found.setdefault(sentence, []).append(m)
    assert found == {}


def test_every_shipped_entry_reads_as_written() -> None:
    """No entry whose meaning lived in a tone key the matcher drops ("di~" read as "di"),
    and none of one letter or digit ("b`" read as "b", "4`" as "4")."""
    for entry in builtin_entries():
        assert not re.search(r"(?<=\w)['`~](\s|$)", entry.phrase), entry
        assert len(canonical_phrase(entry.phrase).replace(" ", "")) > 1, entry
