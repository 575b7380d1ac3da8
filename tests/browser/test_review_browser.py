"""A moderator works the queue in a real browser, from the keyboard."""

from __future__ import annotations

from sqlalchemy import select

from service.storage import Comment, CommentStatus, ModerationAction
from tests.browser.pages import sign_in
from tests.test_review import PASSWORD, XSS, post_comment, ui  # noqa: F401 - the ui fixture


def test_keyboard_only_queue(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    ids = [
        post_comment(app, key, resources, "Bai viet nay rat hay, cam on tac gia nhieu"),
        post_comment(app, key, resources, "Mong tỉnh sớm sửa con đường này ạ"),
        post_comment(app, key, resources, "Vay tiền nhanh lãi thấp, ib zalo 0912 345 678"),
    ]
    sign_in(page)
    assert page.locator("ol.queue li[data-href]").count() == 3
    # The spam comment (phone + classifier) is first by priority: reject it as spam.
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/*")
    first = int(page.url.rsplit("/", 1)[1])
    assert first == ids[2]
    page.keyboard.press("r")
    page.keyboard.type("s")  # jumps to "Spam, quảng cáo"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # submits from the note field
    page.wait_for_url(lambda url: not url.endswith(f"/review/{first}"))
    # Next: the "không dấu" comment — apply the suggested diacritics (d), approve (a).
    current = int(page.url.rsplit("/", 1)[1])
    if current != ids[0]:
        page.goto(f"/review/{ids[0]}")
    suggestion = page.inner_text("[data-suggestion]")
    page.keyboard.press("d")
    assert page.input_value("[data-editor]") == suggestion
    page.locator("body").click()  # leave the editor: keys are shortcuts again
    page.keyboard.press("a")
    page.wait_for_url(lambda url: not url.endswith(f"/review/{ids[0]}"))
    # The last one: approve as written, then undo it.
    page.goto(f"/review/{ids[1]}")
    with page.expect_navigation():
        page.keyboard.press("a")
    page.goto(f"/review/{ids[1]}")
    with page.expect_navigation():
        page.keyboard.press("u")
    assert "Đã hoàn tác" in page.inner_text("body")
    with sessions() as s:
        spam, unmarked, plain = (s.get(Comment, i) for i in (ids[2], ids[0], ids[1]))
        assert spam.status == CommentStatus.rejected
        assert unmarked.status == CommentStatus.approved
        assert unmarked.body_published == suggestion
        assert suggestion.startswith("Bài viết này rất hay")
        assert plain.status == CommentStatus.pending  # undone
        reasons = [a.reason for a in s.scalars(select(ModerationAction).where(
            ModerationAction.comment_id == ids[2], ModerationAction.user_id.is_not(None)))]
        assert reasons == ["spam"]
    assert page.dialogs == []


def test_xss_body_stays_inert(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, XSS)
    sign_in(page)
    page.goto(f"/review/{cid}")
    page.wait_for_load_state("networkidle")
    assert page.dialogs == []
    assert "<script>alert(1)</script>" in page.inner_text(".body")
    assert page.locator(".body script, .body img, .body a").count() == 0


def test_claim_conflict_between_two_moderators(chromium, live_server, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Cần làm rõ trách nhiệm chủ đầu tư")
    contexts = [chromium.new_context(base_url=live_server) for _ in range(2)]
    try:
        first, second = (c.new_page() for c in contexts)
        sign_in(first, "bientap_a")
        sign_in(second, "bientap_a2")
        first.goto(f"/review/{cid}")
        second.goto(f"/review/{cid}")
        assert "đang được người khác xử lý" in second.inner_text("main")
        assert second.locator("form[data-approve]").count() == 0
        assert first.locator("form[data-approve]").count() == 1
    finally:
        for c in contexts:
            c.close()


def test_bulk_reject_from_the_keyboard(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    ids = [post_comment(app, keys["a"][1], resources, f"Mua ngay khuyến mãi lớn số {i}")
           for i in range(3)]
    sign_in(page)
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.select_option("select[name=reason]", "spam")
    with page.expect_navigation():
        page.click("button[value=reject]")
    assert "Đã từ chối 2 bình luận" in page.inner_text("body")
    with sessions() as s:
        statuses = sorted(s.get(Comment, i).status for i in ids)
    assert statuses == [CommentStatus.pending, CommentStatus.rejected, CommentStatus.rejected]


def test_new_arrivals_appear_without_reload(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    app.config["REVIEW_POLL_SECONDS"] = 1
    first = post_comment(app, keys["a"][1], resources, "Mong tỉnh sớm sửa con đường này ạ")
    sign_in(page)
    assert page.locator("ol.queue li[data-href]").count() == 1
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    arrived = post_comment(app, keys["a"][1], resources, XSS)
    page.wait_for_selector(f'ol.queue li[data-id="{arrived}"].new', timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("ol.queue li[data-href]").count() == 2
    assert page.inner_text('[data-count="pending"]') == "2"
    assert page.locator("ol.queue script, ol.queue img").count() == 0
    assert page.inner_text("[data-arrivals-note]") == "1 bình luận mới ở đầu danh sách."
    assert page.dialogs == []
    # The moderator's place is kept: the selected row is still the one they were on.
    assert page.get_attribute("ol.queue li.selected", "data-id") == str(first)
    page.keyboard.press("k")  # the new row sits above it
    assert page.get_attribute("ol.queue li.selected", "data-id") == str(arrived)


def test_help_overlay(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    post_comment(app, keys["a"][1], resources, "Cảm ơn phóng viên")
    sign_in(page)
    page.keyboard.press("?")
    assert page.locator("dialog[data-help]").is_visible()
    assert "hoàn tác" in page.inner_text("dialog[data-help]")
    page.keyboard.press("j")  # ignored while the overlay is up
    page.keyboard.press("Escape")
    assert not page.locator("dialog[data-help]").is_visible()
    assert page.dialogs == []


def test_queue_in_english(page, ui, resources) -> None:  # noqa: ANN001, F811
    """The header's switch; the notes review.js writes come from the page in English."""
    app, keys = ui
    app.config["REVIEW_POLL_SECONDS"] = 1
    post_comment(app, keys["a"][1], resources, "Vay tiền nhanh, ib zalo 0912 345 678")
    sign_in(page)
    with page.expect_navigation():
        page.click("button[name=lang][value=en]")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("nav.tabs a.active").startswith("Pending")
    assert page.inner_text("ol.queue .flag[data-flag=phone]") == "Phone number"
    arrived = post_comment(app, keys["a"][1], resources, "Một bình luận mới")
    page.wait_for_selector(f'ol.queue li[data-id="{arrived}"].new', timeout=10_000)
    assert page.inner_text("[data-arrivals-note]") == "1 new comment at the top of the list."
    assert page.inner_text(f'ol.queue li[data-id="{arrived}"] .same-article') == "same article"
    page.keyboard.press("?")
    help_text = page.inner_text("dialog[data-help]")
    assert "Keyboard shortcuts" in help_text and "undo your last decision" in help_text
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/*")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("form[data-approve] button[type=submit]") == "Approve (a)"
    assert page.dialogs == []
