"""Moderator and admin sign-in: Flask-Login on server-side sessions (service/user_sessions.py),
argon2 passwords, CSRF (Flask-WTF), and throttling of failed sign-ins (growing delays and a
CAPTCHA per username and address, service/signin_throttle.py): never a lock-out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_login.utils import login_url
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from service import db, user_sessions
from service.api.schemas import has_control_char
from service.limits import limiter
from service.public import captcha
from service.security import check_password
from service.signin_throttle import SignInThrottle, State, address_of
from service.storage import Role, User

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.localize_callback = str  # flash a plain str (in the request's language)

# Sign-in challenges are kept with the readers' CAPTCHAs (service/public/captcha.py) under
# "site" 0, which no site has: one kind cannot be used to answer the other.
CHALLENGE_SITE = 0
# Requests the review queue makes on its own: they keep a session alive without being a
# person at work, so they do not count as activity for the idle lifetime.
PASSIVE_ENDPOINTS = frozenset({"review.arrivals"})


@dataclass(frozen=True)
class SignedInUser:
    """What a request needs to know about its user (no ORM object kept across requests)."""

    id: int
    username: str
    role: str
    site_ids: frozenset[int]
    session_token: str  # the random token of its user_sessions row ("" outside a request)
    session_id: int | None = None
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def resolves_escalations(self) -> bool:
        """Decides escalated comments (of the sites they see) and sends them back."""
        return self.role in (Role.senior, Role.admin)

    def can_see_site(self, site_id: int) -> bool:
        return self.is_admin or site_id in self.site_ids


def signed_in_user(user: User, token: str = "", session_id: int | None = None) -> SignedInUser:
    return SignedInUser(user.id, user.username, user.role, frozenset(s.id for s in user.sites),
                        token, session_id)


def lifetimes() -> user_sessions.Lifetimes:
    return current_app.config["VIMOD_SESSION_LIFETIMES"]


_ENDED_MESSAGES = {
    user_sessions.Ended.revoked: _l("You were signed out. Please sign in again."),
    user_sessions.Ended.disabled: _l("Please sign in to continue."),
    user_sessions.Ended.idle: _l("Your session expired after a long pause. Please sign in "
                                 "again."),
    user_sessions.Ended.expired: _l("Your session has expired. Please sign in again."),
}


@login_manager.user_loader
def _load_user(token: str) -> SignedInUser | None:
    # Runs once per request that asks who is signed in: one query for the session, its user
    # and their sites. A revoked, idle or expired session, or a disabled user, is signed out.
    found = user_sessions.find(db.session(), token)
    if found is None:
        _forget_session()
        return None
    record, user = found
    why = user_sessions.ended(record, user, lifetimes())
    if why is not None:
        _forget_session()
        g.vimod_session_ended = why
        return None
    if request.endpoint not in PASSIVE_ENDPOINTS:
        user_sessions.touch(db.session(), record)
    return signed_in_user(user, token, record.id)


def _forget_session() -> None:
    # The cookie's token is of no use any more: drop it (and its CSRF secret) rather than
    # look it up again at every request.
    for key in ("_user_id", "_fresh", "_id", "csrf_token"):
        session.pop(key, None)


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    why = g.get("vimod_session_ended")
    flash(str(_ENDED_MESSAGES.get(why, login_manager.login_message)), "error" if why else "info")
    return redirect(login_url("auth.login", next_url=request.url))


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


def _single_line_text(_form: FlaskForm, field: StringField) -> None:
    # The text rules of readers' input (service/api/schemas.py): no control characters
    # (PostgreSQL cannot even hold NUL), and a username is one line.
    if field.data and (has_control_char(field.data) or any(c in field.data for c in "\t\r\n")):
        raise ValidationError(_("Letters, digits and punctuation only (no control "
                                "characters)."))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"),
                           validators=[DataRequired(), Length(max=100), _single_line_text])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    challenge_id = HiddenField()
    challenge_answer = StringField(_l("Characters in the picture"),
                                   validators=[Length(max=20), _single_line_text])


def safe_next(target: str | None) -> str:
    # Only same-site paths: a crafted ?next= must not send a moderator elsewhere. Browsers
    # read "/\\evil.example" as "//evil.example", and drop tabs and newlines in URLs.
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("review.queue")


def _redis():  # noqa: ANN202
    return current_app.extensions["vimod.redis"]


def _page(form: LoginForm, status: int, challenge: bool = False,
          headers: dict[str, str] | None = None) -> tuple[str, int, dict[str, str]]:
    """The sign-in page; with `challenge`, a fresh CAPTCHA to answer."""
    challenge_id = None
    form.password.data = ""
    form.challenge_answer.data = ""
    if challenge:
        try:
            challenge_id = captcha.issue(_redis(), CHALLENGE_SITE, "image",
                                         current_app.config["CAPTCHA_TTL"]).id
        except RedisError:
            challenge_id = None  # the POST is refused (503) anyway: see _unavailable
    return (render_template("login.html", form=form, challenge_id=challenge_id), status,
            headers or {})


def _unavailable(form: LoginForm):  # noqa: ANN202
    log.error("sign-in refused: Redis (the sign-in throttle's counts) is unreachable")
    flash(_("Signing in is not possible right now. Please try again in a minute."), "error")
    return _page(form, 503, headers={"Retry-After": "30"})


def _challenge_passed(form: LoginForm) -> bool:
    answer = form.challenge_answer.data or ""
    challenge_id = (form.challenge_id.data or "")[:200]
    if not answer or not challenge_id:
        flash(_("Type the characters in the picture to continue."), "error")
        return False
    if not captcha.consume(_redis(), challenge_id, CHALLENGE_SITE, answer):
        flash(_("The characters do not match the picture (or it expired). Try the new "
                "one."), "error")
        return False
    return True


def _not_checked(form: LoginForm, throttle: SignInThrottle):  # noqa: ANN202
    """The answer to a try whose password is not even looked at (the pair must wait, or the
    CAPTCHA is unanswered or wrong), or None to check it."""
    state = throttle.state()
    if state.wait:
        flash(_("Too many failed sign-ins for this username from here. Wait %(seconds)d "
                "seconds, then try again.", seconds=state.wait), "error")
        return _page(form, 429, challenge=state.challenge,
                     headers={"Retry-After": str(state.wait)})
    if state.challenge and not _challenge_passed(form):
        return _page(form, 400, challenge=True)
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    form = LoginForm()
    address = address_of(request.remote_addr)
    if request.method == "GET":
        try:
            busy = SignInThrottle.address_needs_challenge(_redis(), address)
        except RedisError:
            busy = False
        return _page(form, 200, challenge=busy)
    if "new_challenge" in request.form:  # "another picture": nothing is checked
        return _page(form, 200, challenge=True)
    if not form.validate_on_submit():
        return _page(form, 400, challenge=bool(form.challenge_id.data))
    username = form.username.data.strip()
    throttle = SignInThrottle(_redis(), username, address)
    try:
        refused = _not_checked(form, throttle)
    except RedisError:
        return _unavailable(form)
    if refused is not None:
        return refused
    user = db.session().scalars(select(User).where(User.username == username)).one_or_none()
    if check_password(user.password_hash if user and user.is_active else None,
                      form.password.data):
        try:
            throttle.succeeded()
        except RedisError:
            log.warning("sign-in: could not clear the throttle's count (Redis)")
        sign_in(user)
        return redirect(safe_next(request.args.get("next")))
    try:
        state = throttle.failed()
    except RedisError:
        log.warning("sign-in: a failure could not be counted (Redis)")
        state = State(0, True, 0)
    flash(_("Wrong username or password."), "error")
    if state.wait:
        flash(_("Wait %(seconds)d seconds before the next try.", seconds=state.wait), "error")
    return _page(form, 401, challenge=state.challenge)


def sign_in(user: User) -> None:
    """A new session for this browser (also after a change that ended all of the user's
    sessions, such as their own password reset)."""
    s = db.session()
    token, record = user_sessions.start(s, user.id, lifetimes(), request.remote_addr,
                                        request.user_agent.string)
    s.commit()
    # A new session gets a new CSRF secret: a form token from before sign-in is not valid.
    session.pop("csrf_token", None)
    login_user(signed_in_user(user, token, record.id))


@bp.post("/logout")
def logout():  # noqa: ANN201
    if current_user.is_authenticated and current_user.session_id is not None:
        user_sessions.revoke(db.session(), current_user.session_id, current_user.id)
        db.session().commit()
    logout_user()
    session.pop("csrf_token", None)
    flash(_("You are signed out."), "ok")
    return redirect(url_for("auth.login"))


@bp.get("/sessions")
@login_required
def sessions():  # noqa: ANN201
    limits = lifetimes()
    rows = user_sessions.open_sessions(db.session(), current_user.id, limits)
    return render_template("sessions.html", rows=rows, current_id=current_user.session_id,
                           idle_text=format_timedelta(limits.idle, threshold=1),
                           absolute_text=format_timedelta(limits.absolute, threshold=1))


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):  # noqa: ANN201
    if session_id == current_user.session_id:
        return logout()
    if user_sessions.revoke(db.session(), session_id, current_user.id):
        db.session().commit()
        flash(_("That session is signed out."), "ok")
    return redirect(url_for("auth.sessions"), 303)


@bp.post("/sessions/end-all")
@login_required
def end_all_sessions():  # noqa: ANN201
    user_sessions.revoke_all(db.session(), current_user.id)
    db.session().commit()
    logout_user()
    session.pop("csrf_token", None)
    flash(_("You are signed out everywhere, on every device."), "ok")
    return redirect(url_for("auth.login"), 303)


@bp.get("/login/challenge/<challenge_id>.png")
@limiter.limit(lambda: current_app.config["RATELIMIT_CAPTCHA"], key_func=get_remote_address)
def challenge_image(challenge_id: str) -> Response:
    try:
        found = captcha.peek(_redis(), challenge_id[:200], CHALLENGE_SITE)
        if found is None or found.kind != "image":
            abort(404)
        body = captcha.media(_redis(), found)
    except RedisError:
        abort(503)
    response = Response(body, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response

