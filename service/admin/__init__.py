"""The admin console (/admin): sites, users, word lists, training data, models, dashboard.
Admins only: every route answers 403 to a moderator (checked once, before every request).

Each area lives in its own module and registers its routes on `bp`; the imports at the
bottom attach them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from service import db
from service.auth import login_manager
from service.storage import AuditEntry

bp = Blueprint("admin", __name__, url_prefix="/admin")
# APIFlask reads this from every blueprint that has a before_request hook when it builds the
# OpenAPI document; the console is not part of the public API.
bp.enable_openapi = False  # type: ignore[attr-defined]


@bp.before_request
def _admins_only():  # noqa: ANN202
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # says why when a session has just ended
    if not current_user.is_admin:
        abort(403)
    return None


def audit(action: str, target_type: str, target_id: object = None,
          details: dict[str, Any] | None = None) -> AuditEntry:
    """Record an admin's change in the current session (committed with the change itself,
    so a change is never without its audit row)."""
    entry = AuditEntry(user_id=current_user.id, actor=current_user.username, action=action,
                       target_type=target_type,
                       target_id=None if target_id is None else str(target_id),
                       details=details)
    db.session().add(entry)
    return entry


# Sections of the console, in the order of the navigation bar: (endpoint, lazy label).
SECTIONS: list[tuple[str, Any]] = []


def section(endpoint: str, label: Any) -> None:
    """A module adds its page to the navigation bar (label: a lazy_gettext string; the
    bar marks the section whose endpoint prefixes the current one, e.g. admin.sites*)."""
    SECTIONS.append((endpoint, label))


@bp.get("")
def index():  # noqa: ANN201
    if SECTIONS:
        return redirect(url_for(SECTIONS[0][0]))
    return render_template("admin/base.html")


@bp.app_context_processor
def _admin_nav() -> dict[str, Any]:
    return {"admin_sections": SECTIONS}


# Import order is the navigation order (each module calls section() when imported).
from service.admin import dashboard  # noqa: E402, F401, I001
from service.admin import sites  # noqa: E402, F401
from service.admin import users  # noqa: E402, F401
from service.admin import wordlists  # noqa: E402, F401
from service.admin import training_data  # noqa: E402, F401
from service.admin import retrain  # noqa: E402, F401
from service.admin import models_admin  # noqa: E402, F401
from service.admin import thresholds  # noqa: E402, F401
from service.admin import webhooks  # noqa: E402, F401 - a site's page, not in the bar
