"""In Chromium: a name that starts with a right-to-left override (stored before the intake
refused them) no longer reverses the rest of its queue row."""

from __future__ import annotations

from sqlalchemy import update

from service.storage import Article, Comment, CommentStatus
from tests.browser.pages import sign_in
from tests.test_review import post_comment, ui  # noqa: F401 - the ui fixture

TITLE = "Tin tức hôm nay"


def test_a_reversed_name_leaves_the_rest_of_the_row_readable(page, ui, resources,  # noqa: ANN001, F811
                                                             sessions) -> None:
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Mong tỉnh sớm sửa con đường này ạ")
    with sessions() as s:
        comment = s.get(Comment, cid)
        s.execute(update(Comment).where(Comment.id == cid).values(
            author_name="\u202eNguyễn Lan", status=CommentStatus.pending))
        s.execute(update(Article).where(Article.id == comment.article_id).values(title=TITLE))
        s.commit()
    sign_in(page)
    # Where the title's first and last letters are drawn: reversed, the first is rightmost.
    first, last = page.locator(f"li[data-id='{cid}'] .meta").evaluate("""(meta, title) => {
        const walker = document.createTreeWalker(meta, NodeFilter.SHOW_TEXT);
        for (let node; (node = walker.nextNode());) {
            const at = node.data.indexOf(title);
            if (at < 0) continue;
            const left = (i) => {
                const r = document.createRange();
                r.setStart(node, i);
                r.setEnd(node, i + 1);
                return r.getBoundingClientRect().left;
            };
            return [left(at), left(at + title.length - 1)];
        }
        return [null, null];
    }""", TITLE)
    assert first is not None and first < last, (first, last)
    assert page.problems == [] and page.dialogs == []
