"""Every staff page reads in Vietnamese: each GET page of the review queue and the admin
console (from the URL map, so new pages are covered), rendered for a moderator who never
switched language, has no English word of the interface left in it — not an untranslated
string, nor an English text the code writes ("awaiting a moderator", "system:policy",
"(spam)"). What people wrote is set apart on the pages (bdi and dir=auto: the bidi isolation)
and is not the interface; neither are codes shown as code."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import update

from service.escalation import ACTIONS as ESCALATION_ACTIONS
from service.storage import AuditEntry, Comment, CommentStatus, ModerationAction, TrainingRun
from service.storage.tables import utcnow
from tests.admin.test_admin_permissions import fill, world  # noqa: F401 - the world fixture
from tests.test_bidi_isolation import _get_pages
from tests.test_review import login, ui  # noqa: F401 - the ui fixture

CATALOG = Path(__file__).resolve().parent.parent / "service/translations/vi/LC_MESSAGES/messages.po"
# Words that are the same in both languages on these pages: names of things, formats, units.
SHARED = {"spam", "email", "mail", "zalo", "telegram", "json", "jsonl", "html", "http",
          "https", "webhook", "webhooks", "token", "prometheus", "macro", "online", "vimod",
          "enter", "ctrl", "shadow", "default", "esc", "test",
          # technical terms given in parentheses after their Vietnamese name, on purpose
          "origin", "precision", "recall", "coverage", "fingerprint", "lines"}
# Text that is not the interface: what people wrote, codes and keys.
APART = {"bdi", "code", "kbd", "script", "style", "textarea", "option", "title", "pre",
         "samp", "svg"}


def english_words() -> set[str]:
    """The interface's English vocabulary: every word of every msgid (4 letters or more)."""
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh)
    words: set[str] = set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            text = re.sub(r"%\(\w+\)[sdf]|\{\w+\}", " ", text or "")
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", text))
    return words - SHARED


class _Interface(HTMLParser):
    """The text of the page that is the interface (not set apart as people's text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        # A language of its own (lang="en": a dataset's terms quoted as written) is apart too.
        apart = (tag in APART or "dir" in names or "hidden" in names
                 or not (names.get("lang") or "vi").startswith("vi"))
        if tag in {"input"} and names.get("type") not in ("hidden", "checkbox", "radio") and (
                value := names.get("placeholder")):
            self.texts.append(value)
        if tag not in {"br", "img", "input", "meta", "link", "hr", "wbr", "rect", "line",
                       "polyline", "circle", "path", "source"}:
            self.stack.append((tag, apart))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not any(apart for _, apart in self.stack):
            self.texts.append(data.strip())


def english_left(html: str, vocabulary: set[str]) -> list[str]:
    parser = _Interface()
    parser.feed(html)
    found = []
    for text in parser.texts:
        # File names, paths, domains and addresses are code, not words; so are the codes a
        # file must hold, quoted (“clean”).
        words = " ".join(t for t in text.split()
                         if not re.search(r"[/_.@:=]\w|^[“\"].*[”\"][,.;:)]*$", t))
        hits = [w for w in re.findall(r"[A-Za-z]{4,}", words) if w.lower() in vocabulary]
        if hits:
            found.append(f"{', '.join(hits)}: {text[:80]!r}")
    return found


def test_the_vocabulary_is_the_interfaces() -> None:
    words = english_words()
    assert {"approve", "reject", "pending", "moderator", "threshold"} <= words
    assert "spam" not in words


def test_every_staff_page_is_vietnamese(world, sessions) -> None:  # noqa: ANN001, F811
    app, ids = world
    with sessions() as s:
        # What the pipeline and the moderators leave in the log, in English on the rows.
        s.execute(update(ModerationAction).where(ModerationAction.id == ids["action"]).values(
            reason="awaiting a moderator"))
        s.add(ModerationAction(comment_id=ids["comment"], actor="system:classifier",
                               from_status="pending", to_status="auto_rejected",
                               reason="spam probability 0.991 ≥ threshold 0.95"))
        s.execute(update(TrainingRun).where(TrainingRun.id == ids["run"]).values(
            message="training on 120 examples (100 base, 15 decisions, 5 imports); "
                    "3 decisions held out"))
        s.add(AuditEntry(actor="quantri", action="user.role", target_type="user",
                         target_id=str(ids["user"]),
                         details={"changes": {"role": {"before": "admin",
                                                       "after": "moderator"}}}))
        s.add(AuditEntry(actor="quantri", action="site.settings", target_type="site",
                         target_id=str(ids["site"]), details={"changes": {
                             "premoderation": {"before": True, "after": False},
                             "diacritics_policy": {"before": "flag", "after": "off"}}}))
        s.execute(update(Comment).where(Comment.id == ids["comment"]).values(
            status=CommentStatus.pending, analysis={
                "flags": ["phone", "missing_diacritics"],
                "scores": {"clean": 0.1, "spam": 0.8, "offensive": 0.05, "hate": 0.05}},
            # Escalated, with every step of an escalation in its log (the Escalated tab).
            escalated_at=utcnow(), escalated_by="bientap_a", escalation_note="Nhờ anh xem"))
        for action in ESCALATION_ACTIONS:
            s.add(AuditEntry(actor="captren", action=action, target_type="comment",
                             target_id=str(ids["comment"]), details={"note": "Ghi chú"}))
        s.commit()
    vocabulary = english_words()
    client = app.test_client()
    assert login(client, "quantri").status_code == 302
    pages = [fill(rule, ids) for rule in _get_pages(app)]
    pages += [f"/review?c={ids['comment']}", f"/review?tab=approved&c={ids['comment']}",
              "/review?tab=rejected", "/sessions", "/review?tab=escalated",
              f"/review?tab=escalated&c={ids['comment']}"]
    leaks: dict[str, list[str]] = {}
    for path in pages:
        r = client.get(path)
        if r.mimetype != "text/html" or r.status_code != 200:
            continue
        if found := english_left(r.get_data(as_text=True), vocabulary):
            leaks[path] = found
    # A moderator reads an escalated comment without deciding it: that page too.
    moderator = app.test_client()
    assert login(moderator, "bientap_a").status_code == 302
    r = moderator.get(f"/review?tab=escalated&c={ids['comment']}")
    assert r.status_code == 200 and "data-read-only" in r.get_data(as_text=True)
    if found := english_left(r.get_data(as_text=True), vocabulary):
        leaks["/review?tab=escalated (moderator)"] = found
    assert leaks == {}, "\n".join(f"{p}:\n  " + "\n  ".join(f) for p, f in leaks.items())


def test_error_pages_are_vietnamese(world) -> None:  # noqa: ANN001, F811
    """A refusal ends on a page of the app that says, in Vietnamese, what happened and how to
    go on: a moderator following a link to the admin console (403), a comment that is not
    there (404)."""
    app, _ = world
    vocabulary = english_words()
    moderator = app.test_client()
    assert login(moderator, "bientap_a").status_code == 302
    for path, status, title in (("/admin/users", 403, "Bạn không có quyền vào trang này"),
                                ("/review/2147483000", 404, "Không tìm thấy")):
        r = moderator.get(path)
        html = r.get_data(as_text=True)
        assert r.status_code == status and f'data-status="{status}"' in html
        assert title in html and 'href="/review"' in html  # the way on
        assert english_left(html, vocabulary) == [], path
