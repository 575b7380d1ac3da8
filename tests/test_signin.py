"""Sign-in under attack (issue 15, defects 3-5): failed sign-ins are throttled per (username,
address) with a CAPTCHA and growing delays, never a lock an attacker can put on someone
else; Redis down refuses sign-in (fail closed) on a page of the app; an unknown or disabled
username costs the argon2 work of a wrong password; control characters in the username are
the form's own field error on both databases."""

from __future__ import annotations

import json
import re

import argon2
import pytest
from sqlalchemy import select

from service.accounts import create_user
from service.app import create_app
from service.embedded_redis import free_port
from service.storage import User
from tests.test_review import PASSWORD, csrf, ui  # noqa: F401 - the ui fixture

# (The new modules are imported inside the tests that use them, so that each test of this
# file, run against the code from before issue 15, fails on its own assertion.)

HOME = "198.51.100.7"  # the moderator's newsroom
ATTACKER = "203.0.113.66"


def client_at(app, address: str):  # noqa: ANN001, ANN201
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def challenge_of(html: str) -> str | None:
    found = re.search(r'name="challenge_id" value="([^"]+)"', html)
    return found.group(1) if found else None


def answer_of(redis_client, challenge_id: str) -> str:
    return json.loads(redis_client.get(f"vimod:captcha:{challenge_id}"))["a"]


def attempt(c, username: str, password: str, redis_client=None, *,  # noqa: ANN001, ANN201
            page: str | None = None, solve: bool = True):
    """One sign-in from the form as a person fills it: the CAPTCHA, if the form shows one,
    answered (with the right answer unless `solve` is False)."""
    html = page if page is not None else c.get("/login").get_data(as_text=True)
    data = {"username": username, "password": password, "csrf_token": csrf(html)}
    if (challenge := challenge_of(html)) and redis_client is not None:
        data["challenge_id"] = challenge
        data["challenge_answer"] = answer_of(redis_client, challenge) if solve else "zzzzz"
    return c.post("/login", data=data)


def signed_in(c) -> bool:  # noqa: ANN001
    return c.get("/review").status_code == 200


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


# --- defect 3: control characters in the username ------------------------------------------

@pytest.mark.parametrize("username", ["a\x00", "bientap_a\x00", "a\x1b[31m", "a\nb"])
def test_control_characters_in_the_username_are_a_field_error(ui, username) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = client_at(app, HOME)
    r = attempt(c, username, PASSWORD)
    assert r.status_code == 400, text(r)[:300]
    page = text(r)
    assert 'id="username-error"' in page and 'aria-invalid="true"' in page
    assert "ký tự điều khiển" in page  # the field's own message, in Vietnamese
    assert not signed_in(c)


# --- defect 4: throttling, never a lock -----------------------------------------------------

def test_failures_elsewhere_do_not_lock_the_moderator_out(ui, redis_client) -> None:  # noqa: ANN001, F811
    app, _ = ui
    attacker, page = client_at(app, ATTACKER), None
    for _ in range(8):
        r = attempt(attacker, "bientap_a", "sai-mat-khau", redis_client, page=page)
        assert r.status_code == 401
        page = text(r)
        for key in redis_client.keys("vimod:signin:wait:*"):
            redis_client.delete(key)  # the attacker waits out each delay
    moderator = client_at(app, HOME)
    r = attempt(moderator, "bientap_a", PASSWORD)
    assert r.status_code == 302 and signed_in(moderator)


def test_one_address_with_many_failures_gets_a_challenge_not_a_lock(ui, redis_client) -> None:  # noqa: ANN001, F811
    """A newsroom behind one NAT: many failures from its address (any usernames) make the
    form ask for a CAPTCHA there, which a person passes."""
    app, _ = ui
    nat = client_at(app, HOME)
    for i in range(20):  # signin_throttle.ADDRESS_CHALLENGE_AFTER
        r = attempt(nat, f"khach{i}", "sai", redis_client)
        assert r.status_code == 401, text(r)[:300]
    page = text(nat.get("/login"))
    assert challenge_of(page)  # shown before anyone types a name
    r = attempt(nat, "bientap_a", PASSWORD, redis_client, page=page, solve=False)
    assert r.status_code == 400 and not signed_in(nat)
    assert challenge_of(text(r))  # a new picture to try
    r = attempt(nat, "bientap_a", PASSWORD, redis_client, page=text(r))
    assert r.status_code == 302 and signed_in(nat)


def test_a_pair_gets_a_challenge_then_growing_delays(ui, redis_client) -> None:  # noqa: ANN001, F811
    from service import signin_throttle
    from service.signin_throttle import SignInThrottle, address_of

    app, _ = ui
    c, page = client_at(app, ATTACKER), None
    throttle = SignInThrottle(redis_client, "bientap_a", address_of(ATTACKER))
    for _ in range(1, signin_throttle.CHALLENGE_AFTER):
        r = attempt(c, "bientap_a", "sai", redis_client, page=page)
        assert r.status_code == 401 and not challenge_of(text(r))
        page = text(r)
    r = attempt(c, "bientap_a", "sai", redis_client, page=page)
    assert r.status_code == 401 and challenge_of(text(r))
    # Without the answer, the password is not even looked at (and nothing is counted).
    r = c.post("/login", data={"username": "bientap_a", "password": PASSWORD,
                               "csrf_token": csrf(text(r))})
    assert r.status_code == 400 and "Nhập các ký tự trong ảnh" in text(r)
    assert throttle.state().failures == signin_throttle.CHALLENGE_AFTER
    assert not signed_in(c)
    page, waits = text(r), []
    for _ in range(signin_throttle.DELAY_AFTER - signin_throttle.CHALLENGE_AFTER + 1):
        r = attempt(c, "bientap_a", "sai", redis_client, page=page)
        assert r.status_code == 401
        page = text(r)
        if throttle.state().wait:
            # Too soon: refused with the time to wait, even with the right password.
            early = attempt(c, "bientap_a", PASSWORD, redis_client, page=page)
            assert early.status_code == 429 and not signed_in(c)
            assert "Hãy chờ" in text(early)
            waits.append(int(early.headers["Retry-After"]))
            page = text(early)
            redis_client.delete(throttle.wait_key)  # the wait is over
    assert waits == [signin_throttle.FIRST_DELAY, 2 * signin_throttle.FIRST_DELAY]
    redis_client.set(throttle.pair_key, 50)  # a long guessing run: the delay stops growing
    r = attempt(c, "bientap_a", "sai", redis_client, page=page)
    assert r.status_code == 401 and throttle.state().wait == signin_throttle.MAX_DELAY
    redis_client.delete(throttle.wait_key)
    r = attempt(c, "bientap_a", PASSWORD, redis_client, page=text(r))
    assert r.status_code == 302 and signed_in(c)
    assert throttle.state().failures == 0  # the pair starts again from nothing


def test_many_addresses_guessing_one_username_get_a_challenge(ui, redis_client) -> None:  # noqa: ANN001, F811
    app, _ = ui
    for i in range(10):  # signin_throttle.USERNAME_CHALLENGE_AFTER
        attempt(client_at(app, f"192.0.2.{i + 1}"), "bientap_a", "sai", redis_client)
    moderator = client_at(app, HOME)
    r = attempt(moderator, "bientap_a", PASSWORD, redis_client)  # the form had no picture
    assert r.status_code == 400 and challenge_of(text(r))
    r = attempt(moderator, "bientap_a", PASSWORD, redis_client, page=text(r))
    assert r.status_code == 302


def test_ipv6_neighbours_share_their_64() -> None:
    from service.signin_throttle import address_of

    assert address_of("2001:db8:1:2:aaaa::1") == address_of("2001:db8:1:2:bbbb::9")
    assert address_of("2001:db8:1:3::1") != address_of("2001:db8:1:2::1")
    assert address_of("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_of("not an address") == "unknown"


@pytest.fixture
def app_without_redis(settings, engine, sessions):  # noqa: ANN001, ANN201
    settings.secure_cookies = False
    settings.redis_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(settings, TESTING=True)
    with sessions() as s:
        create_user(s, "bientap_a", "moderator", PASSWORD)
        s.commit()
    yield app
    app.extensions["vimod.engine"].dispose()


def test_redis_down_refuses_sign_in_on_a_page_of_the_app(app_without_redis) -> None:  # noqa: ANN001
    c = client_at(app_without_redis, HOME)
    page = c.get("/login")
    assert page.status_code == 200
    r = attempt(c, "bientap_a", PASSWORD, page=text(page))
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert 'class="top"' in text(r) and "thử lại sau một phút" in text(r)
    assert not signed_in(c)


# --- defect 5: the same work for a wrong username -------------------------------------------

@pytest.fixture
def verifications(monkeypatch):  # noqa: ANN001, ANN201
    """How many argon2 verifications sign-in attempts cost (the real ones, counted)."""
    calls: list[str] = []
    real = argon2.PasswordHasher.verify

    def counted(self, hash, password):  # noqa: ANN001, ANN202, A002
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    return calls


def test_unknown_and_disabled_usernames_cost_one_verification(ui, sessions, verifications) -> None:  # noqa: ANN001, F811
    app, _ = ui
    with sessions() as s:
        create_user(s, "da_nghi", "moderator", PASSWORD)
        s.scalars(select(User).where(User.username == "da_nghi")).one().is_active = False
        s.commit()
        known = s.scalars(select(User.password_hash).where(User.username == "bientap_a")).one()
    for i, (username, password) in enumerate([("bientap_a", "sai"), ("khong_co_ai", "sai"),
                                              ("da_nghi", PASSWORD)]):
        verifications.clear()
        r = attempt(client_at(app, f"192.0.2.{i + 1}"), username, password)
        assert r.status_code == 401
        assert len(verifications) == 1, username
    # The stand-in hash costs what a real one costs: the same argon2 parameters.
    from service.security import dummy_password_hash

    assert argon2.extract_parameters(dummy_password_hash()) == argon2.extract_parameters(known)
