"""Signing in and out in a real browser (issue 15): the CAPTCHA after failed tries, "your
sessions" and "sign out everywhere", the message of an ended session and of a stale form,
each on a page of the app in Vietnamese."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update

from service.storage.tables import utcnow
from tests.browser.pages import sign_in
from tests.test_review import PASSWORD, ui  # noqa: F401 - the ui fixture

SHOTS = Path(os.environ.get("VIMOD_SHOTS", "/tmp/shots-auth"))


def shot(page, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def flash(page) -> list[str]:  # noqa: ANN001
    return page.locator("p.flash").all_inner_texts()


def test_challenge_sessions_and_sign_out_everywhere(page, ui, redis_client, sessions) -> None:  # noqa: ANN001, F811
    page.goto("/login")
    assert page.locator("[data-challenge]").count() == 0
    for _ in range(3):
        page.fill("#username", "bientap_a")
        page.fill("#password", "sai-mat-khau")
        page.click("button[type=submit]:not([name])")
        page.wait_for_load_state()
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in flash(page)
    challenge = page.locator("[data-challenge]")
    assert challenge.is_visible()
    assert page.evaluate("document.querySelector('[data-challenge] img').naturalWidth") == 200
    assert page.evaluate("document.activeElement.id") == "challenge_answer"
    shot(page, "01-challenge")
    page.click("[name=new_challenge]")  # another picture: the name stays
    assert page.input_value("#username") == "bientap_a"
    challenge_id = page.get_attribute("[name=challenge_id]", "value")
    answer = json.loads(redis_client.get(f"vimod:captcha:{challenge_id}"))["a"]
    page.fill("#password", PASSWORD)
    page.fill("#challenge_answer", answer.upper())
    page.click("button[type=submit]:not([name])")
    page.wait_for_url("**/review")
    page.problems.clear()  # the 401s above were the point

    page.click("header a.who")
    page.wait_for_url("**/sessions")
    assert page.locator("tr[data-session]").count() == 1
    assert "trình duyệt này" in page.inner_text("table.sessions")
    shot(page, "02-sessions")
    page.click("[data-end-all]")
    page.wait_for_url("**/login")
    assert "Bạn đã đăng xuất ở mọi nơi, trên mọi thiết bị." in flash(page)
    shot(page, "03-signed-out-everywhere")
    page.goto("/review")
    page.wait_for_url("**/login?next=*")
    assert page.problems == []


def test_an_ended_session_and_a_stale_form_say_so(page, ui, sessions) -> None:  # noqa: ANN001, F811
    from service.storage import UserSession  # (new: see tests/test_signin.py)

    app, _ = ui
    sign_in(page)
    # The moderator leaves the queue open past the idle lifetime.
    with sessions() as s:
        s.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=9)))
        s.commit()
    page.click("text=Hàng chờ duyệt")
    page.wait_for_url("**/login?next=*")
    assert any("lâu không sử dụng" in m for m in flash(page))
    shot(page, "04-session-expired")
    page.fill("#username", "bientap_a")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")  # back where they were

    # A form older than the session's lifetime (a tab open since yesterday).
    page.goto("/sessions")
    token = page.get_attribute("[data-end-all] >> xpath=.. >> input[name=csrf_token]", "value")
    secret = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").loads(token)

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 25 * 3600

    old = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token",
                                 signer=Yesterday).dumps(secret)
    page.evaluate("(t) => document.querySelectorAll('input[name=csrf_token]')"
                  ".forEach((i) => { i.value = t; })", old)
    page.click("[data-end-all]")
    page.wait_for_load_state()
    assert page.locator("[data-status='400']").is_visible()
    assert "Phiên làm việc đã hết hạn, vui lòng thử lại." in flash(page)
    shot(page, "05-stale-form")
    page.click("text=Quay lại trang trước")
    page.wait_for_url("**/sessions")  # still signed in: nothing was done
    assert page.locator("tr[data-session]").count() == 1
    assert [p for p in page.problems if not re.match(r"400 .*/sessions/end-all$", p)] == []
