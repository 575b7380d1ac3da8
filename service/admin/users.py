"""Users in the admin console: list, create (typed or generated password), role and site scope,
disable/enable, password reset. Every change is audited.

Sessions follow the database at every request (service/auth.py's user loader, on the
user_sessions table): a disabled user is signed out at their next request, a role or scope
change applies at once, and a password reset or "sign out everywhere" ends the user's
sessions (all but the admin's own, when it is theirs). Guard rails keep the console
reachable: an admin cannot disable or demote themselves, and the last active admin stays
one."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login.signals import user_logged_in
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from service import db, user_sessions
from service.accounts import AccountError, create_user, reset_password
from service.admin import audit, bp, section
from service.admin.shown_once import stash, take
from service.admin.sites import MAX_ID, show
from service.auth import sign_in
from service.security import new_password
from service.storage import AuditEntry, Role, Site, User

section("admin.users", _l("Users"))

# A senior editor: a moderator who also decides escalated comments (service/escalation.py).
ROLES = {Role.moderator.value: _l("Moderator"), Role.senior.value: _l("Senior editor"),
         Role.admin.value: _l("Administrator")}
ACTIONS = {
    "user.create": _l("User created"),
    "user.access": _l("Role or sites changed"),
    "user.disable": _l("Disabled"),
    "user.enable": _l("Enabled"),
    "user.reset_password": _l("Password reset"),
    "user.sign_out": _l("Signed out everywhere"),
}
FIELDS = {"username": _l("Username"), "role": _l("Role"), "sites": _l("Sites"),
          "is_active": _l("Active")}
_USERNAME = re.compile(r"[\w.@-]{1,100}")
MIN_PASSWORD, MAX_PASSWORD = 8, 200  # the sign-in form takes at most 200 characters
HISTORY_ROWS = 100


# --- last sign-in: kept in Redis (no column for it); shown when known ---------------------

def _last_sign_in_key(user_id: int) -> str:
    return f"vimod:last-sign-in:{user_id}"


@user_logged_in.connect
def _remember_sign_in(app: Any, user: Any = None, **_extra: Any) -> None:
    with contextlib.suppress(RedisError, KeyError):
        app.extensions["vimod.redis"].set(_last_sign_in_key(user.id), int(time.time()))


def _last_sign_ins(user_ids: list[int]) -> dict[int, datetime]:
    if not user_ids:
        return {}
    try:
        raw = current_app.extensions["vimod.redis"].mget([_last_sign_in_key(i) for i in user_ids])
    except RedisError:
        return {}
    return {i: datetime.fromtimestamp(int(v), UTC)
            for i, v in zip(user_ids, raw, strict=True) if v is not None}


# --- validation ---------------------------------------------------------------------------

def _sites_from(form: MultiDict, errors: dict[str, str]) -> list[Site]:
    raw = form.getlist("sites")
    ids = {int(v) for v in raw if re.fullmatch(r"[0-9]{1,10}", v) and 0 < int(v) < MAX_ID}
    sites = list(db.session().scalars(select(Site).where(Site.id.in_(ids)))) if ids else []
    if len(ids) != len(set(raw)) or len(sites) != len(ids):
        errors["sites"] = _("Choose sites from the list.")
    return sorted(sites, key=lambda s: s.id)


def _role_from(form: MultiDict, errors: dict[str, str]) -> str:
    role = form.get("role", "")
    if role not in ROLES:
        errors["role"] = _("Choose a role from the list.")
    return role


def _site_names(sites: list[Site]) -> list[str]:
    return [f"{s.name} (#{s.id})" for s in sites]


def _other_active_admins(user_id: int) -> int:
    # Locked (PostgreSQL): two admins demoting each other at once must not both succeed.
    return len(db.session().scalars(
        select(User.id).where(User.role == Role.admin, User.is_active.is_(True),
                              User.id != user_id).with_for_update()).all())


def _guard(user: User, losing_admin: bool, own_message: str) -> str | None:
    """Why this change may not be made (the user would stop being an active admin), or None."""
    if not losing_admin or user.role != Role.admin or not user.is_active:
        return None
    if user.id == current_user.id:
        return own_message
    if _other_active_admins(user.id) == 0:
        return _("%(name)s is the last active administrator: make another user an "
                 "administrator first.", name=user.username)
    return None


# --- pages --------------------------------------------------------------------------------

def _user_or_404(user_id: int, lock: bool = False) -> User:
    if not 0 < user_id < MAX_ID:
        abort(404)
    # populate_existing: the row may already be in the session (the signed-in admin's own,
    # loaded by Flask-Login); a lock must come with the values it protects.
    user = db.session().get(User, user_id, with_for_update=lock or None,
                            populate_existing=lock, options=[selectinload(User.sites)])
    if user is None:
        abort(404)
    return user


def _all_sites() -> list[Site]:
    return list(db.session().scalars(select(Site).order_by(Site.name, Site.id)))


def _user_page(user: User, status: int = 200, *, errors: dict[str, str] | None = None,
               values: dict[str, Any] | None = None, refused: str | None = None,
               shown: tuple[str, str] | None = None):  # noqa: ANN202
    history = list(db.session().scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == "user", AuditEntry.target_id == str(user.id))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(HISTORY_ROWS)))
    response = current_app.make_response((render_template(
        "admin/users/show.html", user=user, roles=ROLES, sites=_all_sites(),
        values=values or {"role": user.role, "sites": {s.id for s in user.sites}},
        errors=errors or {}, refused=refused, shown=shown,
        last_sign_in=_last_sign_ins([user.id]).get(user.id),
        history=history, actions=ACTIONS, fields=FIELDS, show=show,
        value_labels={"role": ROLES},
        is_self=user.id == current_user.id,
    ), status))
    if shown:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- views --------------------------------------------------------------------------------

@bp.get("/users")
def users():  # noqa: ANN201
    rows = list(db.session().scalars(
        select(User).options(selectinload(User.sites)).order_by(User.username)))
    return render_template("admin/users/list.html", users=rows, roles=ROLES,
                           last_sign_in=_last_sign_ins([u.id for u in rows]))


@bp.route("/users/new", methods=["GET", "POST"])
def users_new():  # noqa: ANN201
    sites = _all_sites()
    if request.method == "GET":
        return render_template("admin/users/new.html", roles=ROLES, sites=sites,
                               values={"role": Role.moderator.value, "sites": set()}, errors={})
    form = request.form
    errors: dict[str, str] = {}
    username = form.get("username", "").strip()
    if not _USERNAME.fullmatch(username):
        errors["username"] = _("1 to 100 letters, digits or . _ - @ (no spaces).")
    elif db.session().scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = _("This username is taken.")
    role = _role_from(form, errors)
    chosen = _sites_from(form, errors)
    password = form.get("password", "")
    if password and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        errors["password"] = _("A password has %(min)d to %(max)d characters; leave it empty "
                               "to generate one.", min=MIN_PASSWORD, max=MAX_PASSWORD)
    session = db.session()
    generated = None if password else new_password()
    if not errors:
        try:
            user, _none = create_user(session, username, role, password or generated,
                                      [s.id for s in chosen])
        except AccountError:  # taken since the check above
            errors["username"] = _("This username is taken.")
    if errors:
        values = {"username": username, "role": role, "sites": {s.id for s in chosen}}
        return render_template("admin/users/new.html", roles=ROLES, sites=sites, values=values,
                               errors=errors), 400
    token = stash(f"user:{user.id}", "password", generated) if generated else None
    audit("user.create", "user", user.id, {
        "changes": {"username": {"before": None, "after": username},
                    "role": {"before": None, "after": role},
                    "sites": {"before": None, "after": _site_names(chosen)}},
        "password": "generated" if generated else "typed",
    })
    session.commit()
    flash(_("User %(name)s created.", name=username), "ok")
    return redirect(url_for("admin.users_show", user_id=user.id, shown=token), 303)


@bp.get("/users/<int:user_id>")
def users_show(user_id: int):  # noqa: ANN201
    user = _user_or_404(user_id)
    return _user_page(user, shown=take(request.args.get("shown"), f"user:{user.id}"))


@bp.post("/users/<int:user_id>/access")
def users_access(user_id: int):  # noqa: ANN201
    user = _user_or_404(user_id, lock=True)
    errors: dict[str, str] = {}
    role = _role_from(request.form, errors)
    chosen = _sites_from(request.form, errors)
    values = {"role": role, "sites": {s.id for s in chosen}}
    if errors:
        return _user_page(user, 400, errors=errors, values=values)
    refused = _guard(user, role != Role.admin,
                     _("You cannot remove your own administrator role."))
    if refused:
        return _user_page(user, 400, values=values, refused=refused)
    diff = {}
    if role != user.role:
        diff["role"] = {"before": user.role, "after": role}
    if {s.id for s in chosen} != {s.id for s in user.sites}:
        diff["sites"] = {"before": _site_names(sorted(user.sites, key=lambda s: s.id)),
                         "after": _site_names(chosen)}
    if not diff:
        flash(_("Nothing changed."), "ok")
        return redirect(url_for("admin.users_show", user_id=user.id), 303)
    user.role, user.sites = role, chosen
    audit("user.access", "user", user.id, {"changes": diff})
    db.session().commit()
    flash(_("Saved. It applies to %(name)s's next request.", name=user.username), "ok")
    return redirect(url_for("admin.users_show", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/active")
def users_active(user_id: int):  # noqa: ANN201
    user = _user_or_404(user_id, lock=True)
    wanted = request.form.get("active", "")
    if wanted not in {"0", "1"}:
        return _user_page(user, 400, refused=_("Choose whether to enable or disable the user."))
    active = wanted == "1"
    if active == user.is_active:
        flash(_("Nothing changed."), "ok")
        return redirect(url_for("admin.users_show", user_id=user.id), 303)
    refused = _guard(user, not active, _("You cannot disable yourself."))
    if refused:
        return _user_page(user, 400, refused=refused)
    user.is_active = active
    if not active:
        user_sessions.revoke_all(db.session(), user.id)
    audit("user.enable" if active else "user.disable", "user", user.id,
          {"changes": {"is_active": {"before": not active, "after": active}}})
    db.session().commit()
    flash(_("%(name)s can sign in again.", name=user.username) if active else
          _("%(name)s is disabled and signed out.", name=user.username), "ok")
    return redirect(url_for("admin.users_show", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/password")
def users_password(user_id: int):  # noqa: ANN201
    user = _user_or_404(user_id, lock=True)
    password = reset_password(db.session(), user)
    token = stash(f"user:{user.id}", "password", password)
    audit("user.reset_password", "user", user.id, None)
    db.session().commit()
    if user.id == current_user.id:
        sign_in(user)  # every session ended: this browser gets a new one
    flash(_("The password was reset; %(name)s's other sessions have ended.", name=user.username),
          "ok")
    return redirect(url_for("admin.users_show", user_id=user.id, shown=token), 303)


@bp.post("/users/<int:user_id>/sign-out")
def users_sign_out(user_id: int):  # noqa: ANN201
    """End every session of the user (a lost phone, a shared computer); they sign in again
    with the same password. The admin's own sessions: all but this one."""
    user = _user_or_404(user_id)
    keep = current_user.session_id if user.id == current_user.id else None
    ended = user_sessions.revoke_all(db.session(), user.id, keep=keep)
    audit("user.sign_out", "user", user.id, {"sessions": ended})
    db.session().commit()
    flash(_("%(name)s is signed out everywhere (%(count)d sessions ended).", name=user.username,
            count=ended), "ok")
    if request.form.get("back") == "list":
        return redirect(url_for("admin.users"), 303)
    return redirect(url_for("admin.users_show", user_id=user.id), 303)
