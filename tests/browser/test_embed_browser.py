"""The embeddable comment form (service/static/embed.js) in real Chromium, on a news site's
page served from another origin under a strict CSP, against the real app, Redis and
database (and, for the whole loop, a real Celery worker): what the reader sees, what the
server stores, and what it refuses with a clear message."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from service import moderation
from service.accounts import create_site, create_user
from service.storage import Comment, CommentStatus
from tests.browser.embed_host import HostSite, Reader
from tests.browser.pages import sign_in
from tests.helpers import set_settings
from tests.test_end_to_end import start, wait_for_status  # noqa: F401 - the start fixture
from tests.test_review import PASSWORD

PENDING = "Bình luận của bạn sẽ được biên tập trước khi đăng."
WITHOUT_MARKS = "Duong nay sua mai khong xong, mua mua ngap nang lam"


@dataclass(frozen=True)
class SiteRef:
    id: int
    public_key: str
    api_key: str
    moderator_id: int


@pytest.fixture
def host():  # noqa: ANN201
    site = HostSite().start()
    yield site
    site.stop()


@pytest.fixture
def ui(settings, engine, redis_client, sessions, host):  # noqa: ANN001, ANN201
    """The app (for conftest's live_server) and one site whose pages live on the host's
    origin, with a moderator."""
    from service.app import create_app

    settings.secure_cookies = False
    settings.ratelimit_captcha = settings.ratelimit_public = "1000 per minute"
    settings.form_min_seconds = 1
    app = create_app(settings, TESTING=True)
    with sessions() as s:
        new = create_site(s, "Báo Sơn Thủy", domain="baosonthuy.vn",
                          allowed_origins=[host.origin])
        moderator, _ = create_user(s, "bientap", "moderator", PASSWORD, [new.site.id])
        s.commit()
        ref = SiteRef(new.site.id, new.site.public_key, new.api_key, moderator.id)
    yield app, ref
    app.extensions["vimod.engine"].dispose()


@pytest.fixture
def site(ui, host, live_server) -> SiteRef:  # noqa: ANN001
    host.vimod = live_server
    return ui[1]


@pytest.fixture
def reader(page, redis_client) -> Reader:  # noqa: ANN001
    return Reader(page, redis_client)


def stored(sessions) -> int:  # noqa: ANN001
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Comment))


def unexpected(page, *allowed: str) -> list[str]:  # noqa: ANN001
    """The page's problems (conftest) except the refusals this test provokes."""
    return [p for p in page.problems if not any(a in p for a in allowed)]


def publish(app, site: SiteRef, sessions, body: str, name: str = "Trần Văn Hùng",  # noqa: ANN001
            article: str = "tin-1", parent_id: int | None = None) -> int:
    """A comment through the server-to-server intake, approved by the moderator."""
    data = {"article": {"id": article}, "author": {"name": name, "email": "x@example.vn"},
            "body": body}
    if parent_id:
        data["parent_id"] = parent_id
    r = app.test_client().post("/api/v1/comments", json=data,
                               headers={"X-Api-Key": site.api_key})
    assert r.status_code == 202, r.get_json()
    with app.app_context(), sessions() as s:
        moderation.approve(s, s.get(Comment, r.json["id"]), site.moderator_id, "bientap")
    return r.json["id"]


# --- the whole loop ---------------------------------------------------------------------


@pytest.mark.e2e
def test_whole_loop_from_another_origin(site, host, reader, page, sessions, start) -> None:  # noqa: ANN001, F811
    """Write without diacritics → warning → apply the suggestion → CAPTCHA → send → pending
    (also after a reload) → a moderator approves in the review queue → reload → published."""
    start("worker")
    url = host.put("/tin-1.html", site.public_key)
    reader.open(url)
    form = reader.host
    assert form.get_by_role("heading", name="Viết bình luận").is_visible()
    assert form.get_by_text("Hãy sử dụng tiếng Việt có dấu khi viết bài.").is_visible()
    assert form.locator(".counter").inner_text() == "Số ký tự còn lại: 2000"
    assert form.get_by_text("Chưa có bình luận nào.").is_visible()
    # Themed by the host page's CSS variable, styled only by vimod's embed.css.
    accent = form.get_by_role("button", name="Gửi bình luận").evaluate(
        "b => getComputedStyle(b).backgroundColor")
    assert accent == "rgb(1, 2, 3)"

    reader.fill(body=None)
    reader.field("Nội dung bình luận").press_sequentially(WITHOUT_MARKS, delay=5)
    warning = form.locator(".diacritics-warning")
    warning.wait_for(state="visible")
    assert "dường như viết không dấu" in warning.inner_text()
    suggestion = form.locator(".suggestion-text").inner_text()
    assert suggestion.startswith("Đường này sửa") and suggestion != WITHOUT_MARKS
    form.get_by_role("button", name="Dùng văn bản có dấu").click()
    assert reader.field("Nội dung bình luận").input_value() == suggestion
    assert warning.is_hidden()
    assert form.locator(".counter").inner_text() == f"Số ký tự còn lại: {2000 - len(suggestion)}"

    reader.submit()
    expect_text(reader.status(), PENDING)
    mine = form.locator(".mine li")
    assert mine.count() == 1
    assert "Đang chờ duyệt" in mine.inner_text() and suggestion in mine.inner_text()
    assert reader.field("Nội dung bình luận").input_value() == ""  # ready for the next one
    with sessions() as s:
        comment = s.scalars(select(Comment)).one()
        assert comment.body_original == suggestion
        assert comment.author_name == "Nguyễn Thị Lan"
        assert comment.article.url == url and comment.article.external_id == "tin-1"
    wait_for_status(sessions, comment.id, CommentStatus.pending)

    page.reload()
    reader.wait_for_challenge()
    assert "Đang chờ duyệt" in form.locator(".mine li").inner_text()  # remembered this session
    assert form.get_by_text("Chưa có bình luận nào.").is_visible()

    sign_in(page, "bientap")
    page.goto(f"/review/{comment.id}")
    page.keyboard.press("a")
    wait_for_status(sessions, comment.id, CommentStatus.approved)

    page.goto(url)
    published = form.locator("ol.threads > li")
    published.first.wait_for()
    assert suggestion in published.inner_text() and "Nguyễn Thị Lan" in published.inner_text()
    assert form.get_by_role("heading", name="1 bình luận").is_visible()
    assert form.locator(".mine").is_hidden()  # no longer "pending": it is published
    assert page.dialogs == [] and page.problems == []


def expect_text(locator, text: str, timeout: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in locator.inner_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {locator.inner_text()!r}")


# --- refusals: a clear message, nothing stored, nothing the reader typed lost ----------


def test_disallowed_origin_says_so_and_stores_nothing(site, host, reader, page, sessions, ui):  # noqa: ANN001
    other = HostSite().start()  # another port: an origin the site does not list
    try:
        other.vimod = host.vimod
        page.goto(other.put("/copy.html", site.public_key))
        form = reader.host
        expect_text(reader.status(), "chưa được phép")
        expect_text(form.locator(".list-status"), "chưa được phép")
        reader.fill(solve=False)
        reader.submit()
        assert reader.error_of("captcha").inner_text()  # no challenge: nothing to send
        # Even a hand-made POST from that page is refused, readably (the only answer that
        # origin may read), and stores nothing …
        answer = page.evaluate("""async ([url, body]) => {
            const r = await fetch(url, {method: 'POST',
                                        headers: {'Content-Type': 'application/json'}, body});
            return [r.status, (await r.json()).error.code]; }""",
                               [f"{host.vimod}/api/v1/public/sites/{site.public_key}/articles/"
                                "tin-1/comments", json.dumps({"body": "x"})])
        assert answer == [403, "origin_not_allowed"]
        page.problems[:] = [p for p in page.problems if not p.startswith("403 ")]
        assert reader.field("Nội dung bình luận").input_value()  # the text is still there
        assert stored(sessions) == 0
    finally:
        other.stop()
    assert page.dialogs == []


def test_wrong_captcha_gets_a_new_challenge_and_keeps_the_text(site, host, reader, page, sessions):  # noqa: ANN001
    reader.open(host.put("/tin-1.html", site.public_key))
    first = reader.challenge_id()
    reader.fill(solve=False)
    reader.field("Mã xác nhận").fill("sai00")
    time.sleep(1)
    reader.submit()
    error = reader.error_of("captcha")
    expect_text(error, "Mã xác nhận không đúng")
    captcha_box = reader.field("Mã xác nhận")
    assert captcha_box.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in captcha_box.get_attribute("aria-describedby")
    assert captcha_box.evaluate("el => el === el.getRootNode().activeElement")  # focus moved
    reader.page.wait_for_function(
        "first => !document.querySelector('vimod-comments').shadowRoot"
        ".querySelector('img.captcha-image').src.includes(first)", arg=first)
    assert reader.wait_for_challenge() != first
    assert reader.field("Nội dung bình luận").input_value().startswith("Con đường")
    assert stored(sessions) == 0
    # The new challenge, solved, goes through.
    reader.field("Mã xác nhận").fill(reader.answer())
    reader.submit()
    expect_text(reader.status(), PENDING)
    assert stored(sessions) == 1
    assert unexpected(page, "/comments") == [] and page.dialogs == []


def test_a_solved_captcha_replayed_is_refused(site, host, reader, page, sessions):  # noqa: ANN001
    reader.open(host.put("/tin-1.html", site.public_key))
    used = {"id": reader.challenge_id(), "answer": reader.answer()}
    reader.fill()
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), PENDING)
    reader.wait_for_challenge()

    def replay(route) -> None:  # noqa: ANN001 - a bot sending the used challenge again
        data = json.loads(route.request.post_data)
        data["captcha"] = used
        route.continue_(post_data=json.dumps(data))

    page.route("**/articles/tin-1/comments", replay)
    reader.fill(body="Một ý kiến nữa về con đường.")
    reader.submit()
    expect_text(reader.error_of("captcha"), "Mã xác nhận không đúng hoặc đã hết hạn")
    assert stored(sessions) == 1
    assert unexpected(page, "/comments") == []


def test_filled_honeypot_is_refused(site, host, reader, page, sessions):  # noqa: ANN001
    reader.open(host.put("/tin-1.html", site.public_key))
    honeypot = reader.host.locator("#vimod-website")
    assert honeypot.get_attribute("tabindex") == "-1"
    assert honeypot.get_attribute("autocomplete") == "off"
    assert reader.host.locator(".hp").get_attribute("aria-hidden") == "true"
    wrapper = reader.host.locator(".hp")  # nobody sees it: a clipped 1 px box
    box = wrapper.bounding_box()
    assert box["width"] <= 1 and box["height"] <= 1
    assert wrapper.evaluate("el => getComputedStyle(el).overflow") == "hidden"
    reader.fill()
    honeypot.evaluate("el => { el.value = 'http://spam.example'; }")  # what a bot does
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), "Không thể gửi bình luận này.")
    assert stored(sessions) == 0
    assert unexpected(page, "/comments") == []


def test_too_fast_is_refused_and_keeps_the_captcha(site, ui, host, reader, page, sessions):  # noqa: ANN001
    app = ui[0]
    app.config["FORM_MIN_SECONDS"] = 60
    reader.open(host.put("/tin-1.html", site.public_key))
    challenge = reader.challenge_id()
    reader.fill()
    reader.submit()
    expect_text(reader.status(), "Bạn gửi hơi nhanh")
    assert stored(sessions) == 0
    assert reader.challenge_id() == challenge  # checked before the CAPTCHA: still unused
    app.config["FORM_MIN_SECONDS"] = 0
    reader.submit()
    expect_text(reader.status(), PENDING)
    assert stored(sessions) == 1
    assert unexpected(page, "/comments") == []


def test_rate_limited_says_when_to_retry(site, ui, host, reader, page, sessions):  # noqa: ANN001
    ui[0].config["RATELIMIT_PUBLIC"] = "1 per minute"
    reader.open(host.put("/tin-1.html", site.public_key))
    reader.fill()
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), PENDING)
    reader.wait_for_challenge()
    reader.fill(body="Ý kiến thứ hai trong cùng một phút.")
    reader.submit()
    expect_text(reader.status(), "Bạn đã gửi quá nhiều lần. Vui lòng thử lại sau")
    assert re.search(r"sau \d+ giây", reader.status().inner_text())  # Retry-After, exposed
    assert reader.field("Nội dung bình luận").input_value() == "Ý kiến thứ hai trong cùng một phút."
    assert stored(sessions) == 1
    assert unexpected(page, "/comments") == []


def test_lost_answer_then_resend_stores_one_comment(site, host, reader, page, sessions):  # noqa: ANN001
    """The server stores the comment but its answer never arrives: the form says the
    network failed, keeps the text and the challenge, and sending again (same
    Idempotency-Key) is answered with the comment already stored."""
    reader.open(host.put("/tin-1.html", site.public_key))
    keys: list[str] = []

    def lose_answer(route) -> None:  # noqa: ANN001
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        assert route.fetch().status == 202  # stored …
        route.abort()  # … and the answer lost on the way back

    comments = re.compile(r".*/articles/tin-1/comments$")
    page.route(comments, lose_answer)
    reader.fill()
    challenge = reader.challenge_id()
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), "Không kết nối được tới máy chủ bình luận")
    assert reader.field("Nội dung bình luận").input_value().startswith("Con đường")
    assert reader.challenge_id() == challenge
    assert stored(sessions) == 1
    page.unroute(comments)
    with page.expect_request(comments) as resent:
        reader.submit()
    assert resent.value.headers["idempotency-key"] == keys[0] and len(keys[0]) == 32
    expect_text(reader.status(), PENDING)
    assert stored(sessions) == 1
    assert reader.host.locator(".mine li").count() == 1
    assert unexpected(page, "/comments") == []


def test_oversize_text_is_stopped_by_the_counter_and_by_the_server(
        site, ui, host, reader, page, sessions) -> None:  # noqa: ANN001
    reader.open(host.put("/tin-1.html", site.public_key))
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url)
            if r.method == "POST" and r.url.endswith("/comments") else None)
    reader.fill(body="a" * 2001)
    counter = reader.host.locator(".counter")
    assert counter.inner_text() == "Số ký tự còn lại: -1"
    assert "over" in counter.get_attribute("class")
    body = reader.field("Nội dung bình luận")
    assert body.get_attribute("aria-invalid") == "true"
    assert "bớt 1 ký tự" in reader.error_of("body").inner_text()
    reader.submit()
    assert posts == []  # the form does not send what the server would refuse
    assert body.evaluate("el => el === el.getRootNode().activeElement")

    # The site's limit lowered after the page loaded: the server refuses, the form says
    # how much to cut and its counter follows the site's limit.
    set_settings(sessions, site.id, max_length=50)
    with ui[0].app_context():
        ui[0].extensions["vimod.site_keys"].invalidate()
    body.fill("Ý kiến " * 10)  # 70 characters
    time.sleep(1)
    reader.submit()
    expect_text(reader.error_of("body"), "giới hạn 50 ký tự: hãy bớt 20 ký tự")
    assert counter.inner_text() == "Số ký tự còn lại: -20"
    assert body.input_value() == "Ý kiến " * 10
    assert stored(sessions) == 0
    assert unexpected(page, "/comments") == []


def test_counter_counts_as_the_server_does(site, host, reader, page, sessions):  # noqa: ANN001
    """NFD input (as some keyboards send it) and characters outside the BMP: the counter
    shows code points after NFC, and a text exactly at the limit is accepted."""
    text = "Thông tin rất hữu ích 👍"
    limit = len(unicodedata.normalize("NFC", text))  # 23
    decomposed = unicodedata.normalize("NFD", text)
    assert len(decomposed) > limit and len(decomposed.encode("utf-16-le")) // 2 > limit
    set_settings(sessions, site.id, max_length=limit)
    reader.open(host.put("/tin-1.html", site.public_key))
    counter = reader.host.locator(".counter")
    expect_text(counter, f"Số ký tự còn lại: {limit}")  # the site's limit, from GET /form
    reader.fill(body=decomposed)
    assert counter.inner_text() == "Số ký tự còn lại: 0"
    reader.field("Nội dung bình luận").press("End")
    reader.field("Nội dung bình luận").press_sequentially("!")
    assert counter.inner_text() == "Số ký tự còn lại: -1"
    reader.field("Nội dung bình luận").press("Backspace")
    assert counter.inner_text() == "Số ký tự còn lại: 0"
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), PENDING)
    with sessions() as s:
        assert s.scalars(select(Comment)).one().body_original == decomposed  # stored as sent
    assert page.problems == []


# --- accessibility ----------------------------------------------------------------------


def test_labels_keyboard_and_errors_next_to_fields(site, host, reader, page, sessions):  # noqa: ANN001
    reader.open(host.put("/tin-1.html", site.public_key))
    for label, control in [("Họ tên", "name"), ("Email", "email"),
                           ("Nội dung bình luận", "body"), ("Mã xác nhận", "captcha")]:
        field = reader.field(label)
        assert field.get_attribute("id") == f"vimod-{control}"
        assert field.get_attribute("aria-required") == "true"
        assert field.evaluate("el => el.required")
    assert "vimod-body-counter" in reader.field("Nội dung bình luận").get_attribute(
        "aria-describedby")

    # Tab through the form from the name: the honeypot is never reached.
    reader.field("Họ tên").focus()
    order = []
    for _ in range(8):
        order.append(page.evaluate("""() => { const a = document.activeElement.shadowRoot
            .activeElement; return a.id || a.textContent.trim(); }"""))
        page.keyboard.press("Tab")
    assert order[:7] == ["vimod-name", "vimod-email", "vimod-body", "Đổi mã khác", "Nghe mã",
                         "vimod-captcha", "Gửi bình luận"]
    assert "vimod-website" not in order

    # Enter with nothing typed: every missing field says so next to itself; focus on the first.
    reader.field("Họ tên").press("Enter")
    expect_text(reader.status(), "Vui lòng sửa các mục được đánh dấu.")
    assert reader.status().get_attribute("role") == "status"
    for control, message in [("name", "Vui lòng nhập họ tên."), ("email", "Vui lòng nhập email."),
                             ("body", "Vui lòng nhập nội dung bình luận."),
                             ("captcha", "Vui lòng nhập mã xác nhận.")]:
        assert reader.error_of(control).inner_text() == message
        field = reader.host.locator(f"#vimod-{control}")
        assert field.get_attribute("aria-invalid") == "true"
        assert f"vimod-{control}-error" in field.get_attribute("aria-describedby")
    assert reader.field("Họ tên").evaluate("el => el === el.getRootNode().activeElement")
    reader.field("Họ tên").fill("Lan")
    reader.field("Email").fill("khong-phai-email")
    reader.field("Họ tên").press("Enter")
    assert reader.error_of("email").inner_text() == "Địa chỉ email không hợp lệ."
    assert reader.error_of("name").inner_text() == ""
    assert reader.field("Email").evaluate("el => el === el.getRootNode().activeElement")

    # The diacritics suggestion with the keyboard only: Tab from the text, Enter.
    body = reader.field("Nội dung bình luận")
    body.focus()
    page.keyboard.type(WITHOUT_MARKS)
    reader.host.locator(".diacritics-warning").wait_for(state="visible")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert body.input_value().startswith("Đường này")
    assert body.evaluate("el => el === el.getRootNode().activeElement")
    # Refresh the challenge from the keyboard.
    first = reader.challenge_id()
    reader.host.get_by_role("button", name="Đổi mã khác").press("Enter")
    page.wait_for_function(
        "first => !document.querySelector('vimod-comments').shadowRoot"
        ".querySelector('img.captcha-image').src.includes(first)", arg=first)
    assert stored(sessions) == 0
    assert page.problems == [] and page.dialogs == []


def test_audio_challenge(site, host, reader, page, sessions):  # noqa: ANN001
    reader.open(host.put("/tin-1.html", site.public_key))
    with page.expect_response(lambda r: r.url.endswith("/captcha") and r.status == 201) as got:
        reader.host.get_by_role("button", name="Nghe mã").click()
    challenge = got.value.json()
    assert challenge["kind"] == "audio" and challenge["audio_url"].endswith(".wav")
    expect_text(reader.host.locator("#vimod-captcha-hint"), "chữ số bạn nghe được")
    assert reader.host.locator("img.captcha-image").is_hidden()
    assert reader.host.get_by_role("button", name="Nghe lại").is_visible()
    reader.fill(solve=False)
    reader.field("Mã xác nhận").fill(reader.answer(challenge["id"]))
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), PENDING)
    assert stored(sessions) == 1


# --- what readers read ------------------------------------------------------------------


def test_published_comments_threads_order_paging_and_escaping(
        site, ui, host, reader, page, sessions) -> None:  # noqa: ANN001
    app = ui[0]
    hostile = '<img src=x onerror=alert(1)>\nDòng hai <script>alert(2)</script>'
    first = publish(app, site, sessions, "Bình luận đầu tiên", name="Lê Thị Mai")
    reply = publish(app, site, sessions, "Tôi đồng ý với chị Mai", name="Phạm Thu",
                    parent_id=first)
    publish(app, site, sessions, "Trả lời bạn Thu", name="Hoàng Nam", parent_id=reply)
    publish(app, site, sessions, "Bình luận thứ hai", name="Đỗ Lan")
    last = publish(app, site, sessions, hostile, name="<b>Kẻ xấu</b>")
    reader.open(host.put("/tin-1.html", site.public_key, per_page="2"))
    form = reader.host
    threads = form.locator("ol.threads > li")
    threads.first.wait_for()
    assert form.get_by_role("heading", name="5 bình luận").is_visible()

    # Newest first: the hostile one, shown as text; no element, no script, no dialog.
    top = threads.nth(0)
    assert top.locator(".comment-body").first.inner_text() == hostile
    assert top.locator(".author").first.inner_text() == "<b>Kẻ xấu</b>"
    assert form.locator("ol.threads img, ol.threads script, ol.threads b").count() == 0
    # Readers' names and texts are bidi-isolated: none can reverse the line it is on.
    assert form.locator("ol.threads :is(.author, .author-ref, .comment-body)").evaluate_all(
        "els => els.filter(el => el.getAttribute('dir') !== 'auto').length") == 0
    # Time as Vietnamese pages write it, in the reader's time zone.
    with sessions() as s:
        created = s.get(Comment, last).received_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    offset = page.evaluate("() => new Date().getTimezoneOffset()")
    local = created.astimezone(UTC) - timedelta(minutes=offset)
    assert top.locator("time").first.inner_text() == local.strftime("%H:%M %d/%m/%Y")
    assert re.fullmatch(r"\d\d:\d\d \d\d/\d\d/\d{4}", top.locator("time").first.inner_text())

    # Paging: two threads a page, "Xem thêm" brings the next.
    assert threads.count() == 2
    more = form.get_by_role("button", name="Xem thêm bình luận")
    more.click()
    expect_count(threads, 3)
    assert more.is_hidden()
    oldest = threads.nth(2)
    replies = oldest.locator("ol.replies > li")
    assert replies.count() == 2
    assert "Tôi đồng ý với chị Mai" in replies.nth(0).inner_text()
    assert "trả lời Phạm Thu" in replies.nth(1).inner_text()  # a reply to a reply says whose
    assert oldest.locator("ol.replies").evaluate(  # indented under its thread
        "el => parseFloat(getComputedStyle(el).marginLeft)") > 0

    # Oldest first.
    form.get_by_role("button", name="Cũ nhất").click()
    expect_text(threads.nth(0).locator(".comment-body").first, "Bình luận đầu tiên")
    assert form.get_by_role("button", name="Cũ nhất").get_attribute("aria-pressed") == "true"
    assert threads.count() == 2

    # Reply: the form says to whom (cancelable), and the comment carries parent_id.
    threads.nth(0).get_by_role("button", name="Trả lời Lê Thị Mai").click()
    banner = form.locator(".replying")
    assert "Trả lời bình luận của Lê Thị Mai" in banner.inner_text()
    assert reader.field("Nội dung bình luận").evaluate(
        "el => el === el.getRootNode().activeElement")
    form.get_by_role("button", name="Hủy trả lời").click()
    assert banner.is_hidden()
    threads.nth(0).get_by_role("button", name="Trả lời Lê Thị Mai").click()
    reader.fill(body="Cảm ơn chị đã chia sẻ")
    time.sleep(1)
    reader.submit()
    expect_text(reader.status(), PENDING)
    assert "trả lời Lê Thị Mai" in form.locator(".mine li").inner_text()
    with sessions() as s:
        mine = s.scalars(select(Comment).order_by(Comment.id.desc())).first()
        assert mine.parent_id == first and mine.body_original == "Cảm ơn chị đã chia sẻ"
    assert page.dialogs == [] and page.problems == []


def expect_count(locator, n: int, timeout: float = 10) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while locator.count() != n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert locator.count() == n


def test_english_texts_and_empty_article(site, host, reader, page) -> None:  # noqa: ANN001
    reader.page.goto(host.put("/en.html", site.public_key, article_id="tin-2", lang="en"))
    form = reader.host
    form.get_by_role("heading", name="Write a comment").wait_for()
    assert form.get_by_label("Name").get_attribute("id") == "vimod-name"
    assert form.get_by_role("button", name="Post comment").is_visible()
    expect_text(form.locator(".counter"), "Characters remaining: 2000")
    expect_text(form.locator("section.comments"), "No comments yet.")
    assert form.locator(".vimod").get_attribute("lang") == "en"
    assert page.problems == []


def test_nothing_inline_for_a_strict_csp() -> None:
    """embed.js builds everything with DOM calls: no markup strings, inline styles,
    inline handlers or eval (the host page's CSP in these tests would refuse them)."""
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "service" / "static" / "embed.js").read_text()
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   "new Function", ".style.", "setAttribute(\"style\"", "cssText"):
        assert banned not in source, banned


def test_demo_page(settings, engine, redis_client, sessions, chromium) -> None:  # noqa: ANN001
    """/demo (DEMO_PAGE on) embeds the form for the oldest site under the app's own CSP."""
    import threading

    from werkzeug.serving import make_server

    from service.app import create_app

    settings.secure_cookies = False
    settings.demo_page = True
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with sessions() as s:
        demo = create_site(s, "Demo site", allowed_origins=[base])
        create_site(s, "Another", allowed_origins=[])
        s.commit()
        public_key = demo.site.public_key
    context = chromium.new_context(base_url=base, locale="vi-VN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        response = page.goto("/demo")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.get_by_role("heading", name="Viết bình luận").wait_for()
        assert page.locator("h1").inner_text().startswith("Sơn Thủy khởi công")
        script = page.locator("script[data-site]")
        assert script.get_attribute("data-site") == public_key
        assert script.get_attribute("data-article-id") == "demo-1"
        page.locator("vimod-comments img.captcha-image").wait_for(state="visible")
        assert "chưa có trong danh sách" not in page.inner_text("body")
        assert problems == []
        assert page.goto("/demo?site=vmp_khong-co").status == 404
    finally:
        context.close()
        server.shutdown()
        app.extensions["vimod.engine"].dispose()
    settings.demo_page = False
    plain = create_app(settings)
    assert plain.test_client().get("/demo").status_code == 404  # off unless DEMO_PAGE
    plain.extensions["vimod.engine"].dispose()
