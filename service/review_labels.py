"""Human labels for the codes stored with a comment (its status, the pipeline's flags, the
classifier's categories), shown to moderators in their language; the raw code stays on the
page beside the label (title and data attributes) for whoever needs the exact value."""

from __future__ import annotations

from flask_babel import LazyString
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
