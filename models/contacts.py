"""Links and contact details in a comment: URLs, e-mail addresses, Vietnamese phone numbers
(including the usual disguises: spaces, dots, "o" for 0, "l" for 1) and Zalo/Telegram/
Facebook handles. News-comment spam almost always carries one of these."""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.tokenize import tokenize

# Same length as the input, so spans found in the mapped copy are spans in the text.
_DIGIT_LOOKALIKES = str.maketrans({"o": "0", "O": "0", "l": "1", "I": "1", "|": "1"})
_SEP = r"[\s.\-_,·]{0,2}"
# Mobile 03x/05x/07x/08x/09x (ten digits from 0) and landline 02xx (eleven), or the same
# after +84/84 instead of the 0.
_PHONE = re.compile(
    rf"(?<![\w+])(?:\(?\+?84\)?{_SEP}|0{_SEP})"
    rf"(?:[35789](?:{_SEP}\d){{8}}|2(?:{_SEP}\d){{9}})(?!\d)"
)
_HANDLE = re.compile(
    r"(?i)(?<![\w])(?P<service>zalo|zl|za\s?lo|telegram|tele|tlg|viber|wechat|facebook|fb|"
    r"instagram|insta|skype|line)\s*[:\-=]?\s*(?P<handle>@?[a-z0-9][\w.]{2,})"
)
_SHORT_LINK = re.compile(r"(?i)(?<![\w])(?:t\.me|zalo\.me|m\.me|bit\.ly|fb\.me)/[\w\-./?=&]+")


@dataclass(frozen=True)
class Contact:
    kind: str  # url | email | phone | handle
    start: int
    end: int
    text: str


def find_contacts(text: str) -> list[Contact]:
    found: list[Contact] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(Contact(kind, start, end, text[start:end]))

    for tok in tokenize(text):
        if tok.kind in ("url", "email"):
            add(tok.kind, tok.start, tok.end)
    for m in _SHORT_LINK.finditer(text):
        add("url", m.start(), m.end())
    mapped = text.translate(_DIGIT_LOOKALIKES)
    for m in _PHONE.finditer(mapped):
        add("phone", m.start(), m.end())
    for m in _HANDLE.finditer(text):
        handle = m.group("handle")
        # "zalo 0912..." is a phone, found above; "fb của tôi" is not a handle.
        if any(c.isdigit() for c in handle) or handle.startswith("@") or "." in handle \
                or "_" in handle:
            add("handle", m.start(), m.end())
    return sorted(found, key=lambda c: c.start)
