"""Banned and suspect word lists in the database: which entries apply to a site, adding,
removing, importing and exporting them, and telling the workers that they changed.

No Flask here: the admin console (service/admin/wordlists.py) and the worker's resources
(workers/pipeline/resources.py) both use it, so the "test this text" box and the pipeline
match against exactly the same entries.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis as redis_lib
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.normalize import strip_marks
from models.wordlists import BANNED, SUSPECT, Entry, builtin_entries, canonical_phrase
from service import change_signal
from service.storage import ShippedEntryOff, WordListEntry

KINDS = (BANNED, SUSPECT)
MAX_PHRASE_LENGTH = 200  # the column's size
# Export writes, and import reads, this mark before an entry that ignores diacritics, so a
# list survives the round trip; the matcher itself drops "~" inside a word, so the mark can
# never be part of a real entry.
ACCENT_INSENSITIVE_MARK = "~"
# Incremented on every change; each worker re-reads its lists when it sees a new value.
GENERATION_KEY = "vimod:wordlists:generation"


class PhraseError(ValueError):
    """Why a phrase cannot be an entry: `code` is one of "multiline", "empty", "too_long",
    "unknown_list" (the admin console words each in the reader's language)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def prepare_phrase(raw: str) -> str:
    """The phrase as stored: the matcher's canonical form (so "Đ.M" and "đm" are one
    entry). Raises PhraseError for empty, over-long or control-character input."""
    if any(unicodedata.category(c) == "Cc" for c in raw):
        raise PhraseError("multiline")
    phrase = canonical_phrase(raw)
    if not phrase:
        raise PhraseError("empty")
    if len(phrase) > MAX_PHRASE_LENGTH:
        raise PhraseError("too_long")
    return phrase


def scope_filter(site_id: int | None):  # noqa: ANN201
    return (WordListEntry.site_id.is_(None) if site_id is None
            else WordListEntry.site_id == site_id)


def find_duplicate(existing: Iterable[WordListEntry], phrase: str) -> WordListEntry | None:
    """An entry of the same scope that already matches everything `phrase` would: the same
    canonical phrase (either list), or the same letters on an entry that ignores marks."""
    bare = strip_marks(phrase)
    for entry in existing:
        if entry.phrase == phrase:
            return entry
        # (A new entry that ignores marks is broader than a marked one: allowed beside it.)
        if entry.accent_insensitive and strip_marks(entry.phrase) == bare:
            return entry
    return None


class DuplicateEntry(ValueError):
    def __init__(self, existing: WordListEntry) -> None:
        super().__init__(existing.phrase)
        self.existing = existing


def scope_entries(session: Session, site_id: int | None, kind: str | None = None
                  ) -> list[WordListEntry]:
    query = select(WordListEntry).where(scope_filter(site_id))
    if kind is not None:
        query = query.where(WordListEntry.kind == kind)
    return list(session.scalars(query.order_by(WordListEntry.phrase, WordListEntry.id)))


def add_entry(session: Session, site_id: int | None, kind: str, raw: str,
              accent_insensitive: bool, user_id: int | None) -> WordListEntry:
    """Add (not commit) one entry; PhraseError or DuplicateEntry when it cannot be."""
    if kind not in KINDS:
        raise PhraseError("unknown_list")
    phrase = prepare_phrase(raw)
    duplicate = find_duplicate(scope_entries(session, site_id), phrase)
    if duplicate is not None:
        raise DuplicateEntry(duplicate)
    entry = WordListEntry(site_id=site_id, kind=kind, phrase=phrase,
                          accent_insensitive=accent_insensitive, created_by=user_id)
    session.add(entry)
    session.flush()
    return entry


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # the lines as given


def parse_lines(text: str) -> list[tuple[str, bool]]:
    """(line, accent-insensitive) per entry line: blank lines and `#` comments skipped; a
    leading ACCENT_INSENSITIVE_MARK marks an entry that ignores diacritics."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        loose = line.startswith(ACCENT_INSENSITIVE_MARK)
        out.append((line[1:].strip() if loose else line, loose))
    return out


def import_lines(session: Session, site_id: int | None, kind: str, text: str,
                 accent_insensitive: bool, user_id: int | None) -> ImportReport:
    """Add (not commit) every new entry of a one-entry-per-line text; `accent_insensitive`
    applies to every line (lines marked with "~" ignore marks anyway)."""
    if kind not in KINDS:
        raise PhraseError("unknown_list")
    report = ImportReport()
    existing = scope_entries(session, site_id)
    for line, loose in parse_lines(text):
        try:
            phrase = prepare_phrase(line)
        except PhraseError:
            report.invalid.append(line[:MAX_PHRASE_LENGTH])
            continue
        loose = loose or accent_insensitive
        if find_duplicate(existing, phrase) is not None:
            report.duplicates.append(phrase)
            continue
        entry = WordListEntry(site_id=site_id, kind=kind, phrase=phrase,
                              accent_insensitive=loose, created_by=user_id)
        session.add(entry)
        existing.append(entry)
        report.added.append(phrase)
    session.flush()
    return report


def export_text(entries: Iterable[WordListEntry], header: str) -> str:
    """One entry per line (UTF-8 when encoded), after `#` comment lines that import skips."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [(ACCENT_INSENSITIVE_MARK if e.accent_insensitive else "") + e.phrase
              for e in entries]
    return "\n".join(lines) + "\n"


def switched_off(session: Session, site_id: int | None) -> list[ShippedEntryOff]:
    """The shipped entries switched off for a site: everywhere (site_id NULL) and on the
    site itself (None: the global ones only)."""
    query = select(ShippedEntryOff).where(or_(ShippedEntryOff.site_id.is_(None),
                                              ShippedEntryOff.site_id == site_id))
    return list(session.scalars(query.order_by(ShippedEntryOff.phrase, ShippedEntryOff.id)))


def shipped_entry(kind: str, phrase: str) -> Entry | None:
    return next((e for e in builtin_entries() if e.kind == kind and e.phrase == phrase), None)


class NotShipped(ValueError):
    """No shipped entry of that list and phrase."""


def switch_off(session: Session, site_id: int | None, kind: str, phrase: str,
               user_id: int | None) -> ShippedEntryOff | None:
    """Switch a shipped entry off for the scope (not committed); None when it already is
    (here or, for a site, everywhere). NotShipped when there is no such entry."""
    if kind not in KINDS or shipped_entry(kind, phrase) is None:
        raise NotShipped(phrase)
    for row in switched_off(session, site_id):
        if row.kind == kind and row.phrase == phrase and (row.site_id in (None, site_id)):
            return None
    row = ShippedEntryOff(site_id=site_id, kind=kind, phrase=phrase, created_by=user_id)
    session.add(row)
    session.flush()
    return row


def entries_for(session: Session, site_id: int | None) -> list[Entry]:
    """What the matcher uses for a site (None: global only): the shipped seed lists less the
    entries switched off everywhere or on this site, the global entries and the site's own."""
    query = select(WordListEntry).where(or_(WordListEntry.site_id.is_(None),
                                            WordListEntry.site_id == site_id))
    rows = session.scalars(query.order_by(WordListEntry.id)).all()
    off = {(r.kind, r.phrase) for r in switched_off(session, site_id)}
    return [*(e for e in builtin_entries() if (e.kind, e.phrase) not in off),
            *(Entry(r.phrase, r.kind, r.accent_insensitive,
                    source="global" if r.site_id is None else "site") for r in rows)]


def bump_generation(redis: redis_lib.Redis) -> None:
    """Tell every worker the lists changed (after the commit)."""
    change_signal.announce(redis, GENERATION_KEY, "word-list")


def read_generation(redis: redis_lib.Redis) -> int | None:
    try:
        return change_signal.generation(redis, GENERATION_KEY)
    except redis_lib.RedisError:
        return None
