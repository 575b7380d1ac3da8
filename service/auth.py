"""Moderator and admin sign-in: Flask-Login sessions, argon2 passwords, CSRF (Flask-WTF),
and a lock-out after repeated failures (counted in Redis, per username and per IP)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from service import db
from service.params import parse_id
from service.security import verify_password
from service.storage import Role, User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.localize_callback = str  # flash a plain str (in the request's language)

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


@dataclass(frozen=True)
class SignedInUser:
    """What a request needs to know about its user (no ORM object kept across requests)."""

    id: int
    username: str
    role: str
    site_ids: frozenset[int]
    session_token: str  # see session_token()
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def can_see_site(self, site_id: int) -> bool:
        return self.is_admin or site_id in self.site_ids


def session_token(user: User) -> str:
    """What a session remembers of its user: the id and an HMAC of the password hash, so a
    password reset (a new hash) ends every session signed in with the old password."""
    mac = hmac.new(current_app.secret_key.encode(), user.password_hash.encode(), hashlib.sha256)
    return f"{user.id}:{mac.hexdigest()[:24]}"


def signed_in_user(user: User) -> SignedInUser:
    return SignedInUser(user.id, user.username, user.role, frozenset(s.id for s in user.sites),
                        session_token(user))


@login_manager.user_loader
def _load_user(token: str) -> SignedInUser | None:
    # Runs on every request: a disabled user, or a session from before a password reset,
    # is signed out at its next request.
    user_id = token.partition(":")[0]
    uid = parse_id(user_id)
    if uid is None:
        return None
    user = db.session().get(User, uid)
    if user is None or not user.is_active or not hmac.compare_digest(
            token.encode(), session_token(user).encode()):
        return None
    return signed_in_user(user)


def role_required(*roles: str):  # noqa: ANN201
    def decorate(view):  # noqa: ANN001, ANN202
        @wraps(view)
        def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _failure_keys(username: str) -> list[str]:
    ip = request.remote_addr or "unknown"
    return [f"vimod:login-fail:user:{username.lower()}", f"vimod:login-fail:ip:{ip}"]


def _locked_out(username: str) -> bool:
    r = current_app.extensions["vimod.redis"]
    try:
        counts = r.mget(_failure_keys(username))
    except Exception:  # noqa: BLE001 - Redis down: fall back to password checks only
        return False
    return any(int(c or 0) >= MAX_FAILURES for c in counts)


def _record_failure(username: str) -> None:
    r = current_app.extensions["vimod.redis"]
    try:
        pipe = r.pipeline()
        for key in _failure_keys(username):
            pipe.incr(key)
            pipe.expire(key, LOCKOUT_SECONDS)
        pipe.execute()
    except Exception:  # noqa: BLE001
        pass


def safe_next(target: str | None) -> str:
    # Only same-site paths: a crafted ?next= must not send a moderator elsewhere. Browsers
    # read "/\\evil.example" as "//evil.example", and drop tabs and newlines in URLs.
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("review.queue")


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        if _locked_out(username):
            flash(_("Too many failed sign-ins. Please try again in %(minutes)d minutes.",
                    minutes=LOCKOUT_SECONDS // 60), "error")
            status = 429
        else:
            user = db.session().query(User).filter_by(username=username).one_or_none()
            if user and user.is_active and verify_password(user.password_hash,
                                                           form.password.data):
                login_user(signed_in_user(user))
                return redirect(safe_next(request.args.get("next")))
            _record_failure(username)
            flash(_("Wrong username or password."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout():  # noqa: ANN201
    logout_user()
    return redirect(url_for("auth.login"))
