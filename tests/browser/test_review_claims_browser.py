"""Claims between two moderators in two browser contexts (#16 defect 5): the holder is
named, moving on or closing the tab lets the comment go, an admin takes it over and the
previous holder's decision is refused on a page of the app."""

from __future__ import annotations

import json

from service.storage import Comment, CommentStatus
from tests.browser.pages import sign_in
from tests.browser.test_review_browser import open_card
from tests.test_review import post_comment, ui  # noqa: F401 - the ui fixture

WAIT_MS = 10_000


def _holder(app, cid: int) -> str | None:  # noqa: ANN001
    raw = app.extensions["vimod.redis"].get(f"vimod:claim:{cid}")
    return json.loads(raw)["n"] if raw else None


def _wait_for_holder(app, page, cid: int, name: str | None) -> None:  # noqa: ANN001
    """Until Redis says `name` holds the comment (the page's requests are in flight)."""
    for _ in range(WAIT_MS // 50):
        if _holder(app, cid) == name:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"#{cid} held by {_holder(app, cid)!r}, not {name!r}")


def _moderators(chromium, live_server, second: str = "bientap_a2"):  # noqa: ANN001, ANN202
    contexts = [chromium.new_context(base_url=live_server, locale="vi-VN",
                                     viewport={"width": 1400, "height": 900}) for _ in range(2)]
    pages = [c.new_page() for c in contexts]
    problems: list[str] = []
    for p in pages:
        p.on("pageerror", lambda e: problems.append(str(e)))
        p.on("dialog", lambda d: d.accept())
    sign_in(pages[0], "bientap_a")
    sign_in(pages[1], second)
    return contexts, pages, problems


def test_holder_named_then_free_after_moving_on_or_closing(chromium, live_server, ui,  # noqa: ANN001, F811
                                                            resources) -> None:
    app, keys = ui
    ids = [post_comment(app, keys["a"][1], resources, f"Ý kiến số {i} về con đường Lê Lợi")
           for i in range(2)]
    contexts, (a, b), problems = _moderators(chromium, live_server)
    try:
        a.keyboard.press("j")
        first = open_card(a)
        _wait_for_holder(app, a, first, "bientap_a")
        b.goto(f"/review?c={first}")
        assert "Đang được bientap_a xử lý từ" in b.inner_text("#pane")
        assert b.locator("#pane form[data-approve]").count() == 0
        assert "bientap_a đang xử lý" in b.inner_text(f"ol.queue li[data-id='{first}']")
        # A moves to the next card: the first is free at once (no five minutes' wait).
        a.keyboard.press("j")
        a.wait_for_function(f"() => document.querySelector('#pane [data-comment]')"
                            f".dataset.comment !== '{first}'")
        second = open_card(a)
        _wait_for_holder(app, a, first, None)
        b.goto(f"/review?c={first}")
        assert "Đang được" not in b.inner_text("#pane")
        assert b.locator("#pane form[data-approve]").count() == 1
        # B leaves it; A closes the tab: the beacon lets A's card go.
        b.goto("/review")
        _wait_for_holder(app, b, first, None)
        assert _holder(app, second) == "bientap_a"
        a.close(run_before_unload=True)
        _wait_for_holder(app, b, second, None)
        b.reload()
        assert b.locator("ol.queue li.busy").count() == 0
        assert ids and problems == []
    finally:
        for c in contexts:
            c.close()


def test_admin_takes_over_and_the_holder_is_told(chromium, live_server, ui, resources,  # noqa: ANN001, F811
                                                  sessions) -> None:
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm chủ đầu tư")
    post_comment(app, keys["a"][1], resources, "Ý kiến khác về con đường Lê Lợi")
    contexts, (a, admin), problems = _moderators(chromium, live_server, "quantri")
    try:
        a.goto(f"/review?c={cid}")
        open_card(a)
        admin.goto(f"/review?c={cid}")
        assert "Đang được bientap_a xử lý từ" in admin.inner_text("#pane")
        asked: list[str] = []
        admin.on("dialog", lambda d: asked.append(d.message))
        admin.click("#pane [data-takeover] button")
        admin.wait_for_selector("#pane form[data-approve]")
        assert "Là quản trị viên" in asked[0]  # the reason, in the confirmation
        assert "nhận thay bientap_a" in admin.inner_text("#pane .flash.ok")
        assert "quantri nhận xử lý thay bientap_a" in admin.inner_text("#pane .log")
        assert _holder(app, cid) == "quantri"
        # A's decision, sent anyway, is refused where A is, saying who has the comment now.
        a.keyboard.press("a")
        a.wait_for_selector("#pane .flash.error")
        assert "quantri đã nhận xử lý thay bình luận" in a.inner_text("#pane .flash.error")
        assert "Đang được quantri xử lý từ" in a.inner_text("#pane")
        assert a.locator("#pane form[data-approve]").count() == 0
        assert "Redirecting" not in a.content()
        with sessions() as s:
            assert s.get(Comment, cid).status == CommentStatus.pending
        assert problems == []
    finally:
        for c in contexts:
            c.close()


def test_the_next_heartbeat_tells_the_previous_holder(chromium, live_server, ui,  # noqa: ANN001, F811
                                                      resources) -> None:
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm chủ đầu tư")
    contexts, (a, admin), problems = _moderators(chromium, live_server, "quantri")
    try:
        a.goto(f"/review?c={cid}")
        open_card(a)
        admin.goto(f"/review?c={cid}")
        admin.click("#pane [data-takeover] button")
        admin.wait_for_selector("#pane form[data-approve]")
        # The tab comes back into view: its heartbeat learns of the take-over at once.
        a.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        a.wait_for_selector("#pane .flash.warning:has-text('quantri đã nhận xử lý thay')")
        assert a.locator("#pane form[data-approve]").count() == 0
        assert problems == []
    finally:
        for c in contexts:
            c.close()


def test_the_list_and_a_held_card_follow_without_reload(chromium, live_server, ui,  # noqa: ANN001, F811
                                                        resources) -> None:
    """B's page follows A: the row greys out with A's name, and once A moves on the row is
    free again and B's card (held by A until then) becomes one B can decide — no reload."""
    app, keys = ui
    app.config["REVIEW_POLL_SECONDS"] = 1
    ids = [post_comment(app, keys["a"][1], resources, f"Ý kiến số {i} về con đường Lê Lợi")
           for i in range(3)]
    contexts, (a, b), problems = _moderators(chromium, live_server)
    try:
        b.goto("/review")  # B's list is drawn before A opens anything
        b.evaluate("window.__sameDocument = true")
        a.keyboard.press("j")
        first = open_card(a)
        row = f"ol.queue li[data-id='{first}']"
        b.wait_for_selector(f"{row}.busy [data-holder]:has-text('bientap_a đang xử lý')",
                            timeout=WAIT_MS)
        assert b.is_disabled(f"{row} input[type=checkbox]")
        # B opens it anyway: A's card, no decision; then A moves on.
        b.click(f"{row} a.row-link")
        b.wait_for_selector("#pane [data-held-by='bientap_a']")
        a.keyboard.press("j")
        b.wait_for_selector("#pane[data-pane] form[data-approve]", timeout=WAIT_MS)
        assert int(b.get_attribute("#pane [data-comment]", "data-comment")) == first
        b.wait_for_selector(f"{row}:not(.busy)", timeout=WAIT_MS)
        assert b.locator(f"{row} [data-holder]").count() == 0
        assert b.evaluate("window.__sameDocument === true")
        _wait_for_holder(app, b, first, "bientap_a2")  # B's card holds it now
        assert len(ids) == 3 and problems == []
    finally:
        for c in contexts:
            c.close()


def test_the_heartbeat_stops_when_nobody_is_at_the_keyboard(page, ui, resources) -> None:  # noqa: ANN001, F811
    """The page's clock is driven (no waiting): beats every 30 s while the moderator is
    around, none after 5 minutes without a key or a click, and again once they are back."""
    app, keys = ui
    post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm chủ đầu tư")
    beats: list[str] = []
    page.on("request", lambda r: beats.append(r.url) if r.url.endswith("/heartbeat") else None)
    page.clock.install()
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page)
    page.keyboard.press("j")
    open_card(page)
    with page.expect_request("**/heartbeat"):
        page.clock.run_for(31_000)
    page.clock.run_for(6 * 60_000)  # away from the keyboard
    before = len(beats)
    page.clock.run_for(2 * 60_000)  # four more intervals: no beat
    page.keyboard.press("Shift")  # back
    with page.expect_request("**/heartbeat"):
        page.clock.run_for(30_000)
    assert len(beats) == before + 1
    assert page.problems == []
