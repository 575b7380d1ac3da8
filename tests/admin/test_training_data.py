"""The admin console's Training data page: moderators' decisions (through the real intake,
pipeline and moderation code) listed with provenance, filtered, relabelled / excluded one by
one and in bulk (audited), imported from CSV / JSON lines, exported as the effective
training set, the base data box; bad input is a clear 4xx that changes nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from models.classifier.datasets import DataSpec, load_file
from service import moderation
from service.accounts import create_user
from service.storage import (
    AuditEntry,
    Comment,
    ModerationAction,
    TrainingExample,
    TrainingOverride,
)
from service.training_import import parse
from service.training_labels import training_set
from tests.helpers import headers, payload
from tests.test_review import PASSWORD, XSS, csrf, login, ui  # noqa: F401
from workers.tasks import process_comments_now

MODERATOR = "bientap_lan"
TEXTS = {
    "khen": "Bài viết rất hay, cảm ơn tác giả đã phản ánh kịp thời.",
    "gop_y": "Mong cơ quan chức năng sớm vào cuộc xử lý dứt điểm.",
    "teencode": "bai nay viet hay ko, mn thay dc ko",
    "nfd": unicodedata.normalize("NFD", "Hòa bình và hạnh phúc cho mọi nhà"),
    "vay": "Vay tiền nhanh lãi suất thấp, ib zalo 0912 345 678",
    "chui": "đm thằng viết bài này ngu vl",
    "ghet": "bọn bắc kỳ chó má cút hết đi",
    "lac_de": "Ai biết quán phở nào ngon ở Hà Đông không ạ?",
    "undone": "Giá xăng lại tăng rồi, dân mình khổ quá",
    "pending": "Đường Nguyễn Trãi hôm nay lại ngập",
    "xss": XSS,
    "site_b": "Báo B đưa tin nhanh quá, cảm ơn phóng viên",
}
EDITED = "Bài này viết hay không, mọi người thấy được không"


def admin_client(app):  # noqa: ANN001, ANN201
    """A signed-in admin, in English (the assertions read the English msgids)."""
    c = app.test_client()
    assert login(c, "quantri").status_code == 302
    c.post("/lang", data={"lang": "en", "next": "/admin",
                          "csrf_token": csrf(c.get("/login").get_data(as_text=True))})
    return c


def token(c, url: str = "/admin/training") -> str:  # noqa: ANN001
    return csrf(c.get(url).get_data(as_text=True))


def submit(app, key: str, body: str, email: str = "lan.nguyen@example.vn") -> int:  # noqa: ANN001
    r = app.test_client().post("/api/v1/comments",
                               json=payload(body=body, **{"author.email": email}),
                               headers=headers(key))
    assert r.status_code == 202, r.json
    return r.json["id"]


def decide(sessions, uid: int, cid: int, what: str, *args, **kwargs) -> None:  # noqa: ANN001
    with sessions() as s:
        getattr(moderation, what)(s, s.get(Comment, cid), uid, MODERATOR, *args, **kwargs)


@pytest.fixture
def decided(ui, resources, sessions):  # noqa: ANN001, ANN201, F811
    """Real comments through intake and pipeline, decided by a moderator: (app, ids)."""
    app, keys = ui
    (a_id, a_key), (b_id, b_key) = keys["a"], keys["b"]
    with sessions() as s:
        user, _ = create_user(s, MODERATOR, "moderator", PASSWORD, [a_id, b_id])
        s.commit()
        uid = user.id
    ids = {name: submit(app, b_key if name == "site_b" else a_key, text)
           for name, text in TEXTS.items()}
    process_comments_now(resources, list(ids.values()))
    for name in ("khen", "gop_y", "nfd", "xss", "site_b"):
        decide(sessions, uid, ids[name], "approve")
    decide(sessions, uid, ids["teencode"], "approve", edited_body=EDITED)
    decide(sessions, uid, ids["vay"], "reject", "spam")
    decide(sessions, uid, ids["chui"], "reject", "offensive", note="chửi tục <b>nặng</b>")
    decide(sessions, uid, ids["ghet"], "reject", "hate")
    decide(sessions, uid, ids["lac_de"], "reject", "off_topic")
    decide(sessions, uid, ids["undone"], "reject", "spam")
    decide(sessions, uid, ids["undone"], "undo")
    return app, {**ids, "_a": a_id, "_b": b_id, "_uid": uid}


def listed(html: str) -> list[str]:
    """The keys of the rows on the page, in order."""
    return re.findall(r'<tr data-key="([di]:\d+)"', html)


def keys_of(ids: dict[str, int], *names: str) -> set[str]:
    return {f"d:{ids[n]}" for n in names}


DECIDED = ("khen", "gop_y", "teencode", "nfd", "vay", "chui", "ghet", "lac_de", "xss", "site_b")


def audits(sessions, action: str | None = None) -> list[AuditEntry]:  # noqa: ANN001
    with sessions() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return list(s.scalars(stmt))


def effective(sessions) -> dict[tuple[str, int], str]:  # noqa: ANN001
    with sessions() as s:
        return {(e.source, e.ref): e.label for e in training_set(s)}


# --- access --------------------------------------------------------------------------------

def test_admins_only(decided) -> None:  # noqa: ANN001
    app, _ = decided
    anonymous = app.test_client()
    assert anonymous.get("/admin/training").status_code == 302
    moderator = app.test_client()
    login(moderator, "bientap_a")
    assert moderator.get("/admin/training").status_code == 403
    assert moderator.get("/admin/training/export").status_code == 403
    t = csrf(moderator.get("/review").get_data(as_text=True))
    r = moderator.post("/admin/training/apply", data={"csrf_token": t, "op": "exclude",
                                                      "keys": "d:1"})
    assert r.status_code == 403
    r = moderator.post("/admin/training/import", data={
        "csrf_token": t, "file": (io.BytesIO(b"text,label\nxin chao,clean\n"), "a.csv")})
    assert r.status_code == 403


# --- the list --------------------------------------------------------------------------------

def test_list_shows_each_standing_decision_with_provenance(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    when = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)     # 03:30 on 2 March in Vietnam
    with sessions() as s:
        s.execute(update(ModerationAction).where(ModerationAction.comment_id == ids["chui"],
                                                 ModerationAction.user_id.is_not(None))
                  .values(created_at=when))
        s.commit()
    c = admin_client(app)
    r = c.get("/admin/training")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    # every standing decision, none of: the undone one, the pending one; newest first
    assert set(listed(html)) == keys_of(ids, *DECIDED)
    assert (listed(html)[0], listed(html)[-1]) == (f"d:{ids['lac_de']}", f"d:{ids['khen']}")
    row = html.split(f'<tr data-key="d:{ids["chui"]}"')[1].split("</tr>")[0]
    assert "đm thằng viết bài này ngu vl" in row
    assert f'href="/review/{ids["chui"]}"' in row
    assert 'data-effective="offensive"' in row
    assert "Rejected:" in row and "Insulting, vulgar" in row
    assert "chửi tục &lt;b&gt;nặng&lt;/b&gt;" in row         # the note, escaped
    assert MODERATOR in row and "03:30 02/03/2026" in row and "Báo A" in row
    edited = html.split(f'<tr data-key="d:{ids["teencode"]}"')[1].split("</tr>")[0]
    assert "Approved" in edited and "(edited)" in edited and TEXTS["teencode"] in edited
    off_topic = html.split(f'<tr data-key="d:{ids["lac_de"]}"')[1].split("</tr>")[0]
    assert 'data-effective=""' in off_topic and "no label" in off_topic
    assert 'class=" unused"' in off_topic
    assert "Báo B" in html.split(f'<tr data-key="d:{ids["site_b"]}"')[1].split("</tr>")[0]
    # counts per effective label: clean 6 (one edited), spam/offensive/hate 1, no label 1
    counts = dict(re.findall(r'<tr data-label="(\w+)">.*?data-used>(\d+)<', html, re.S))
    assert counts == {"clean": "6", "spam": "1", "offensive": "1", "hate": "1"}
    assert re.search(r"data-used-total>9<", html)
    assert "10 examples" in html


def test_filters(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    when = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)     # 2 March in Vietnam
    with sessions() as s:
        s.execute(update(ModerationAction).where(ModerationAction.comment_id == ids["vay"])
                  .values(created_at=when))
        s.commit()
    c = admin_client(app)

    def keys(**args: str) -> set[str]:
        r = c.get("/admin/training", query_string=args)
        assert r.status_code == 200, r.get_data(as_text=True)
        return set(listed(r.get_data(as_text=True)))

    assert keys(site=str(ids["_b"])) == keys_of(ids, "site_b")
    assert keys(label="clean") == keys_of(ids, "khen", "gop_y", "teencode", "nfd", "xss",
                                          "site_b")
    assert keys(label="hate") == keys_of(ids, "ghet")
    assert keys(label="none") == keys_of(ids, "lac_de")
    assert keys(moderator=MODERATOR) == keys_of(ids, *DECIDED)
    assert keys(moderator="quantri") == set()
    assert keys(source="import") == set()
    assert keys(source="decision", excluded="no") == keys_of(ids, *DECIDED)
    assert keys(excluded="yes") == set()
    # dates are Vietnam dates: 20:30 UTC on 1 March is 2 March there
    assert keys(**{"from": "2026-03-02", "to": "2026-03-02"}) == keys_of(ids, "vay")
    # As Vietnamese write dates (the form's fields): day/month/year.
    assert keys(**{"from": "02/03/2026", "to": "2/3/2026"}) == keys_of(ids, "vay")
    assert keys(**{"from": "2026-03-01", "to": "2026-03-01"}) == set()
    assert keys(to="2026-03-02") == keys_of(ids, "vay")
    assert keys(**{"from": "2026-03-03"}) == keys_of(ids, *DECIDED) - keys_of(ids, "vay")
    # text search: any case for ASCII, Vietnamese as typed; finds NFD originals by their NFC
    assert keys(q="ZALO") == keys_of(ids, "vay")
    assert keys(q="Hòa bình") == keys_of(ids, "nfd")
    assert keys(q="phản ánh", label="clean", site=str(ids["_a"])) == keys_of(ids, "khen")
    assert keys(q="100%_") == set()


@pytest.mark.parametrize("query", [
    "label=bogus", "source=robot", "excluded=maybe", "from=2026-13-01", "to=31/02/2026",
    "from=2026-03-05&to=2026-03-01", "site=abc", "page=0", "page=x", "from=0001-01-01",
    "to=9999-12-31", "to=2026-02-30",
])
def test_bad_filters_are_a_clear_400(decided, query: str) -> None:  # noqa: ANN001
    app, _ = decided
    r = admin_client(app).get(f"/admin/training?{query}")
    assert r.status_code == 400
    assert r.mimetype == "text/html"
    assert 'data-status="400"' in r.get_data(as_text=True)  # the error page


def test_unknown_site_is_404(decided) -> None:  # noqa: ANN001
    app, _ = decided
    assert admin_client(app).get("/admin/training?site=99999").status_code == 404


# --- corrections ----------------------------------------------------------------------------

def test_relabel_exclude_include_clear_one_row(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    t = token(c)
    back = "/admin/training?label=spam"

    def row(op: str, name: str, **extra: str):  # noqa: ANN202
        return c.post("/admin/training/apply", data={
            "csrf_token": t, "row": f"{op}@d:{ids[name]}", "back": back, **extra})

    # an approval the admin sees is spam
    r = row("relabel:spam", "gop_y", note="quảng cáo trá hình")
    assert r.status_code == 302 and r.headers["Location"] == back
    with sessions() as s:
        o = s.get(TrainingOverride, ids["gop_y"])
        assert (o.label, o.excluded, o.note) == ("spam", False, "quảng cáo trá hình")
    assert effective(sessions)[("decision", ids["gop_y"])] == "spam"
    html = c.get(back).get_data(as_text=True)
    assert set(listed(html)) == keys_of(ids, "vay", "gop_y")
    assert "relabelled; the decision says:" in html and "1 example(s) changed." in html
    [entry] = audits(sessions, "training.relabel")
    assert (entry.actor, entry.target_type, entry.target_id) == ("quantri", "comment",
                                                                 str(ids["gop_y"]))
    assert entry.details == {"before": {"label": "clean", "excluded": False},
                             "after": {"label": "spam", "excluded": False, "override": "spam"},
                             "note": "quảng cáo trá hình"}

    # an off-topic reject given a label joins the training set
    row("relabel:clean", "lac_de")
    assert effective(sessions)[("decision", ids["lac_de"])] == "clean"
    # excluded: out of the training set, still listed
    row("exclude", "vay")
    assert ("decision", ids["vay"]) not in effective(sessions)
    html = c.get("/admin/training?excluded=yes").get_data(as_text=True)
    assert set(listed(html)) == keys_of(ids, "vay")
    row("include", "vay")
    assert effective(sessions)[("decision", ids["vay"])] == "spam"
    with sessions() as s:       # nothing left to override: the row is gone
        assert s.get(TrainingOverride, ids["vay"]) is None
    # relabelling back to what the decision says is no override either
    row("relabel:clean", "gop_y")
    row("exclude", "lac_de")
    row("clear", "lac_de")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TrainingOverride)) == 0
    assert ("decision", ids["lac_de"]) not in effective(sessions)
    assert [(a.action, a.target_id) for a in audits(sessions)] == [
        ("training.relabel", str(ids["gop_y"])), ("training.relabel", str(ids["lac_de"])),
        ("training.exclude", str(ids["vay"])), ("training.include", str(ids["vay"])),
        ("training.relabel", str(ids["gop_y"])), ("training.exclude", str(ids["lac_de"])),
        ("training.clear", str(ids["lac_de"]))]
    # the same change again changes nothing and writes no audit row
    r = row("clear", "lac_de")
    assert r.status_code == 302
    assert len(audits(sessions)) == 7
    assert "0 example(s) changed. 1 left as they were." in c.get(back).get_data(as_text=True)


def test_bulk_selection(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    t = token(c)
    chosen = sorted(keys_of(ids, "khen", "nfd", "chui"))
    r = c.post("/admin/training/apply", data={"csrf_token": t, "op": "relabel:hate",
                                              "keys": chosen, "note": "lô kiểm tra"})
    assert r.status_code == 302
    labels = effective(sessions)
    assert [labels[("decision", ids[n])] for n in ("khen", "nfd", "chui")] == ["hate"] * 3
    assert len(audits(sessions, "training.relabel")) == 3
    r = c.post("/admin/training/apply", data={"csrf_token": t, "op": "exclude",
                                              "keys": chosen + [f"d:{ids['ghet']}"]})
    assert r.status_code == 302
    labels = effective(sessions)
    assert not {("decision", ids[n]) for n in ("khen", "nfd", "chui", "ghet")} & set(labels)
    html = c.get("/admin/training").get_data(as_text=True)
    counts = dict(re.findall(r'<tr data-label="(\w+)">.*?data-excluded>(\d+)<', html, re.S))
    assert counts == {"clean": "0", "spam": "0", "offensive": "0", "hate": "4"}


@pytest.mark.parametrize("form", [
    {"op": "delete", "keys": "d:{khen}"},
    {"op": "relabel:toxic", "keys": "d:{khen}"},
    {"op": "exclude"},
    {"op": "exclude", "keys": "x:{khen}"},
    {"op": "exclude", "keys": "d:abc"},
    {"row": "exclude@{khen}"},
    {"row": "bogus@d:{khen}"},
])
def test_bad_corrections_say_why_and_change_nothing(decided, sessions, form) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    data = {k: v.format(**ids) for k, v in form.items()}
    r = c.post("/admin/training/apply", data={"csrf_token": token(c), **data})
    # Back on the page, with the reason (never a redirect answered with a 4xx: a dead end).
    assert r.status_code == 303
    assert 'class="flash error"' in c.get(r.headers["Location"]).get_data(as_text=True)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TrainingOverride)) == 0
    assert audits(sessions) == []


def test_corrections_need_csrf_and_known_examples(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    r = c.post("/admin/training/apply", data={"op": "exclude", "keys": f"d:{ids['khen']}"})
    assert r.status_code == 400
    t = token(c)
    # one unknown key spoils the whole selection
    r = c.post("/admin/training/apply", data={
        "csrf_token": t, "op": "exclude", "keys": [f"d:{ids['khen']}", "d:987654"]})
    assert r.status_code == 404 and r.mimetype == "text/html"
    r = c.post("/admin/training/apply", data={"csrf_token": t, "op": "exclude",
                                              "keys": "i:987654"})
    assert r.status_code == 404
    # a comment still waiting is not an example: left alone
    r = c.post("/admin/training/apply", data={"csrf_token": t, "op": "exclude",
                                              "keys": f"d:{ids['pending']}"})
    assert r.status_code == 302
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TrainingOverride)) == 0
    assert audits(sessions) == []
    too_many = [f"d:{i}" for i in range(1, 202)]
    r = c.post("/admin/training/apply", data={"csrf_token": t, "op": "exclude",
                                              "keys": too_many})
    assert r.status_code == 303


# --- import ---------------------------------------------------------------------------------

def upload(c, content: bytes, name: str, **form: str):  # noqa: ANN001, ANN201
    data = {"csrf_token": token(c), "file": (io.BytesIO(content), name), **form}
    return c.post("/admin/training/import", data=data, content_type="multipart/form-data")


def imported(sessions) -> list[tuple[str, str, str | None, int | None]]:  # noqa: ANN001
    with sessions() as s:
        return [(r.text, r.label, r.source, r.site_id) for r in s.scalars(
            select(TrainingExample).order_by(TrainingExample.id))]


def test_import_csv(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    nfd = unicodedata.normalize("NFD", "Tuyệt vời, cảm ơn báo")
    content = ("\ufeffnoi_dung,nhan,ghi_chu\n"
               f'"Ông ấy nói ""sẽ xử lý"",\ncảm ơn",clean,x\n'
               f'"{nfd}",Clean ,y\n'
               "Nhận làm bằng đại học giá rẻ lh 0987.654.321,spam,\n"
               "\n"
               "Đồ ngu như bò,offensive,z\n").encode()
    r = upload(c, content, "du_lieu.csv", text_column="noi_dung", label_column="nhan",
               site=str(ids["_a"]))
    assert r.status_code == 302, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/admin/training?source=import")
    assert imported(sessions) == [
        ('Ông ấy nói "sẽ xử lý",\ncảm ơn', "clean", "du_lieu.csv", ids["_a"]),
        ("Tuyệt vời, cảm ơn báo", "clean", "du_lieu.csv", ids["_a"]),
        ("Nhận làm bằng đại học giá rẻ lh 0987.654.321", "spam", "du_lieu.csv", ids["_a"]),
        ("Đồ ngu như bò", "offensive", "du_lieu.csv", ids["_a"])]
    [entry] = audits(sessions, "training.import")
    assert entry.details == {"file": "du_lieu.csv", "site_id": ids["_a"], "format": "csv",
                             "rows": 4, "labels": {"clean": 2, "offensive": 1, "spam": 1},
                             "skipped_lines": []}
    html = c.get("/admin/training?source=import").get_data(as_text=True)
    assert len(listed(html)) == 4 and "Imported from <bdi>du_lieu.csv</bdi>" in html
    assert "Imported 4 example(s) from du_lieu.csv." in html
    assert 'data-file="du_lieu.csv"' in html                # the imports box
    # imported rows are corrected like decisions
    first = listed(html)[-1]
    r = c.post("/admin/training/apply", data={"csrf_token": token(c), "op": "relabel:spam",
                                              "keys": first})
    assert r.status_code == 302
    assert imported(sessions)[0][1] == "spam"
    [entry] = audits(sessions, "training.relabel")
    assert entry.target_type == "training_example"
    assert entry.details == {"before": {"label": "clean", "excluded": False},
                             "after": {"label": "spam", "excluded": False}}
    # a site's list shows its imports and the global ones, not another site's
    assert len(listed(c.get(f"/admin/training?source=import&site={ids['_b']}")
                      .get_data(as_text=True))) == 0
    # exclude the whole file at once, then include it again
    data = {"csrf_token": token(c), "file": "du_lieu.csv", "site": str(ids["_a"])}
    assert c.post("/admin/training/imports", data={**data, "op": "exclude"}).status_code == 302
    assert not [k for k in effective(sessions) if k[0] == "import"]
    assert c.post("/admin/training/imports", data={**data, "op": "include"}).status_code == 302
    assert len([k for k in effective(sessions) if k[0] == "import"]) == 4
    assert [a.details["rows"] for a in audits(sessions) if a.action.startswith(
        "training.import_")] == [4, 4]


def test_import_jsonl_global(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    lines = [{"text": "Cảm ơn phóng viên đã đưa tin", "label": "clean", "id": 1},
             {"text": "bọn nam kỳ lừa đảo cút về", "label": "hate"},
             {"text": "Kiếm tiền online 500k mỗi ngày inbox mình", "label": "spam"}]
    content = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode() + b"\n\n"
    r = upload(c, content, "tai_lieu/ghi_chu.jsonl")     # a path: its base name
    assert r.status_code == 302
    assert imported(sessions) == [(x["text"], x["label"], "ghi_chu.jsonl", None) for x in lines]
    html = c.get(f"/admin/training?source=import&site={ids['_b']}").get_data(as_text=True)
    assert len(listed(html)) == 3                        # global rows serve every site


def problems(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-line="(\d*)">[^<]*</td><td>([^<]*)</td>', html)


@pytest.mark.parametrize(("content", "name", "form", "expected"), [
    (b"text,label\n\xff\xfe bad,clean\n", "a.csv", {}, [("2", "The file is not UTF-8 text.")]),
    (b"noi_dung,label\nxin chao,clean\n", "a.csv", {},
     [("1", "Column(s) text not found; the header has: noi_dung, label.")]),
    (b'text,label\n"unterminated,clean\nx,spam\n', "a.csv", {}, None),
    (b'{"text": "a", "label": "clean"}\n{"text": "b", "label": \n', "a.jsonl", {},
     [("2", None)]),
    (b'{"text": "a", "label": "clean"}\n["b", "spam"]\n', "a.jsonl", {},
     [("2", "Each line must be a JSON object.")]),
    (b"", "a.csv", {}, [("", "The file has no rows.")]),
    (b"text,label\n", "a.csv", {}, [("", "The file has no rows.")]),
    (b"text,label\nxin chao,clean\n", "a.txt", {}, None),
])
def test_malformed_file_imports_nothing(decided, sessions, content, name, form,  # noqa: ANN001
                                        expected) -> None:
    app, _ = decided
    c = admin_client(app)
    r = upload(c, content, name, **form)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "data-import-error" in html and "data-import-form" in html   # the form again
    if expected is not None:
        got = problems(html)
        assert [line for line, _ in got] == [line for line, _ in expected]
        for (_, text), (_, want) in zip(got, expected, strict=True):
            assert want is None or text == want
    assert imported(sessions) == []
    assert audits(sessions) == []


def test_bad_rows_reported_with_line_numbers(decided, sessions) -> None:  # noqa: ANN001
    app, _ = decided
    c = admin_client(app)
    content = ("text,label\n"
               "Bài viết hay,clean\n"                   # 2
               '"Câu trả lời\nhai dòng",toxic\n'        # 3-4: the record starts on 3
               "   ,spam\n"                              # 5
               "Thiếu nhãn\n"                            # 6
               "Được,HATE\n").encode()                   # 7: fine (any case)
    r = upload(c, content, "loi.csv")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Nothing was imported: 3 row(s) are not usable." in html
    assert problems(html) == [
        ("3", "Label “toxic” is not one of clean, spam, offensive, hate."),
        ("5", "The text is empty."), ("6", "The text or the label is missing.")]
    assert imported(sessions) == []
    # asked to skip them, the usable rows go in; the audit names the skipped lines
    r = upload(c, content, "loi.csv", skip_bad="1")
    assert r.status_code == 302
    assert imported(sessions) == [("Bài viết hay", "clean", "loi.csv", None),
                                  ("Được", "hate", "loi.csv", None)]
    [entry] = audits(sessions, "training.import")
    assert entry.details["skipped_lines"] == [3, 5, 6]
    assert "2 row(s) skipped." not in c.get("/admin/training").get_data(as_text=True)


def test_import_limits(decided, sessions) -> None:  # noqa: ANN001
    app, _ = decided
    c = admin_client(app)
    # beyond the API's 64 KiB request limit: the import has its own
    rows = "".join(f"Bình luận thứ {i} về giao thông,clean\n" for i in range(3000))
    big = ("text,label\n" + rows).encode()
    assert len(big) > 64 * 1024
    r = upload(c, big, "lon.csv")
    assert r.status_code == 302
    assert len(imported(sessions)) == 3000
    app.config["TRAINING_IMPORT_MAX_BYTES"] = len(big) - 1000
    r = upload(c, big, "lon2.csv")
    assert r.status_code == 413 and "larger than" in r.get_data(as_text=True)
    r = upload(c, big * 3, "lon3.csv")                   # far beyond: refused while reading
    assert r.status_code == 413 and r.mimetype == "text/html"
    assert len(imported(sessions)) == 3000
    r = upload(c, b"text,label\nx,clean\n", "a.csv", text_column="t" * 101)
    assert r.status_code == 400
    r = c.post("/admin/training/import", data={"csrf_token": token(c)},
               content_type="multipart/form-data")
    assert r.status_code == 400 and "Choose a file" in r.get_data(as_text=True)


def test_pages_of_fifty(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    content = "text,label\n" + "".join(f"Ý kiến số {i:03d},clean\n" for i in range(120))
    assert upload(c, content.encode(), "nhieu.csv").status_code == 302
    seen: list[str] = []
    for number in (1, 2, 3):
        html = c.get(f"/admin/training?source=import&page={number}").get_data(as_text=True)
        seen += listed(html)
        assert f"120 examples · page {number} of 3" in html
    assert len(seen) == 120 == len(set(seen))
    assert c.get("/admin/training?source=import&page=4").status_code == 200
    # decisions and imports together, newest first: the 120 imports, then the 10 decisions
    pages = [listed(c.get(f"/admin/training?page={n}").get_data(as_text=True))
             for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 30]
    assert [k for p in pages for k in p] == seen + [
        f"d:{ids[n]}" for n in reversed(("khen", "gop_y", "nfd", "xss", "site_b", "teencode",
                                         "vay", "chui", "ghet", "lac_de"))]


# --- export ---------------------------------------------------------------------------------

def test_export_is_the_effective_training_set(decided, sessions, tmp_path: Path) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    upload(c, "text,label\nTin rất hữu ích,clean\nLô đề online uy tín,spam\n".encode(),
           "them.csv", site=str(ids["_b"]))
    t = token(c)
    c.post("/admin/training/apply", data={"csrf_token": t, "row": f"exclude@d:{ids['ghet']}"})
    c.post("/admin/training/apply", data={"csrf_token": t,
                                          "row": f"relabel:spam@d:{ids['lac_de']}"})
    with sessions() as s:
        expected = list(training_set(s))
    r = c.get("/admin/training/export?format=csv")
    assert r.status_code == 200 and r.is_streamed
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    back = list(csv.DictReader(io.StringIO(r.get_data(as_text=True), newline="")))
    assert [(b["source"], int(b["ref"]), b["label"], b["text"]) for b in back] == [
        (e.source, e.ref, e.label, e.text) for e in expected]
    assert ("decision", ids["ghet"]) not in {(e.source, e.ref) for e in expected}
    assert ("decision", ids["lac_de"], "spam") in {(e.source, e.ref, e.label) for e in expected}
    # the trainer reads it as it is
    path = tmp_path / "export.csv"
    path.write_bytes(r.get_data())
    texts, labels, _ = load_file(DataSpec(str(path), "text", "label"))
    assert labels == [e.label for e in expected] and texts[0] == expected[0].text

    r = c.get(f"/admin/training/export?format=jsonl&site={ids['_a']}")
    rows = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    with sessions() as s:
        assert rows == [{"text": e.text, "label": e.label, "source": e.source, "ref": e.ref,
                         "site_id": e.site_id, "at": e.at}
                        for e in training_set(s, site_id=ids["_a"])]
    assert {r["site_id"] for r in rows} == {ids["_a"]}
    r = c.get("/admin/training/export?format=csv&from=2999-01-01")
    assert r.get_data(as_text=True).splitlines() == ["text,label,source,ref,site_id,at"]
    for bad in ("format=xlsx", "from=hôm-qua", "site=x", "from=0001-01-01"):
        assert c.get(f"/admin/training/export?{bad}").status_code == 400
    # each streamed export gave its database connection back (none left in a transaction)
    assert app.extensions["vimod.engine"].pool.checkedout() == 0


# --- escaping, base data --------------------------------------------------------------------

def test_untrusted_text_is_escaped(decided, sessions) -> None:  # noqa: ANN001
    app, ids = decided
    c = admin_client(app)
    buf = io.StringIO()
    csv.writer(buf).writerows([("text", "label"), (XSS, "spam")])
    r = upload(c, buf.getvalue().encode(), '<img src=x onerror=alert(9)>.csv')
    assert r.status_code == 302
    c.post("/admin/training/apply", data={"csrf_token": token(c), "note": XSS,
                                          "row": f"relabel:spam@d:{ids['xss']}"})
    for url in ("/admin/training", "/admin/training?source=import"):
        r = c.get(url)
        html = r.get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert 'href="javascript:' not in html and "&lt;script&gt;" in html
        assert "style=" not in html and "<script>" not in html.replace(
            '<script src="/static/', "")
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    r = upload(c, f"text,label\nx,{XSS[:30]}\n".encode(), "bad.csv")
    assert r.status_code == 400 and "<script>alert" not in r.get_data(as_text=True)


def test_base_data_box(decided, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    app, _ = decided
    (tmp_path / "vihsd_train.csv").write_text("free_text,label_id\nxin chào,0\n", "utf-8")
    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path))
    html = admin_client(app).get("/admin/training").get_data(as_text=True)
    box = html.split("data-base-data")[1]
    present = dict(re.findall(r'data-base-file="([^"]+)">.*?data-present="(\w+)"', box, re.S))
    assert present == {"vihsd_train.csv": "yes", "victsd_train.csv": "no",
                       "vispam_train.csv": "no", "vihos_train.csv": "no",
                       "news_spam.csv": "yes"}     # shipped in the package
    vihsd = box.split('data-base-file="vihsd_train.csv"')[1].split("</tr>")[0]
    assert "22,719" in vihsd and "research use only" in vihsd and "ViHSD" in vihsd
    assert "<code>2</code>→<code>hate</code>" in vihsd
    assert "44,492" in box and str(tmp_path) in box


@pytest.mark.parametrize(("data", "fmt", "rows", "bad"), [
    # Windows line ends, a BOM, a quoted record over two lines: lines counted as an editor does
    ("\ufefftext,label\r\nMột,clean\r\n\"Hai\r\ndòng\",spam\r\n,hate\r\nBốn,xấu\r\n", "csv",
     [(2, "Một", "clean"), (3, "Hai\r\ndòng", "spam")], [(5, "empty_text"), (6, "bad_label")]),
    ('\ufeff{"text": "Một", "label": "clean"}\r\n\r\n{"text": 5, "label": "spam"}\n'
     '{"label": "hate"}\n{"text": "Bốn \\u0000", "label": "hate"}\n'
     '{"text": "\\ud800", "label": "hate"}\n', "jsonl",
     [(1, "Một", "clean")], [(3, "not_text"), (4, "missing_value"), (5, "bad_character"),
                             (6, "bad_character")]),
])
def test_parser_line_numbers(data: str, fmt: str, rows, bad) -> None:  # noqa: ANN001
    parsed = parse(data.encode("utf-8", "surrogatepass"), fmt)
    assert parsed.malformed is None
    assert [(r.line, r.text, r.label) for r in parsed.rows] == rows
    assert [(p.line, p.code) for p in parsed.bad] == bad
