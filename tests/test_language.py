"""Other languages (#17 item 2): a comment that is not Vietnamese is not scored by the
Vietnamese classifier; it is flagged `foreign_language`, never spam on the model's word, while
the rules (phones, links) still catch English ads. Mixed and unaccented Vietnamese are
Vietnamese and scored. The card says why a comment has no score."""

from __future__ import annotations

import pytest

from models.language import identify
from service.storage import Comment, CommentStatus
from tests.admin.test_models_admin import registry, tiny_models  # noqa: F401 - fixtures
from tests.helpers import headers, payload, set_settings
from tests.language_samples import ENGLISH_CLEAN, ENGLISH_SPAM, MIXED, UNACCENTED
from tests.test_review import login, ui  # noqa: F401 - the ui fixture
from tests.test_review_i18n import to_english
from workers.tasks import process_comment_now


def analysed(client, key: str, resources, sessions, body: str, n: int = 0) -> Comment:  # noqa: ANN001
    # A different author each time: the repeat checks are not what is tested here.
    r = client.post("/api/v1/comments", headers=headers(key), json=payload(
        body=body, **{"author.email": f"doc.gia{n}@example.vn", "author.name": f"Độc giả {n}"}))
    assert r.status_code == 202, r.json
    process_comment_now(resources, r.json["id"])
    with sessions() as s:
        return s.get(Comment, r.json["id"])


@pytest.mark.parametrize("text", ENGLISH_CLEAN + ENGLISH_SPAM)
def test_english_is_identified(text: str) -> None:
    assert identify(text).language == "en"


@pytest.mark.parametrize("text", MIXED + UNACCENTED)
def test_mixed_and_unaccented_stay_vietnamese(text: str) -> None:
    assert identify(text).is_vietnamese


@pytest.mark.parametrize(("text", "language"), [
    ("谢谢分享这篇文章", "zh"), ("Спасибо за интересную статью", "ru"),
    ("기사 잘 읽었습니다 감사합니다", "ko"), ("Very good", "en"),
    ("Thanks", "vi"), ("ok ok ok ok", "vi"),  # too little to go on
    ("Bdjdjsdnjdej jjsjn djsjsns", "vi"),  # keyboard mashing stays with the model (spam)
])
def test_other_scripts(text: str, language: str) -> None:
    assert identify(text).language == language


def test_english_clean_comments_are_never_spam(client, site, sessions, resources) -> None:  # noqa: ANN001
    site_id, key = site
    # A site that rejects spam automatically, trusting the classifier.
    set_settings(sessions, site_id, auto_reject={"spam": 0.5, "hate": 0.5, "offensive": 0.5})
    for n, text in enumerate(ENGLISH_CLEAN):
        c = analysed(client, key, resources, sessions, text, n)
        assert c.status == CommentStatus.pending, (text, c.analysis)
        flags = c.analysis["flags"]
        assert "foreign_language" in flags, text
        assert not {"spam", "offensive", "hate"} & set(flags), (text, flags)
        assert "scores" not in c.analysis and "risk" not in c.analysis
        assert c.model_version is None and c.certainty is None
        phase = c.analysis["phases"]["classifier"]
        assert phase["language"] == "en" and phase["scored"] is False


def test_foreign_comment_is_not_auto_approved(client, site, sessions, resources) -> None:  # noqa: ANN001
    site_id, key = site
    # Pre-moderation off: an unscored comment still waits for a moderator.
    set_settings(sessions, site_id, premoderation=False)
    c = analysed(client, key, resources, sessions, ENGLISH_CLEAN[0])
    assert c.status == CommentStatus.pending
    vn = analysed(client, key, resources, sessions, "Cảm ơn tác giả, bài viết rất hay", 1)
    assert vn.status == CommentStatus.auto_approved  # the same site, a Vietnamese comment


def test_english_spam_still_caught_by_rules(client, site, sessions, resources) -> None:  # noqa: ANN001
    _, key = site
    phone, link = (analysed(client, key, resources, sessions, t, n)
                   for n, t in enumerate(ENGLISH_SPAM))
    assert {"foreign_language", "phone"} <= set(phone.analysis["flags"])
    assert {"foreign_language", "link"} <= set(link.analysis["flags"])
    assert phone.priority >= 3 and link.priority >= 2


@pytest.mark.parametrize("text", MIXED[:3] + UNACCENTED[:3])
def test_mixed_and_unaccented_are_scored(client, site, sessions, resources, text: str) -> None:  # noqa: ANN001
    _, key = site
    c = analysed(client, key, resources, sessions, text)
    assert "foreign_language" not in c.analysis["flags"]
    assert set(c.analysis["scores"]) == {"clean", "spam", "offensive", "hate"}
    assert c.model_version == "default"


def test_card_says_why_there_is_no_score(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = analysed(app.test_client(), keys["a"][1], resources, sessions, ENGLISH_CLEAN[1])
    vn = analysed(app.test_client(), keys["a"][1], resources, sessions,
                  "Bài này hay quá, thanks ad", 1)
    client = app.test_client()
    login(client, "bientap_a")
    html = client.get(f"/review/{c.id}").get_data(as_text=True)
    assert ('<p class="language hint" data-language="en">Bình luận không phải tiếng Việt '
            '(tiếng Anh): bộ phân loại chỉ đọc tiếng Việt nên không chấm điểm.</p>') in html
    assert '<table class="scores">' not in html
    assert '<span class="flag" data-flag="foreign_language" title="foreign_language">' \
        'Không phải tiếng Việt</span>' in html
    # The queue can be filtered by it.
    queue = client.get("/review?flag=foreign_language").get_data(as_text=True)
    assert f'name="ids" value="{c.id}"' in queue and f'name="ids" value="{vn.id}"' not in queue
    other = client.get(f"/review/{vn.id}").get_data(as_text=True)
    assert 'class="language hint"' not in other and '<table class="scores">' in other
    to_english(client)
    html = client.get(f"/review/{c.id}").get_data(as_text=True)
    assert ("Not Vietnamese (English): no category score from the classifier, which reads "
            "Vietnamese only.") in html


@pytest.mark.parametrize("text", [
    "Bài viết rất hữu ích, cảm ơn tác giả đã tổng hợp thông tin",  # the fast path
    "Thanks tác giả, bài viết rất hữu ích cho mình 👍",  # emoji: counted
    "From Cà Mau. With Love", "谢谢分享这篇文章 rất hay", "Спасибо, bài viết hay",
] + ENGLISH_CLEAN[:3] + MIXED + UNACCENTED[:3])
def test_fast_path_answers_as_the_vote_count(text: str) -> None:
    from models.language import _count_votes

    assert identify(text).language == _count_votes(text).language


def test_shadow_model_does_not_score_foreign_comments(registry) -> None:  # noqa: ANN001, F811
    from models.classifier.registry import clear_cache
    from tests.admin.test_models_admin import FULL
    from workers.pipeline import classifier
    from workers.pipeline.context import CommentContext

    texts = [ENGLISH_CLEAN[0], "Bài viết rất hay, cảm ơn tác giả"]
    ctxs = [CommentContext(comment_id=i, site_id=1, body=t, author_name="Lan",
                           author_email="lan@example.vn", client_ip=None, site_settings={})
            for i, t in enumerate(texts, 1)]
    registry.set_shadow(FULL)
    clear_cache()
    foreign, vietnamese = classifier.run(ctxs, list(texts))
    assert foreign.scores is None and "shadow" not in foreign.data
    assert foreign.flags == ["foreign_language"]
    assert vietnamese.data["shadow"]["version"] == FULL
