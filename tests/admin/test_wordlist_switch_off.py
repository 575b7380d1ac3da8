"""Word lists and unmarked text (#17 item 3) through the real pipeline, and a shipped entry
switched off by the global admin (every site) or for one site: route, audit row, page,
the worker seeing it by the lists' generation, scoping, bad input."""

from __future__ import annotations

import time

from sqlalchemy import select

from service.storage import AuditEntry, Comment, ShippedEntryOff
from service.wordlists import GENERATION_KEY
from tests.admin.test_wordlists_admin import URL, admin, audit_rows, token
from tests.helpers import set_settings
from tests.test_review import login, post_comment, ui  # noqa: F401 - the ui fixture
from workers.pipeline.resources import WORDLIST_RECHECK_SECONDS


def flags(sessions, cid: int) -> list[str]:  # noqa: ANN001
    with sessions() as s:
        return s.get(Comment, cid).analysis["flags"]


def word_flags(sessions, cid: int) -> set[str]:  # noqa: ANN001
    return {f for f in flags(sessions, cid) if f in ("banned_word", "suspect_word")}


def test_unmarked_ordinary_words_do_not_fire_in_the_pipeline(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_a, key = keys["a"]
    for body in ("cu tang qua the nay thi chiu sao noi", "lon xon qua",
                 "lon bia vut day duong", "Con toi hoc lop 9 ma mon Ngu van",
                 "Cảm ơn b nhé"):
        cid = post_comment(app, key, resources, body)
        assert word_flags(sessions, cid) == set(), body
    cid = post_comment(app, key, resources, "lon xon qua")
    with sessions() as s:
        phases = s.get(Comment, cid).analysis["phases"]
    assert phases["wordlists"]["dismissed"] == [
        {"text": "lon", "entry": "lon", "kind": "suspect", "reading": "lộn"}]
    for body, flag in (("dm thang nay", "banned_word"), ("dit me", "banned_word"),
                       ("Đ.m bọn tham nhũng", "banned_word"), ("ngu nhu bo", "suspect_word")):
        cid = post_comment(app, key, resources, body)
        assert flag in word_flags(sessions, cid), body
    # A site that turned the diacritics check off: the word lists ask the restorer themselves.
    set_settings(sessions, site_a, diacritics_policy="off")
    cid = post_comment(app, key, resources, "lon xon qua")
    assert word_flags(sessions, cid) == set()
    assert "diacritics" not in flags(sessions, cid)
    assert word_flags(sessions, post_comment(app, key, resources, "dit me")) == {"banned_word"}


def switch_off(c, phrase: str, site: object = "", kind: str = "suspect"):  # noqa: ANN001, ANN201
    return c.post(f"{URL}/shipped/off", data={"csrf_token": token(c), "site": str(site),
                                               "kind": kind, "phrase": phrase})


def off_rows(sessions) -> list[tuple[int | None, str, str]]:  # noqa: ANN001
    with sessions() as s:
        return sorted(s.execute(select(ShippedEntryOff.site_id, ShippedEntryOff.kind,
                                       ShippedEntryOff.phrase)).tuples(),
                      key=lambda r: (r[0] or 0, r[2]))


def test_switch_off_a_shipped_entry_on_one_site_then_everywhere(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    (site_a, key_a), (site_b, key_b) = keys["a"], keys["b"]
    text = "Cái lồng chim này đẹp quá"  # shipped suspect "lồng" (a cage, usually)
    assert "suspect_word" in flags(sessions, post_comment(app, key_a, resources, text))
    c = admin(app)
    generation = int(resources.redis.get(GENERATION_KEY) or 0)
    # The site's page offers the shipped entry found by a search, with a switch.
    page = c.get(f"{URL}?site={site_a}&kind=suspect&q=lồng").get_data(as_text=True)
    assert "Switch off here" in page
    r = switch_off(c, "lồng", site_a)
    assert r.status_code == 302 and f"site={site_a}" in r.headers["Location"]
    assert off_rows(sessions) == [(site_a, "suspect", "lồng")]
    assert int(resources.redis.get(GENERATION_KEY)) == generation + 1
    [entry] = [a for a in audit_rows(sessions) if a.action == "word.switch_off"]
    assert entry.actor == "quantri" and entry.target_type == "word"
    assert entry.details == {"site_id": site_a, "kind": "suspect", "phrase": "lồng",
                             "shipped": True}
    time.sleep(WORDLIST_RECHECK_SECONDS + 0.1)  # the worker's next look at the generation
    assert "suspect_word" not in flags(sessions, post_comment(app, key_a, resources, text))
    assert "suspect_word" in flags(sessions, post_comment(app, key_b, resources, text))
    # Shown on site A's page (with a switch back on), not on site B's nor on the global one.
    page = c.get(f"{URL}?site={site_a}&kind=suspect").get_data(as_text=True)
    table = page.split("data-switched-off", 1)[1].split("</table>", 1)[0]
    assert "<bdi>lồng</bdi>" in table and "Switch back on" in table and "quantri" in table
    for url in (f"{URL}?site={site_b}&kind=suspect", f"{URL}?kind=suspect"):
        table = c.get(url).get_data(as_text=True).split("data-switched-off", 1)[1]
        assert "<bdi>lồng</bdi>" not in table.split("</table>", 1)[0]
    # Again on the same site: nothing new.
    switch_off(c, "lồng", site_a)
    assert off_rows(sessions) == [(site_a, "suspect", "lồng")]
    # The global admin switches it off everywhere: site B too.
    assert switch_off(c, "lồng").status_code == 302
    assert off_rows(sessions) == [(None, "suspect", "lồng"), (site_a, "suspect", "lồng")]
    time.sleep(WORDLIST_RECHECK_SECONDS + 0.1)
    assert "suspect_word" not in flags(sessions, post_comment(app, key_b, resources, text))
    # Site B's page names the global switch-off, which only the global page switches back on.
    table = c.get(f"{URL}?site={site_b}&kind=suspect").get_data(as_text=True).split(
        "data-switched-off", 1)[1].split("</table>", 1)[0]
    assert "<bdi>lồng</bdi>" in table and "on the global lists" in table
    assert "Switch back on" not in table
    with sessions() as s:
        global_id = s.scalar(select(ShippedEntryOff.id).where(ShippedEntryOff.site_id.is_(None)))
        site_id = s.scalar(select(ShippedEntryOff.id).where(ShippedEntryOff.site_id == site_a))
    r = c.post(f"{URL}/shipped/{global_id}/on", data={"csrf_token": token(c)})
    assert r.status_code == 302
    assert c.post(f"{URL}/shipped/{site_id}/on", data={"csrf_token": token(c)}).status_code == 302
    assert off_rows(sessions) == []
    assert [a.details["site_id"] for a in audit_rows(sessions) if a.action == "word.switch_on"
            ] == [None, site_a]
    time.sleep(WORDLIST_RECHECK_SECONDS + 0.1)
    assert "suspect_word" in flags(sessions, post_comment(app, key_a, resources, text))


def test_switch_off_refuses_what_is_not_shipped(ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = admin(app)
    before = len(audit_rows(sessions))
    for phrase, kind in (("không có đâu", "suspect"), ("lồng", "banned"), ("", "suspect"),
                         ("x" * 5000, "suspect")):
        r = switch_off(c, phrase, kind=kind)
        assert r.status_code == 302, phrase  # back to the page, with a message
        assert "No shipped entry" in c.get(r.headers["Location"]).get_data(as_text=True)
    r = switch_off(c, "lồng", kind="other")
    assert r.status_code == 400
    assert off_rows(sessions) == [] and len(audit_rows(sessions)) == before
    assert c.post(f"{URL}/shipped/999999/on", data={"csrf_token": token(c)}).status_code == 404
    # Moderators cannot.
    m = app.test_client()
    login(m, "bientap_a")
    r = m.post(f"{URL}/shipped/off", data={"csrf_token": token(c), "site": "",
                                            "kind": "suspect", "phrase": "lồng"})
    assert r.status_code in (400, 403)
    assert off_rows(sessions) == []
    with sessions() as s:
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action == "word.switch_off")) is None
