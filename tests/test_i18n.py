"""The interface's languages (Flask-Babel): Vietnamese by default whatever the browser says,
English through the header's switch (POST /lang), and the committed catalog kept complete
and compiled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import lazy_gettext

from service.i18n import TRANSLATIONS_DIR
from service.moderation import REJECT_REASONS, ModerationError

ROOT = Path(__file__).resolve().parent.parent
PO = TRANSLATIONS_DIR / "vi" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
# The same keywords as `make translations` (pybabel extract -k _l -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# Every marked string in service/ must have a Vietnamese translation, except in these
# paths (prefixes), whose translations are still to come (none at the moment).
NOT_YET_TRANSLATED: tuple[str, ...] = ()
VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
                        r"ùúủũụừứửữựỳýỷỹỵ]")


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def html_lang(html: str) -> str:
    return re.search(r'<html lang="?([a-z]+)', html).group(1)


@pytest.fixture
def ui(settings, engine, redis_client):  # noqa: ANN001, ANN201
    from service.app import create_app

    settings.secure_cookies = False  # the test client speaks plain http
    app = create_app(settings, TESTING=True)
    yield app
    app.extensions["vimod.engine"].dispose()


def switch(client, lang: str, next_: str = "/login", token: str | None = None):  # noqa: ANN001, ANN201
    if token is None:
        token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/lang", data={"lang": lang, "next": next_, "csrf_token": token})


# --- the switch --------------------------------------------------------------------------


def test_vietnamese_by_default_even_for_english_browsers(ui) -> None:  # noqa: ANN001
    r = ui.test_client().get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html_lang(html) == "vi"
    assert "<h1>Đăng nhập</h1>" in html and "Tên đăng nhập" in html and "Mật khẩu" in html
    assert "Sign in" not in html
    # The switch is there before signing in: English is offered, Vietnamese is current.
    assert 'name="lang" value="en"' in html and 'name="lang" value="vi"' not in html


def test_switch_to_english_and_back(ui) -> None:  # noqa: ANN001
    c = ui.test_client()
    r = switch(c, "en", "/login?next=/review")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/review"
    html = c.get("/login").get_data(as_text=True)
    assert html_lang(html) == "en"
    assert "<h1>Sign in</h1>" in html and "Username" in html and "Password" in html
    assert 'name="lang" value="vi"' in html and 'name="lang" value="en"' not in html
    # Nothing Vietnamese left on the English page but the switch's own "Tiếng Việt".
    assert not VIETNAMESE.search(html.replace("Tiếng Việt", ""))

    assert switch(c, "vi").status_code == 302
    html = c.get("/login").get_data(as_text=True)
    assert html_lang(html) == "vi" and "<h1>Đăng nhập</h1>" in html


def test_flash_messages_follow_the_language(ui) -> None:  # noqa: ANN001
    c = ui.test_client()
    c.get("/review")  # redirected to /login with a flashed message
    assert "Vui lòng đăng nhập để tiếp tục." in c.get("/login").get_data(as_text=True)
    token = csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": "ai-do", "password": "sai", "csrf_token": token})
    assert r.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in r.get_data(as_text=True)

    switch(c, "en")
    c.get("/review")
    assert "Please sign in to continue." in c.get("/login").get_data(as_text=True)
    token = csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": "ai-do", "password": "sai", "csrf_token": token})
    assert "Wrong username or password." in r.get_data(as_text=True)


def test_unknown_language_is_refused_and_changes_nothing(ui) -> None:  # noqa: ANN001
    c = ui.test_client()
    for bad in ("fr", "", "EN", "vi-VN"):
        r = switch(c, bad)
        assert r.status_code == 400
        assert "Ngôn ngữ không được hỗ trợ." in r.get_data(as_text=True)  # an HTML page
    assert html_lang(c.get("/login").get_data(as_text=True)) == "vi"
    switch(c, "en")
    r = switch(c, "de")
    assert r.status_code == 400 and "Unknown language." in r.get_data(as_text=True)
    assert html_lang(c.get("/login").get_data(as_text=True)) == "en"


def test_switch_needs_the_csrf_token(ui) -> None:  # noqa: ANN001
    c = ui.test_client()
    c.get("/login")
    assert c.post("/lang", data={"lang": "en", "next": "/login"}).status_code == 400
    assert switch(c, "en", token="forged").status_code == 400
    assert html_lang(c.get("/login").get_data(as_text=True)) == "vi"


def test_switch_redirects_only_within_the_site(ui) -> None:  # noqa: ANN001
    c = ui.test_client()
    for target in ("//evil.example/x", "https://evil.example/", ""):
        r = switch(c, "en", target)
        assert r.status_code == 302 and r.headers["Location"].endswith("/review")


def test_html_error_pages_are_translated_json_api_errors_are_not(ui) -> None:  # noqa: ANN001
    c = ui.test_client()
    r = c.put("/login")
    assert r.status_code == 405 and r.mimetype == "text/html"
    assert "Không thể thực hiện thao tác này ở đây." in r.get_data(as_text=True)
    assert html_lang(r.get_data(as_text=True)) == "vi"
    switch(c, "en")
    r = c.put("/login")
    assert "This action is not allowed here." in r.get_data(as_text=True)
    assert html_lang(r.get_data(as_text=True)) == "en"
    for lang in ("vi", "en"):  # API clients parse English messages, whatever the session says
        switch(c, lang)
        r = c.get("/api/v1/comments/1")
        assert r.status_code == 401 and r.json["error"]["message"] == "Missing X-Api-Key header."


# --- lazy strings outside a request ------------------------------------------------------


def test_lazy_strings_work_outside_a_request(ui) -> None:  # noqa: ANN001
    # No app context (CLI, scripts, unit tests): the English msgid, no crash.
    assert str(REJECT_REASONS["spam"]) == "Spam, advertising"
    error = ModerationError(lazy_gettext("The time to undo has passed."))
    assert str(error) == "The time to undo has passed."
    # An app context without a request (no session): the default language.
    with ui.app_context():
        assert str(REJECT_REASONS["spam"]) == "Spam, quảng cáo"
        assert str(error) == "Đã quá thời gian hoàn tác."
    # In a request, the session's choice.
    with ui.test_request_context("/review"):
        from flask import session

        session["lang"] = "en"
        assert str(REJECT_REASONS["no_diacritics"]) == "Written without diacritics"


# --- the committed catalog ---------------------------------------------------------------


def _is_translated(m) -> bool:  # noqa: ANN001
    # A plural entry (ngettext) has a tuple (.po) or list (.mo) of forms: all must be there.
    forms = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
    return bool(m.id) and not m.fuzzy and all(forms)


def _translated(catalog) -> dict:  # noqa: ANN001
    def key(value):  # noqa: ANN001, ANN202
        return tuple(value) if isinstance(value, list) else value

    return {key(m.id): key(m.string) for m in catalog if _is_translated(m)}


def test_compiled_catalog_matches_the_po() -> None:
    with PO.open("rb") as f:
        po = _translated(read_po(f))
    with MO.open("rb") as f:
        mo = _translated(read_mo(f))
    assert po, "the Vietnamese catalog is empty"
    assert mo == po, "messages.mo is out of date: run `make translations` and commit it"


def _extracted() -> dict[str, set[str]]:
    """msgid → files, as `make translations` extracts them (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = _parse_mapping(f)
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, set()).add(filename.replace("\\", "/"))
    return found


def _parse_mapping(f):  # noqa: ANN001, ANN202
    from babel.messages import frontend

    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    return parse(f)


def test_every_marked_string_has_a_vietnamese_translation() -> None:
    extracted = _extracted()
    assert "Sign in" in extracted and "Spam, advertising" in extracted  # extraction works
    with PO.open("rb") as f:
        catalog = read_po(f)
    missing = []
    for msgid, files in sorted(extracted.items()):
        owned = {f for f in files if not f.startswith(NOT_YET_TRANSLATED)}
        if not owned:
            continue
        message = catalog.get(msgid)
        if message is None or not _is_translated(message):
            missing.append(f"{msgid!r} ({', '.join(sorted(owned))})")
    assert not missing, ("untranslated (run `make translations`, translate in "
                         f"{PO.relative_to(ROOT)}, run it again): " + "; ".join(missing))
