"""Sessions end on the server (issue 15, defect 6): signing out, "sign out everywhere" (the
user's own, and an admin's on a user), a disabled user and a password reset revoke the
session rows, so an old cookie opens nothing; a session ends when idle or too old; a form's
CSRF token is bound to its session and expires, and a stale form ends on a page of the app
with the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from service.storage import AuditEntry, User
from tests.admin.test_sites_users import _user_id
from tests.test_review import PASSWORD, csrf, login, ui  # noqa: F401 - the ui fixture

# (New modules are imported inside the tests: see tests/test_signin.py.)


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def signed_in(c) -> bool:  # noqa: ANN001
    return c.get("/review").status_code == 200


def session_rows(sessions, username: str) -> list:  # noqa: ANN001
    from service.storage import UserSession

    with sessions() as s:
        return list(s.scalars(select(UserSession).join(User, User.id == UserSession.user_id)
                              .where(User.username == username).order_by(UserSession.id)))


def cookie_of(c) -> str:  # noqa: ANN001
    return c.get_cookie("session").value


def client_with_cookie(app, value: str):  # noqa: ANN001, ANN201
    c = app.test_client()
    c.set_cookie("session", value)
    return c


def test_a_cookie_from_before_sign_out_opens_nothing(ui) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = app.test_client()
    assert login(c, "bientap_a").status_code == 302
    assert c.get_cookie("remember_token") is None  # no cookie that outlives the session
    copied = cookie_of(c)
    assert signed_in(client_with_cookie(app, copied))
    c.post("/logout", data={"csrf_token": csrf(text(c.get("/review")))})
    assert not signed_in(c)
    assert not signed_in(client_with_cookie(app, copied))  # the server ended it


def test_sign_out_everywhere(ui, sessions) -> None:  # noqa: ANN001, F811
    app, _ = ui
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "bientap_a")
    login(laptop, "bientap_a")
    page = text(laptop.get("/sessions"))
    assert page.count("data-session=") == 2 and "trình duyệt này" in page
    # One session ended from another browser: only that one.
    laptops = max(r.id for r in session_rows(sessions, "bientap_a"))  # signed in last
    r = phone.post(f"/sessions/{laptops}/end",
                   data={"csrf_token": csrf(text(phone.get("/sessions")))})
    assert r.status_code == 303 and signed_in(phone) and not signed_in(laptop)
    login(laptop, "bientap_a")
    r = laptop.post("/sessions/end-all",
                    data={"csrf_token": csrf(text(laptop.get("/sessions")))})
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert not signed_in(phone) and not signed_in(laptop)
    assert all(row.revoked_at is not None for row in session_rows(sessions, "bientap_a"))


def test_a_session_id_of_someone_else_is_not_ended(ui, sessions) -> None:  # noqa: ANN001, F811
    app, _ = ui
    mine, theirs = app.test_client(), app.test_client()
    login(mine, "bientap_a")
    login(theirs, "bientap_a2")
    their_id = session_rows(sessions, "bientap_a2")[0].id
    mine.post(f"/sessions/{their_id}/end", data={"csrf_token": csrf(text(mine.get("/sessions")))})
    assert signed_in(theirs)


def test_admin_signs_a_user_out_everywhere(ui, sessions) -> None:  # noqa: ANN001, F811
    from tests.admin.test_wordlists_admin import admin

    app, _ = ui
    moderator = app.test_client()
    login(moderator, "bientap_a")
    c = admin(app)
    uid = _user_id(sessions, "bientap_a")
    listing = text(c.get("/admin/users"))
    assert f"/admin/users/{uid}/sign-out" in listing  # on the user's row
    r = c.post(f"/admin/users/{uid}/sign-out", data={"csrf_token": csrf(listing), "back": "list"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/users")
    assert not signed_in(moderator)
    assert login(moderator, "bientap_a").status_code == 302  # the password still works
    with sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user.sign_out")).one()
        assert entry.target_id == str(uid) and entry.details == {"sessions": 1}
    # The admin on their own row: every other session ends, this one stays.
    me = _user_id(sessions, "quantri")
    elsewhere = admin(app)
    c.post(f"/admin/users/{me}/sign-out", data={"csrf_token": csrf(text(c.get("/admin/users")))})
    assert c.get("/admin/users").status_code == 200
    assert elsewhere.get("/admin/users").status_code == 302


def test_disabling_and_password_reset_revoke_the_rows(ui, sessions) -> None:  # noqa: ANN001, F811
    from tests.admin.test_wordlists_admin import admin

    app, _ = ui
    moderator = app.test_client()
    login(moderator, "bientap_a")
    copied = cookie_of(moderator)
    c = admin(app)
    uid = _user_id(sessions, "bientap_a")
    page = f"/admin/users/{uid}"
    c.post(f"{page}/active", data={"csrf_token": csrf(text(c.get(page))), "active": "0"})
    assert session_rows(sessions, "bientap_a")[0].revoked_at is not None
    c.post(f"{page}/active", data={"csrf_token": csrf(text(c.get(page))), "active": "1"})
    assert not signed_in(client_with_cookie(app, copied))  # enabled again: the old one stays over
    login(moderator, "bientap_a")
    c.post(f"{page}/password", data={"csrf_token": csrf(text(c.get(page)))})
    assert all(r.revoked_at is not None for r in session_rows(sessions, "bientap_a"))
    assert not signed_in(moderator)


def _age(sessions, username: str, **changes) -> None:  # noqa: ANN001, ANN003
    from service.storage import UserSession

    row = session_rows(sessions, username)[-1]
    with sessions() as s:
        s.execute(update(UserSession).where(UserSession.id == row.id).values(
            **{k: getattr(row, k) - v for k, v in changes.items()}))
        s.commit()


@pytest.mark.parametrize(("changes", "message"), [
    ({"last_seen_at": timedelta(hours=8, minutes=1)}, "lâu không sử dụng"),
    ({"expires_at": timedelta(hours=24, minutes=1)}, "Phiên đăng nhập đã hết hạn"),
])
def test_idle_and_absolute_lifetimes(ui, sessions, changes, message) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = app.test_client()
    login(c, "bientap_a")
    assert signed_in(c)
    _age(sessions, "bientap_a", **changes)
    r = c.get("/review", follow_redirects=True)
    assert r.request.path == "/login" and message in text(r)
    assert not signed_in(c)


def test_last_seen_is_written_once_a_minute_and_not_by_the_queues_polling(ui, sessions) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = app.test_client()
    login(c, "bientap_a")
    first = session_rows(sessions, "bientap_a")[-1].last_seen_at
    c.get("/review")
    assert session_rows(sessions, "bientap_a")[-1].last_seen_at == first  # within the minute
    _age(sessions, "bientap_a", last_seen_at=timedelta(minutes=5))
    before = session_rows(sessions, "bientap_a")[-1].last_seen_at
    c.get("/review/arrivals?since=2026-01-01T00:00:00")  # the open queue asking on its own
    assert session_rows(sessions, "bientap_a")[-1].last_seen_at == before
    c.get("/review")  # a person at work
    assert session_rows(sessions, "bientap_a")[-1].last_seen_at > before


def test_csrf_tokens_expire_with_the_session_lifetime(ui) -> None:  # noqa: ANN001, F811
    """A form older than the session's absolute lifetime is refused, on a page of the app
    that says why and leads back, in Vietnamese."""
    app, _ = ui
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 24 * 3600
    c = app.test_client()
    login(c, "bientap_a")
    c.get("/review")
    with c.session_transaction() as browser_session:
        raw = browser_session["csrf_token"]

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 24 * 3600 - 60

    old = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token",
                                 signer=Yesterday).dumps(raw)
    r = c.post("/logout", data={"csrf_token": old}, headers={"Referer": "http://localhost/review"})
    assert r.status_code == 400
    page = text(r)
    assert "Phiên làm việc đã hết hạn, vui lòng thử lại." in page
    assert 'class="top"' in page and 'href="/review"' in page  # the app's page, a way back
    assert signed_in(c)  # nothing happened


def test_a_form_from_before_sign_in_is_not_accepted_after(ui) -> None:  # noqa: ANN001, F811
    """Each sign-in gets a new CSRF secret: a token from the anonymous session (or from a
    signed-out one) does not carry over."""
    app, _ = ui
    c = app.test_client()
    before = csrf(text(c.get("/login")))
    login(c, "bientap_a")
    r = c.post("/logout", data={"csrf_token": before})
    assert r.status_code == 400 and signed_in(c)
