"""A moderator works the queue in a real browser, from the keyboard: the two-pane workspace
(the list on the left, the open comment on the right), decisions in place, the undo toast,
the view kept through every decision, numbered reasons, and no dead ends."""

from __future__ import annotations

import re

from sqlalchemy import select

from service.storage import Comment, CommentStatus, ModerationAction
from tests.browser.pages import sign_in
from tests.test_review import XSS, post_comment, ui  # noqa: F401 - the ui fixture
from tests.test_review_card_and_arrivals import post

UNMARKED = "Bai viet nay rat hay, cam on tac gia nhieu"
PLAIN = "Mong tỉnh sớm sửa con đường này ạ"
SPAM = "Vay tiền nhanh lãi thấp, ib zalo 0912 345 678"


def open_card(page) -> int:  # noqa: ANN001
    """The comment open in the right pane."""
    page.wait_for_selector("#pane [data-comment]")
    return int(page.get_attribute("#pane [data-comment]", "data-comment"))


def wait_for_card(page, previous: int) -> int:  # noqa: ANN001
    """After a decision: the pane shows another comment (or says the view is done)."""
    page.wait_for_function(
        "prev => { const c = document.querySelector('#pane [data-comment]');"
        " return (c && c.dataset.comment !== String(prev))"
        " || document.querySelector('#pane [data-queue-done]'); }", arg=previous)
    card = page.query_selector("#pane [data-comment]")
    return int(card.get_attribute("data-comment")) if card else 0


def same_document(page) -> None:  # noqa: ANN001
    page.evaluate("window.__sameDocument = true")


def still_same_document(page) -> bool:  # noqa: ANN001
    return page.evaluate("window.__sameDocument === true")


def test_the_keyboard_loop_in_two_panes(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    ids = {"unmarked": post_comment(app, key, resources, UNMARKED),
           "plain": post_comment(app, key, resources, PLAIN),
           "spam": post_comment(app, key, resources, SPAM)}
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page)
    same_document(page)
    assert page.locator("ol.queue li[data-id]").count() == 3
    page.keyboard.press("j")  # the first row (riskiest: the spam) opens beside the list
    first = open_card(page)
    assert first == ids["spam"]
    assert page.url.endswith(f"/review?c={first}")
    # r, then the reason's number: 2 = "Spam, quảng cáo" (the same number in every language).
    page.keyboard.press("r")
    page.keyboard.press("2")
    second = wait_for_card(page, first)
    assert page.inner_text("#toast [data-toast-text]") == f"Đã từ chối #{first}"
    assert page.locator(f"ol.queue li[data-id='{first}']").count() == 0  # gone from the list
    # The unmarked one: the suggested diacritics into the editor, leave it, approve.
    if second != ids["unmarked"]:
        page.keyboard.press("j")
        page.wait_for_function(
            f"() => document.querySelector('#pane [data-comment]').dataset.comment == "
            f"'{ids['unmarked']}'")
    suggestion = page.inner_text("#pane [data-suggestion]")
    page.keyboard.press("d")
    assert page.input_value("[data-editor]") == suggestion
    page.keyboard.press("a")
    wait_for_card(page, ids["unmarked"])
    assert still_same_document(page)  # every decision was made in place
    with sessions() as s:
        spam, unmarked = s.get(Comment, ids["spam"]), s.get(Comment, ids["unmarked"])
        assert spam.status == CommentStatus.rejected
        assert unmarked.status == CommentStatus.approved and unmarked.body_published == suggestion
        assert suggestion.startswith("Bài viết này rất hay")
        reasons = [a.reason for a in s.scalars(select(ModerationAction).where(
            ModerationAction.comment_id == ids["spam"], ModerationAction.user_id.is_not(None)))]
        assert reasons == ["spam"]
    assert page.dialogs == [] and page.problems == []


def test_undo_targets_the_decision_after_the_jump(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """After `a` the pane jumps to the next card; `u` undoes the approval just made, not
    something about the card now open (before: a 409 and a bare "Redirecting…" page)."""
    app, keys = ui
    ids = [post_comment(app, keys["a"][1], resources, f"Ý kiến số {i} về con đường Lê Lợi")
           for i in range(3)]
    sign_in(page)
    page.keyboard.press("j")
    decided = open_card(page)
    page.keyboard.press("a")
    now_open = wait_for_card(page, decided)
    assert now_open != decided
    assert page.inner_text("#toast [data-toast-text]") == f"Đã duyệt #{decided}"
    page.keyboard.press("u")
    page.wait_for_url(re.compile(rf"[?&]c={decided}\b"))
    page.wait_for_selector(f"#pane [data-comment='{decided}']")
    assert f"Đã hoàn tác: #{decided}" in page.inner_text(".flashes")
    # The comment is back as it was: pending, in the list it left, decidable again.
    assert page.locator(f"ol.queue li[data-id='{decided}']").count() == 1
    assert page.locator("#pane form[data-approve]").is_visible()
    assert "Chờ duyệt" in page.inner_text("#pane .meta")
    with sessions() as s:
        assert s.get(Comment, decided).status == CommentStatus.pending
        assert s.get(Comment, now_open).status == CommentStatus.pending
    # The toast is gone: nothing left to undo.
    assert page.locator("#toast").is_hidden()
    assert len(ids) == 3 and page.problems == [] and page.dialogs == []


def test_the_view_travels_through_ten_decisions(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """Working "Không dấu", least certain first: every next card is one of that view
    (before: the next card came from the whole queue, in default order)."""
    app, keys = ui
    key = keys["a"][1]
    unmarked = [post_comment(app, key, resources, f"Toi thay bai viet so {i} rat dung, cam on bao")
                for i in range(12)]
    marked = [post_comment(app, key, resources, f"Vay tiền nhanh số {i}, ib zalo 0912 345 67{i}")
              for i in range(3)]
    sign_in(page)
    page.goto("/review?flag=missing_diacritics&order=uncertain")
    assert page.locator("ol.queue li[data-id]").count() == 12
    page.keyboard.press("j")
    seen = [open_card(page)]
    for n in range(10):
        if n % 2:
            page.keyboard.press("r")
            page.keyboard.press("1")  # "Viết không dấu"
        else:
            page.keyboard.press("a")
        seen.append(wait_for_card(page, seen[-1]))
        assert "flag=missing_diacritics" in page.url and "order=uncertain" in page.url
    assert set(seen) <= set(unmarked) and len(set(seen)) == 11
    with sessions() as s:
        assert all(s.get(Comment, i).status == CommentStatus.pending for i in marked)
        decided = [s.get(Comment, i).status for i in seen[:10]]
    assert decided.count(CommentStatus.approved) == 5 and decided.count(CommentStatus.rejected) == 5
    assert page.problems == []


def test_reason_numbers_mean_the_same_in_both_languages(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """Picking by first letter recorded the wrong reason ("k": "Kích động" before "Khác";
    "i": "Insulting" and "Incitement" in English). A number means one reason everywhere."""
    app, keys = ui
    ids = [post_comment(app, keys["a"][1], resources, f"Đồ ngu, cút đi số {i}") for i in range(2)]
    sign_in(page)
    page.goto(f"/review?c={ids[0]}")
    vi = page.eval_on_selector_all("#pane [data-reason-key]",
                                   "bs => bs.map(b => [b.dataset.reasonKey, b.value])")
    with page.expect_navigation():
        page.click("button[name=lang][value=en]")
    page.goto(f"/review?c={ids[0]}")
    en = page.eval_on_selector_all("#pane [data-reason-key]",
                                   "bs => bs.map(b => [b.dataset.reasonKey, b.value])")
    assert vi == en and len(vi) == 7 and ["3", "offensive"] in vi
    assert "Insulting, vulgar" in page.inner_text("#pane [data-reason-key='3']")
    page.keyboard.press("r")
    page.keyboard.press("3")
    wait_for_card(page, ids[0])
    with sessions() as s:
        action = s.scalars(select(ModerationAction).where(
            ModerationAction.comment_id == ids[0], ModerationAction.user_id.is_not(None))).one()
        assert action.reason == "offensive"


def test_a_note_then_the_reason(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, SPAM)
    sign_in(page)
    page.goto(f"/review?c={cid}")
    page.fill("#pane input[name=note]", "quảng cáo vay tiền")
    page.keyboard.press("Enter")  # leaves the note: the next number sends both
    page.keyboard.press("2")
    wait_for_card(page, cid)
    with sessions() as s:
        action = s.scalars(select(ModerationAction).where(
            ModerationAction.comment_id == cid, ModerationAction.user_id.is_not(None))).one()
        assert action.reason == "spam: quảng cáo vay tiền"


def test_errors_end_on_a_page_of_the_app(chromium, live_server, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """A decision someone else made first, a bulk action without a reason, an undo that
    came too late: each says what happened where the moderator is (before: a 409 or 400
    with a Location header, which browsers show as a bare English "Redirecting…")."""
    app, keys = ui
    ids = [post_comment(app, keys["a"][1], resources, f"Ý kiến số {i} về giá xăng")
           for i in range(3)]
    contexts = [chromium.new_context(base_url=live_server, locale="vi-VN") for _ in range(2)]
    try:
        first, second = (c.new_page() for c in contexts)
        sign_in(first, "bientap_a")
        sign_in(second, "quantri")
        first.goto(f"/review?c={ids[0]}")
        # The first moderator's claim lapses; an admin opens the comment and approves it.
        app.extensions["vimod.redis"].delete(f"vimod:claim:{ids[0]}")
        second.goto(f"/review/{ids[0]}")
        second.click("form[data-approve] button.approve")
        second.wait_for_selector("#toast:not([hidden])")
        with sessions() as s:
            assert s.get(Comment, ids[0]).status == CommentStatus.approved
        first.keyboard.press("r")
        first.keyboard.press("2")
        first.wait_for_selector("#pane .flash.error")
        assert "đã được xử lý" in first.inner_text("#pane .flash.error")
        assert "Redirecting" not in first.content()
        # Bulk without a reason: back on the queue, saying so.
        first.goto("/review")
        first.check("ol.queue li:not(.busy) input[type=checkbox]")
        with first.expect_navigation():
            first.click("[data-bulk] button[value=reject]")
        assert "Hãy chọn lý do từ chối" in first.inner_text(".flashes")
        assert first.url.endswith("/review")
    finally:
        for c in contexts:
            c.close()


def test_one_pane_on_a_phone(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, PLAIN)
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page)
    assert page.locator(".card-pane").is_hidden()
    no_sideways = "() => document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_sideways)  # the header bar wraps instead of overflowing
    with page.expect_navigation():
        page.click(f"ol.queue li[data-id='{cid}'] a.row-link")
    assert page.locator(".queue-pane").is_hidden()
    assert page.locator("#pane [data-comment]").is_visible()
    assert page.evaluate(no_sideways)
    with page.expect_navigation():
        page.click(".back-to-list a")
    assert page.locator(".queue-pane").is_visible()


def test_quick_actions_palette(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    mine = post_comment(app, keys["a"][1], resources, PLAIN)
    post(app, keys["a"][1], resources, SPAM, **{"author.email": "khac@example.vn"})
    sign_in(page)
    page.goto(f"/review?c={mine}")
    page.keyboard.press("Control+k")
    assert page.locator("dialog[data-palette]").is_visible()
    page.keyboard.type("loc nguoi viet")  # typed without marks: "Lọc theo người viết này"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "author=lan.nguyen@example.vn" in page.url
    assert [int(i) for i in page.eval_on_selector_all(
        "ol.queue li[data-id]", "lis => lis.map(l => l.dataset.id)")] == [mine]


def test_xss_body_stays_inert(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, XSS)
    sign_in(page)
    page.goto(f"/review?c={cid}")
    page.wait_for_load_state("networkidle")
    assert page.dialogs == []
    assert "<script>alert(1)</script>" in page.inner_text("#pane .body")
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
        assert "Đang được bientap_a xử lý từ" in second.inner_text("main")
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
    assert page.inner_text("[data-selected-count]") == "2"
    page.keyboard.press("r")
    with page.expect_navigation():
        page.keyboard.press("2")
    assert "Đã từ chối 2 bình luận" in page.inner_text("body")
    with sessions() as s:
        statuses = sorted(s.get(Comment, i).status for i in ids)
    assert statuses == [CommentStatus.pending, CommentStatus.rejected, CommentStatus.rejected]


def test_new_arrivals_appear_without_reload(page, ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    app.config["REVIEW_POLL_SECONDS"] = 1
    first = post_comment(app, keys["a"][1], resources, PLAIN)
    sign_in(page)
    assert page.locator("ol.queue li[data-href]").count() == 1
    same_document(page)
    arrived = post_comment(app, keys["a"][1], resources, XSS)
    page.wait_for_selector(f'ol.queue li[data-id="{arrived}"].new', timeout=10_000)
    assert still_same_document(page)
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
    assert page.locator("#pane [data-comment]").count() == 0
    assert page.dialogs == []


def test_queue_in_english(page, ui, resources) -> None:  # noqa: ANN001, F811
    """The header's switch; the notes review.js writes come from the page in English."""
    app, keys = ui
    app.config["REVIEW_POLL_SECONDS"] = 1
    post_comment(app, keys["a"][1], resources, SPAM)
    sign_in(page)
    with page.expect_navigation():
        page.click("button[name=lang][value=en]")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("nav.tabs a.active").startswith("Pending")
    assert page.inner_text("ol.queue .flag[data-flag=phone]") == "Phone number"
    arrived = post_comment(app, keys["a"][1], resources, "Một bình luận mới")
    page.wait_for_selector(f'ol.queue li[data-id="{arrived}"].new', timeout=10_000)
    assert page.inner_text("[data-arrivals-note]") == "1 new comment at the top of the list."
    page.keyboard.press("?")
    help_text = page.inner_text("dialog[data-help]")
    assert "Keyboard shortcuts" in help_text and "undo your last decision" in help_text
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    open_card(page)
    assert page.get_attribute("html", "lang") == "en"
    assert re.sub(r"\s+", " ", page.inner_text("#pane form[data-approve] button.approve")) \
        == "Approve a"
    assert page.dialogs == []


def test_escalate_with_the_key_then_a_senior_editor_rejects(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """Issue 16: `s` and a note hand the open comment to a senior editor (it leaves Pending);
    the senior editor finds it in "Chờ cấp trên", reads the note and rejects it."""
    from service.accounts import create_user
    from service.storage import AuditEntry

    app, keys = ui
    with sessions() as s:
        create_user(s, "captren_a", "senior", "mật-khẩu-thử-123", [keys["a"][0]])
        s.commit()
    key = keys["a"][1]
    posted = {post_comment(app, key, resources, "Ông chủ tịch xã này tham nhũng, ai cũng biết"),
              post_comment(app, key, resources, PLAIN)}
    note = "Có thể vu khống, nhờ anh xem"
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page)
    page.keyboard.press("j")
    escalated = open_card(page)
    page.keyboard.press("s")
    assert page.evaluate("document.activeElement.name") == "note"
    page.keyboard.type(note)
    page.keyboard.press("Enter")
    rest = wait_for_card(page, escalated)
    assert rest == (posted - {escalated}).pop()
    assert page.locator(f"ol.queue li[data-id='{escalated}']").count() == 0  # left Pending
    assert page.inner_text("[data-count='escalated']") == "1"
    assert page.inner_text("[data-count='pending']") == "1"
    assert f"#{escalated} đang chờ cấp trên" in page.inner_text("#pane")
    # The senior editor: the Escalated tab, the note, r 3 ("Xúc phạm, thô tục").
    page.context.clear_cookies()
    sign_in(page, "captren_a")
    page.click("[data-tab='escalated']")
    page.wait_for_url("**/review?tab=escalated")
    assert page.locator("ol.queue li[data-id]").count() == 1
    page.keyboard.press("j")
    assert open_card(page) == escalated
    assert page.inner_text("#pane [data-escalation-note]") == note
    assert "bientap_a" in page.inner_text("#pane [data-escalation]")
    page.keyboard.press("r")
    page.keyboard.press("3")
    wait_for_card(page, escalated)
    assert page.inner_text("#toast [data-toast-text]") == f"Đã từ chối #{escalated}"
    assert page.inner_text("[data-count='escalated']") == "0"
    with sessions() as s:
        comment = s.get(Comment, escalated)
        assert comment.status == CommentStatus.rejected and comment.escalated_at is None
        actions = [e.action for e in s.scalars(select(AuditEntry).where(
            AuditEntry.target_id == str(escalated)).order_by(AuditEntry.id))]
        assert actions == ["comment.escalate", "comment.escalation_resolve"]
    assert page.dialogs == [] and page.problems == []


def test_search_without_accents_finds_the_accented_comment(page, ui, resources) -> None:  # noqa: ANN001, F811
    """Typing "xang" (no accents, as on a keyboard without a Vietnamese input method) in the
    workspace search finds "xăng" (#16 defect 6: before, nothing)."""
    app, keys = ui
    key = keys["a"][1]
    fuel = post_comment(app, key, resources, "Giá XĂNG lại tăng, dân khổ quá")
    post_comment(app, key, resources, PLAIN)
    post_comment(app, key, resources, SPAM)
    sign_in(page)
    assert page.locator("ol.queue li[data-id]").count() == 3
    page.keyboard.press("/")
    page.keyboard.type("xang")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=xang"))
    rows = page.locator("ol.queue li[data-id]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-id") == str(fuel)
    assert "Giá XĂNG lại tăng" in rows.first.inner_text()
    assert page.input_value("[data-search]") == "xang"
    assert page.dialogs == [] and page.problems == []
