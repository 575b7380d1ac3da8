"""Phase: links and contact details (URLs, e-mails, Vietnamese phone numbers, Zalo/Telegram
handles) — the signature of news-comment spam."""

from __future__ import annotations

from models.contacts import find_contacts
from workers.pipeline.context import CommentContext, PhaseResult

FLAGS = {"url": "link", "email": "email", "phone": "phone", "handle": "contact_handle"}


def run(ctx: CommentContext, text: str) -> PhaseResult:
    found = find_contacts(text)
    result = PhaseResult(name="contacts")
    if not found:
        return result
    result.flags = sorted({FLAGS[c.kind] for c in found})
    result.spans = [{"start": c.start, "end": c.end, "kind": c.kind} for c in found]
    result.data = {"found": [{"kind": c.kind, "text": c.text} for c in found]}
    return result
