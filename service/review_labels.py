"""Human labels for the codes stored with a comment (its status, the pipeline's flags, the
classifier's categories), shown to moderators in their language; the raw code stays on the
page beside the label (title and data attributes) for whoever needs the exact value."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.storage import CommentStatus

STATUS_LABELS: dict[str, LazyString] = {
    CommentStatus.received: _l("Awaiting analysis"),
    CommentStatus.pending: _l("Pending"),
    CommentStatus.approved: _l("Approved"),
    CommentStatus.rejected: _l("Rejected"),
    CommentStatus.auto_approved: _l("Auto-approved"),
    CommentStatus.auto_rejected: _l("Auto-rejected"),
    CommentStatus.removed: _l("Removed"),
}

# Every flag a pipeline phase sets (workers/pipeline/*.py); an unknown one shows as its code.
FLAG_LABELS: dict[str, LazyString] = {
    "missing_diacritics": _l("Without diacritics"),
    "spam": _l("Spam"),
    "offensive": _l("Offensive"),
    "hate": _l("Hate"),
    "link": _l("Link"),
    "email": _l("E-mail address"),
    "phone": _l("Phone number"),
    "contact_handle": _l("Zalo/Telegram"),
    "banned_word": _l("Banned word"),
    "suspect_word": _l("Suspect word"),
    "repeat": _l("Repeated"),
    "near_duplicate": _l("Near duplicate"),
    "burst": _l("Posting burst"),
    "banned_author": _l("Banned author"),
    "very_short": _l("Very short"),
    "emoji_only": _l("Emoji only"),
    "shouting": _l("All capitals"),
    "stretched_letters": _l("Stretched letters"),
    "changed_by_normalization": _l("Normalized"),
    "analysis_failed": _l("Analysis failed"),
    "foreign_language": _l("Not Vietnamese"),
}

# Languages models/language.py tells apart from Vietnamese (the card's "not scored" line).
LANGUAGE_LABELS: dict[str, LazyString] = {
    "vi": _l("Vietnamese"),
    "en": _l("English"),
    "zh": _l("Chinese"),
    "ja": _l("Japanese"),
    "ko": _l("Korean"),
    "th": _l("Thai"),
    "ru": _l("Cyrillic script"),
    "ar": _l("Arabic"),
    "hi": _l("Hindi"),
}

# The classifier's categories (its scores table on the card).
CATEGORY_LABELS: dict[str, LazyString] = {
    "clean": _l("Clean"),
    "spam": FLAG_LABELS["spam"],
    "offensive": FLAG_LABELS["offensive"],
    "hate": FLAG_LABELS["hate"],
}


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def flag_label(code: str) -> str:
    return str(FLAG_LABELS.get(code, code))


def category_label(code: str) -> str:
    return str(CATEGORY_LABELS.get(code, code))


def language_label(code: str | None) -> str:
    return str(LANGUAGE_LABELS.get(code or "", _l("another language")))


# --- the decision log, in words: who decided, and why --------------------------------------

# The pipeline's phases, as "system:<phase>" in the log (workers/pipeline/).
PHASE_LABELS: dict[str, LazyString] = {
    "policy": _l("policy"),
    "bans": _l("bans"),
    "diacritics": _l("diacritics"),
    "wordlists": _l("word lists"),
    "classifier": _l("classifier"),
    "pipeline": _l("analysis"),
}


def actor_label(actor: str | None) -> str:
    """"system:policy" → "Hệ thống (chính sách)"; a moderator is their username."""
    if actor and actor.startswith("system:"):
        phase = actor.split(":", 1)[1]
        return _("System (%(phase)s)", phase=str(PHASE_LABELS.get(phase, phase)))
    return actor or ""


# The reasons the pipeline writes (workers/pipeline/*.py, in English for the log and the
# webhooks), read back into the moderator's language; anything else is shown as written.
_SYSTEM_REASONS: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"awaiting a moderator"), lambda m: _("waits for a moderator")),
    (re.compile(r"analysis failed; needs a moderator"),
     lambda m: _("the analysis failed; a moderator decides")),
    (re.compile(r"(\w+) probability ([\d.]+) ≥ threshold ([\d.]+)"),
     lambda m: _("%(category)s probability %(p)s ≥ threshold %(t)s",
                 category=category_label(m[1]), p=m[2], t=m[3])),
    (re.compile(r"pre-moderation off, nothing flagged(?:, risk ([\d.]+) < ([\d.]+))?"),
     lambda m: _("pre-moderation off, nothing flagged") if not m[1] else _(
         "pre-moderation off, nothing flagged, risk %(risk)s < %(limit)s",
         risk=m[1], limit=m[2])),
    (re.compile(r"author banned by (email|ip)(?: and (email|ip))?"),
     lambda m: _("the author is banned (%(how)s)", how=", ".join(
         str(_BAN_BY[k]) for k in (m[1], m[2]) if k))),
    (re.compile(r"written without diacritics \((\d+)% of syllables unmarked\).*"),
     lambda m: _("written without diacritics (%(pct)s%% of syllables); the site requires them",
                 pct=m[1])),
    (re.compile(r"banned word: (['\"])(.*)\1 \(site setting auto_reject_banned\)"),
     lambda m: _("banned word “%(word)s” (the site rejects those automatically)", word=m[2])),
    (re.compile(r"edited"), lambda m: _("edited before publishing")),
    (re.compile(r"undo"), lambda m: _("undone")),
]
_BAN_BY = {"email": _l("by e-mail"), "ip": _l("by IP address")}


def reason_label(reason: str | None) -> str:
    """A logged reason in words: a moderator's "spam: note" → "Spam, quảng cáo: note"."""
    if not reason:
        return ""
    for pattern, words in _SYSTEM_REASONS:
        if match := pattern.fullmatch(reason):
            return words(match)
    from service.moderation import REJECT_REASONS, REMOVE_REASONS

    key, _sep, note = reason.partition(":")
    label = REJECT_REASONS.get(key) or REMOVE_REASONS.get(key)
    if label is None:
        return reason
    return f"{label}: {note.strip()}" if note.strip() else str(label)


def top_category(analysis: dict | None) -> tuple[str, float] | None:
    """The classifier's likeliest category and its probability (the queue row's badge)."""
    scores = (analysis or {}).get("scores") or {}
    if not scores:
        return None
    category, p = max(scores.items(), key=lambda item: item[1])
    return category, float(p)
