"""The interface's language (Flask-Babel): Vietnamese by default, English on request.

msgids are English; service/translations/vi/LC_MESSAGES/messages.po holds the Vietnamese.
The browser's Accept-Language is deliberately ignored: the product is for Vietnamese
newsrooms, and an English-speaking admin picks English with the switch in the header
(POST /lang), remembered in the session."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, has_request_context, redirect, request, session
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from service.auth import safe_next
from service.errors import APIError

DEFAULT_LANGUAGE = "vi"
# Each language named in itself, as language switches usually are (not translated).
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    # Outside a request (CLI, workers, tests under app_context) there is no session.
    if has_request_context():
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


@bp.post("/lang")
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        raise APIError(400, _("Unknown language."), code="unknown_language",
                       fields={"lang": "must be one of: " + ", ".join(LANGUAGES)})
    session["lang"] = lang
    return redirect(safe_next(request.form.get("next")))


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.context_processor
    def _language() -> dict[str, object]:
        return {"current_language": current_language(), "languages": LANGUAGES}
