"""Per-request database session for the Flask app."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from service.storage import make_engine, make_session_factory
from service.storage.bounds import WEB, set_answer_timeout
from service.storage.engine import engine_bounds

# The moderators' and admins' pages: their statements may take longer (the dashboard's scans,
# the training data export) than the API's, whose answers are bounded short
# (VIMOD_DB_TIMEOUT against VIMOD_DB_STAFF_TIMEOUT; service/storage/bounds.py).
STAFF_BLUEPRINTS = frozenset({"admin", "review", "auth", "i18n"})


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], role=WEB)
    app.extensions["vimod.engine"] = engine
    app.extensions["vimod.sessions"] = make_session_factory(engine)

    bounds = engine_bounds(engine)
    if bounds is not None:
        staff = bounds.staff_answer_timeout()

        @app.before_request
        def _staff_bounds() -> None:
            if request.blueprint in STAFF_BLUEPRINTS:
                set_answer_timeout(staff)

        @app.teardown_request
        def _api_bounds(_exc: BaseException | None) -> None:
            # The next request in this thread (the intake's fast path, too) starts short.
            set_answer_timeout(None)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["vimod.sessions"]()
    return g.db_session
