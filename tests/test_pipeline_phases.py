"""The moderation phases on real Vietnamese examples, through the real task logic
(database and Redis are real; no Celery needed: the pipeline is plain code)."""

from __future__ import annotations

import pytest

from models.contacts import find_contacts
from models.wordlists import BANNED, SUSPECT, Entry, WordMatcher, builtin_entries
from service.storage import Comment, CommentStatus, WordListEntry
from tests.helpers import headers, payload, set_settings
from workers.pipeline import CommentContext, PhaseResult
from workers.pipeline.policy import decide, failed_outcome
from workers.tasks import process_comment_now


def submit(client, key, body: str, **changes) -> int:  # noqa: ANN001, ANN003
    r = client.post("/api/v1/comments", json=payload(body=body, **changes), headers=headers(key))
    assert r.status_code == 202, r.json
    return r.json["id"]


def analysed(resources, sessions, cid: int) -> Comment:  # noqa: ANN001
    process_comment_now(resources, cid)
    with sessions() as s:
        return s.get(Comment, cid)



# --- contacts -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Vay tiền nhanh lãi thấp, ib zalo 0912 345 678 nhé", ["phone"]),
        ("LH: O9l2.345.678 hoặc +84 912345678", ["phone", "phone"]),
        ("Gọi 028 3829 1234 giờ hành chính", ["phone"]),
        ("xem tại https://bit.ly/vay-nhanh hoặc t.me/vaynhanh24h", ["url", "url"]),
        ("gửi hồ sơ về hotro.vay@gmail.com", ["email"]),
        ("tele: @vaytien24h, zalo: vaytien.24h", ["handle", "handle"]),
        ("Năm 2024 tỉnh có 1.234.567 dân, tăng 0,5% so với 2023", []),
        ("fb của tôi bị khóa rồi, ko vào được", []),
        ("Đường dây nóng 1900 1234 của tỉnh", []),  # a hotline, not a mobile number
    ],
)
def test_contact_detection(text: str, kinds: list[str]) -> None:
    assert [c.kind for c in find_contacts(text)] == kinds


def test_phone_spam_flagged_with_spans(client, site, sessions, resources) -> None:  # noqa: ANN001
    _, key = site
    body = "Cần vay tiền gấp? Giải ngân trong ngày, liên hệ zalo 0987.654.321"
    c = analysed(resources, sessions, submit(client, key, body))
    assert "phone" in c.analysis["flags"]
    [span] = [s for s in c.analysis["spans"] if s["phase"] == "contacts"]
    assert c.body_normalized[span["start"]:span["end"]] == "0987.654.321"
    assert c.priority >= 3


# --- word lists -------------------------------------------------------------------------

MATCHER = WordMatcher(builtin_entries())


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Đ.m thằng này nói láo", [("Đ.m", BANNED)]),
        ("d!t me may", [("d!t me may", BANNED)]),
        ("đ i t con mẹ mày", [("đ i t", BANNED), ("con mẹ mày", BANNED)]),
        ("ĐỊT MẸ bọn lừa đảo", [("ĐỊT MẸ", BANNED)]),
        ("vcl luôn, chán thật", [("vcl", BANNED)]),
        ("Các bạn ơi, lớn lên con sẽ hiểu", []),  # "các", "lớn" are not "cac", "lon"
        ("cac ban oi lon len", [("cac", SUSPECT), ("lon", SUSPECT)]),  # ambiguous unmarked
        ("Cái lồng chim đẹp quá", [("lồng", SUSPECT)]),
        ("Hôm nay trời đẹp, cảm ơn tác giả", []),
    ],
)
def test_word_list_matching(text: str, found: list[tuple[str, str]]) -> None:
    assert [(m.text, m.entry.kind) for m in MATCHER.find(text)] == found


def test_accent_insensitive_entries_on_request() -> None:
    strict = WordMatcher([Entry("lừa đảo", SUSPECT)])
    loose = WordMatcher([Entry("lừa đảo", SUSPECT, accent_insensitive=True)])
    assert strict.find("bon lua dao") == []
    assert [m.text for m in loose.find("bon lua dao, bọn lừa đảo")] == ["lua dao", "lừa đảo"]


def test_site_word_list_from_database(client, site, sessions, resources) -> None:  # noqa: ANN001
    site_id, key = site
    with sessions() as s:
        s.add(WordListEntry(site_id=site_id, kind=BANNED, phrase="bán hàng online"))
        s.commit()
    c = analysed(resources, sessions, submit(client, key, "Shop BÁN HÀNG ONLINE giá rẻ"))
    assert "banned_word" in c.analysis["flags"]
    assert c.analysis["phases"]["wordlists"]["matches"][0]["source"] == "site"
    assert c.status == CommentStatus.pending  # flagged, not rejected: the site did not opt in


def test_banned_word_auto_reject_when_site_opts_in(client, site, sessions, resources) -> None:  # noqa: ANN001
    site_id, key = site
    set_settings(sessions, site_id, auto_reject_banned=True)
    c = analysed(resources, sessions, submit(client, key, "Đ.m bọn tham nhũng"))
    assert c.status == CommentStatus.auto_rejected
    assert c.analysis["decision"]["phase"] == "wordlists"
    clean = analysed(resources, sessions, submit(client, key, "Bài viết hay, cảm ơn tác giả"))
    assert clean.status == CommentStatus.pending


# --- repeats and floods -----------------------------------------------------------------

def test_same_text_again_from_same_author(client, site, sessions, resources) -> None:  # noqa: ANN001
    _, key = site
    first = analysed(resources, sessions, submit(client, key, "Ủng hộ chủ trương này!"))
    assert "repeat" not in first.analysis["flags"]
    # Same words, other marks/case/punctuation: still the same comment.
    again = analysed(resources, sessions, submit(client, key, "ung ho chu truong nay"))
    assert "repeat" in again.analysis["flags"]
    assert again.analysis["phases"]["repeats"]["repeat_of"] == [first.id]


def test_generic_text_from_one_ip_is_a_repeat_only_by_the_same_author(client, site, sessions,  # noqa: ANN001
                                                                       resources) -> None:
    """Behind one address (an office, a mobile carrier's NAT) two readers may both write
    "Cảm ơn tác giả": not a repeat; the same author again is. Text with content of its own
    from one address is a repeat whoever signs it."""
    _, key = site
    ip = {"client.ip": "113.185.40.7"}
    first = analysed(resources, sessions, submit(
        client, key, "Cảm ơn tác giả nhiều", **{"author.email": "mot@example.vn"}, **ip))
    other = analysed(resources, sessions, submit(
        client, key, "cảm ơn tác giả nhiều!", **{"author.email": "hai@example.vn"}, **ip))
    assert "repeat" not in other.analysis["flags"]
    again = analysed(resources, sessions, submit(
        client, key, "Cảm ơn tác giả nhiều", **{"author.email": "mot@example.vn"}, **ip))
    assert again.analysis["phases"]["repeats"]["repeat_of"] == [first.id]
    text = "Đề nghị phường sớm sửa đèn đường hẻm 42 Lê Lợi"
    analysed(resources, sessions, submit(client, key, text, **{"author.email": "ba@example.vn"},
                                         **ip))
    sock = analysed(resources, sessions, submit(client, key, text,
                                                **{"author.email": "bon@example.vn"}, **ip))
    assert "repeat" in sock.analysis["flags"]


def test_near_duplicates_across_authors(client, site, sessions, resources) -> None:  # noqa: ANN001
    _, key = site
    text = ("Đề nghị tỉnh xem xét lại dự án khu đô thị mới vì ảnh hưởng đến đất nông nghiệp "
            "của bà con xã Hòa Phú")
    ids = []
    for i, tail in enumerate(["", " nhé", " ạ!"]):
        ids.append(submit(client, key, text + tail,
                          **{"author.email": f"nguoi{i}@example.vn", "author.name": f"Người {i}",
                             "client.ip": f"14.160.0.{i + 1}"}))
    results = [analysed(resources, sessions, cid) for cid in ids]
    assert "near_duplicate" not in results[0].analysis["flags"]
    assert "near_duplicate" in results[2].analysis["flags"]
    assert set(results[2].analysis["phases"]["repeats"]["near_duplicates"]) == set(ids[:2])
    other = analysed(resources, sessions, submit(
        client, key, "Tôi thấy dự án này mang lại nhiều việc làm cho thanh niên địa phương",
        **{"author.email": "khac@example.vn"}))
    assert "near_duplicate" not in other.analysis["flags"]
    # An author repeating themself is not coordinated posting: only the others count.
    again = analysed(resources, sessions, submit(
        client, key, text + " nha", **{"author.email": "NGUOI0@example.vn"}))
    assert set(again.analysis["phases"]["repeats"]["near_duplicates"]) == set(ids[1:])


def test_a_flood_keeps_the_near_duplicate_index_small(client, site, sessions, resources,  # noqa: ANN001
                                                       redis_client) -> None:
    from workers.pipeline.repeats import MAX_CANDIDATES
    from workers.tasks import process_comments_now

    _, key = site
    text = "Vay tiền nhanh lãi suất thấp giải ngân trong ngày liên hệ ngay anh Tuấn"
    ids = [submit(client, key, f"{text} {i}", **{"author.email": f"spam{i}@example.vn"})
           for i in range(6 * MAX_CANDIDATES)]
    process_comments_now(resources, ids)
    bands = redis_client.keys("vimod:lsh:*")
    assert bands and max(redis_client.zcard(b) for b in bands) <= 4 * MAX_CANDIDATES
    with sessions() as s:
        last = s.get(Comment, ids[-1])
    assert len(last.analysis["phases"]["repeats"]["near_duplicates"]) == MAX_CANDIDATES


def _by(i: int, article: int) -> dict[str, str]:
    """Payload changes: author i (own address and IP) commenting on article `article`."""
    return {"author.email": f"doc.gia{i}@example.vn", "author.name": f"Độc giả {i}",
            "client.ip": f"14.161.0.{i + 1}", "article.id": f"tin-{article}",
            "article.url": f"https://baothu.vn/thoi-su/tin-{article}.html"}


def _repeats(c: Comment) -> dict:
    return c.analysis["phases"]["repeats"]


def test_generic_praise_from_many_readers_is_not_seeding(client, site, sessions, resources) -> None:  # noqa: ANN001
    """Praise, thanks and agreement (fewer than MIN_CONTENT_WORDS content words) link no one,
    even as near-duplicates of each other (before, every one after the first was flagged)."""
    _, key = site
    variants = ["Bài viết rất hay, cảm ơn tác giả", "Bài viết rất hay, cảm ơn tác giả nhiều",
                "bai viet rat hay cam on tac gia", "Bài viết rất hay. Cảm ơn tác giả ạ!",
                "Bài viết rất hay cảm ơn tác giả nhé", "Bài viết rất hay, cảm ơn tác giả!!!"]
    found = [analysed(resources, sessions, submit(client, key, text, **_by(i, i)))
             for i, text in enumerate(variants)]
    assert ["near_duplicate" in c.analysis["flags"] for c in found] == [False] * 6
    # They were found, and recognised as generic.
    assert _repeats(found[-1])["generic_text"] == "little_content"
    assert _repeats(found[-1])["generic_matches"] == 5


def test_a_phrase_seen_on_many_articles_becomes_generic(client, site, sessions, resources) -> None:  # noqa: ANN001
    """A short phrase with content of its own counts as seeding until its near-duplicates in
    the window span GENERIC_ARTICLES articles from GENERIC_AUTHORS authors (5 and 5)."""
    from workers.pipeline.repeats import GENERIC_ARTICLES, GENERIC_AUTHORS

    assert (GENERIC_ARTICLES, GENERIC_AUTHORS) == (5, 5)
    _, key = site
    wish = "Chúc mừng năm mới, chúc toàn thể ban biên tập an khang thịnh vượng"
    found = [analysed(resources, sessions, submit(client, key, wish + tail, **_by(i, i)))
             for i, tail in enumerate(["", "!", " ạ", " nhé", "!!", " 2026"])]
    assert ["near_duplicate" in c.analysis["flags"] for c in found] == [
        False, True, True, True, False, False]
    assert _repeats(found[4])["generic_text"] == "common_phrase"
    assert "near_duplicates" not in _repeats(found[4])


def test_generic_text_crowding_one_article_is_still_seeding(client, site, sessions,  # noqa: ANN001
                                                             resources) -> None:
    """Generic or not, four accounts posting it on one article within minutes are flagged."""
    _, key = site
    text = "Đồng ý với bạn, bài viết rất hay và đúng"
    found = [analysed(resources, sessions, submit(client, key, text + "!" * i, **_by(i, 1)))
             for i in range(4)]
    assert ["near_duplicate" in c.analysis["flags"] for c in found] == [False, False, False, True]
    assert set(_repeats(found[3])["near_duplicates"]) == {c.id for c in found[:3]}


def test_loan_ad_seeding_is_still_flagged(client, site, sessions, resources) -> None:  # noqa: ANN001
    """A short ad with a phone number is never generic, however widely it was spread: after
    it went out on five articles, four accounts posting it on one article are all flagged."""
    _, key = site
    ad = "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, liên hệ zalo 0912 345 678"
    for i in range(5):
        analysed(resources, sessions, submit(client, key, ad, **_by(i, 100 + i)))
    found = [analysed(resources, sessions, submit(client, key, ad + " ." * i, **_by(10 + i, 1)))
             for i in range(4)]
    assert all("near_duplicate" in c.analysis["flags"] for c in found)
    assert all("generic_text" not in _repeats(c) for c in found)
    assert {c.id for c in found[:3]} <= set(_repeats(found[3])["near_duplicates"])


def test_long_identical_text_from_several_accounts_is_flagged(client, site, sessions,  # noqa: ANN001
                                                               resources) -> None:
    """Long texts are never generic: three accounts posting the same one are linked, even on
    different articles and after it went round six articles."""
    _, key = site
    text = ("Tôi là người dân phường An Hòa, con đường này đã hỏng hơn hai năm nay, mùa mưa "
            "ngập đến đầu gối, đề nghị thành phố sớm sửa chữa và công khai tiến độ cho bà con")
    found = [analysed(resources, sessions, submit(client, key, text, **_by(i, i)))
             for i in range(3)]
    assert ["near_duplicate" in c.analysis["flags"] for c in found] == [False, True, True]
    more = [analysed(resources, sessions, submit(client, key, text, **_by(i, i)))
            for i in range(3, 7)]
    assert all("near_duplicate" in c.analysis["flags"] for c in more)
    assert "generic_text" not in _repeats(more[-1])


def test_burst_from_one_ip(client, site, sessions, resources) -> None:  # noqa: ANN001
    _, key = site
    flags = []
    for i in range(7):
        c = analysed(resources, sessions, submit(
            client, key, f"Bình luận thứ {i} về chủ đề giao thông đô thị",
            **{"client.ip": "27.72.1.1", "author.email": f"a{i}@example.vn"}))
        flags.append("burst" in c.analysis["flags"])
    assert flags == [False] * 5 + [True] * 2
    # Re-running a comment counts it once (idempotent ZADD), and changes nothing.
    assert process_comment_now(resources, c.id) == CommentStatus.pending


# --- policy -----------------------------------------------------------------------------

def _ctx(**settings) -> CommentContext:  # noqa: ANN003
    return CommentContext(1, 1, "x", "A", "a@b.vn", None, settings)


def test_policy_classifier_thresholds() -> None:
    scored = [PhaseResult(name="classifier", model_version="v7",
                          scores={"clean": 0.01, "spam": 0.985, "offensive": 0.004, "hate": 0.001})]
    off = decide(_ctx(), scored, "x")
    assert off.status == CommentStatus.pending and off.model_version == "v7"
    assert off.priority > 9  # risk 0.985 puts it near the top
    rejected = decide(_ctx(auto_reject={"spam": 0.98}), scored, "x")
    assert rejected.status == CommentStatus.auto_rejected
    assert rejected.analysis["decision"] == {
        "phase": "classifier", "reason": "spam probability 0.985 ≥ threshold 0.98",
        "threshold": 0.98}
    assert rejected.decided_by == "system:classifier"
    assert decide(_ctx(auto_reject={"spam": 0.99}), scored, "x").status == CommentStatus.pending


def test_policy_auto_approve_below_risk() -> None:
    low = [PhaseResult(name="classifier", scores={"clean": 0.9, "spam": 0.05, "offensive": 0.03,
                                                  "hate": 0.02})]
    high = [PhaseResult(name="classifier", scores={"clean": 0.4, "spam": 0.1, "offensive": 0.45,
                                                   "hate": 0.05})]
    assert decide(_ctx(premoderation=False), low, "x").status == CommentStatus.auto_approved
    assert decide(_ctx(premoderation=False), high, "x").status == CommentStatus.pending
    assert decide(_ctx(premoderation=False, auto_approve_below=0.5), high,
                  "x").status == CommentStatus.auto_approved
    assert decide(_ctx(), low, "x").status == CommentStatus.pending  # pre-moderation on


def _scored(**scores: float) -> list[PhaseResult]:
    return [PhaseResult(name="classifier", model_version="v7", scores=scores)]


def test_certainty_is_the_classifier_margin_by_default() -> None:
    out = decide(_ctx(), _scored(clean=0.6, spam=0.25, offensive=0.1, hate=0.05), "x")
    assert out.status == CommentStatus.pending
    assert out.certainty == out.analysis["certainty"] == 0.35  # 0.6 - 0.25


def test_certainty_near_an_auto_reject_threshold() -> None:
    scores = _scored(clean=0.01, spam=0.985, offensive=0.004, hate=0.001)
    # The margin (0.975) is far; the site's spam threshold is 0.005 away, on either side.
    held = decide(_ctx(auto_reject={"spam": 0.99}), scores, "x")
    assert held.status == CommentStatus.pending and held.certainty == 0.005
    rejected = decide(_ctx(auto_reject={"spam": 0.98}), scores, "x")
    assert rejected.status == CommentStatus.auto_rejected and rejected.certainty == 0.005
    # A threshold for a category the model does not score changes nothing.
    assert decide(_ctx(auto_reject={"toxic": 0.5}), scores, "x").certainty == 0.975


def test_certainty_counts_auto_approve_below_only_without_premoderation() -> None:
    scores = _scored(clean=0.7, spam=0.25, offensive=0.03, hate=0.02)
    off = decide(_ctx(premoderation=False), scores, "x")
    assert off.status == CommentStatus.auto_approved
    assert off.certainty == 0.05  # risk 0.25 vs the default 0.3, nearer than the 0.45 margin
    assert decide(_ctx(premoderation=False, auto_approve_below=0.5), scores,
                  "x").certainty == 0.25
    # With pre-moderation on, auto_approve_below decides nothing: margin only.
    assert decide(_ctx(auto_approve_below=0.26), scores, "x").certainty == 0.45


def test_certainty_none_without_scores() -> None:
    out = decide(_ctx(auto_reject={"spam": 0.9}, premoderation=False),
                 [PhaseResult(name="contacts", flags=["phone"])], "x")
    assert out.certainty is None and "certainty" not in out.analysis
    assert failed_outcome(_ctx(), RuntimeError("model missing")).certainty is None


# --- classifier -------------------------------------------------------------------------

def test_classifier_scores_spans_and_version(client, site, sessions, resources) -> None:  # noqa: ANN001
    _, key = site
    spam = analysed(resources, sessions, submit(
        client, key, "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, ib zalo 0912 345 678"))
    assert spam.model_version == "default"
    scores = spam.analysis["scores"]
    assert set(scores) == {"clean", "spam", "offensive", "hate"}
    assert abs(sum(scores.values()) - 1) < 1e-3
    assert max(scores, key=scores.get) == "spam"
    assert "spam" in spam.analysis["flags"]
    assert spam.priority > 10  # phone + spam risk put it near the top of the queue

    rude = analysed(resources, sessions, submit(client, key, "dm thằng này ngu vl"))
    spans = [s for s in rude.analysis["spans"] if s["phase"] == "classifier"]
    marked = [rude.body_normalized[s["start"]:s["end"]] for s in spans]
    # Both insults are highlighted (alone or inside a highlighted phrase).
    assert all(any(word in m.split() for m in marked) for word in ("dm", "vl")), marked

    clean = analysed(resources, sessions, submit(
        client, key, "Bài viết rất hữu ích, cảm ơn tác giả đã tổng hợp thông tin"))
    assert max(clean.analysis["scores"], key=clean.analysis["scores"].get) == "clean"
    assert not {"spam", "offensive", "hate"} & set(clean.analysis["flags"])


def test_certainty_stored_for_the_queue(client, site, sessions, resources) -> None:  # noqa: ANN001
    site_id, key = site
    clean = analysed(resources, sessions, submit(
        client, key, "Bài viết rất hữu ích, cảm ơn tác giả đã tổng hợp thông tin"))
    top, second = sorted(clean.analysis["scores"].values(), reverse=True)[:2]
    assert clean.certainty == clean.analysis["certainty"] == round(top - second, 4)
    # The site's threshold set right at this comment's spam score: nothing is less certain.
    spam = clean.analysis["scores"]["spam"]
    set_settings(sessions, site_id, auto_reject={"spam": min(spam + 0.001, 1.0)})
    again = analysed(resources, sessions, submit(
        client, key, "Bài viết rất hữu ích, cảm ơn tác giả đã tổng hợp thông tin",
        **{"author.email": "khac@example.vn"}))
    assert again.status == CommentStatus.pending
    assert again.certainty == again.analysis["certainty"] <= 0.001


def test_classifier_auto_reject_threshold_end_to_end(client, site, sessions, resources) -> None:  # noqa: ANN001
    site_id, key = site
    set_settings(sessions, site_id, auto_reject={"spam": 0.9})
    spam = analysed(resources, sessions, submit(
        client, key, "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, ib zalo 0912 345 678"))
    assert spam.status == CommentStatus.auto_rejected
    assert spam.analysis["decision"]["phase"] == "classifier"
    assert spam.analysis["decision"]["threshold"] == 0.9
    ok = analysed(resources, sessions, submit(client, key, "Mong tỉnh sớm sửa con đường này"))
    assert ok.status == CommentStatus.pending
