"""Admin console, models: list, promote / make active, roll back, shadow switch, and the
compare page (real registry on disk, real Redis cache, SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from models.classifier.datasets import Dataset
from models.classifier.model import Classifier
from models.classifier.registry import DEFAULT_VERSION, Registry, clear_cache
from models.classifier.train import TrainParams, train
from service import moderation
from service.model_compare import (
    EvalSet,
    compare,
    recent_decisions,
    shadow_agreement,
    trained_until,
)
from service.storage import AuditEntry, Comment, TrainingOverride, User
from tests.test_review import PASSWORD, XSS, csrf, login, post_comment, ui  # noqa: F401

CLEAN = [
    "Bài viết rất hay, cảm ơn tác giả", "Giá xăng lại tăng rồi", "Đội tuyển đá quá hay",
    "Mong cơ quan chức năng sớm vào cuộc", "Hà Nội hôm nay mưa to", "Chúc mừng các em",
    "Tôi đồng ý với ý kiến này", "Thông tin hữu ích quá", "Cảm ơn báo đã đưa tin",
    "Giao thông giờ cao điểm kẹt quá", "Bệnh viện quá tải", "Học phí tăng cao quá",
    "Cam on tac gia bai viet hay", "Trận đấu tối qua rất hấp dẫn", "Nên xử lý nghiêm",
]
SPAM = [
    "Vay tiền nhanh lãi suất thấp ib zalo 0912 345 678", "Nhà cái uy tín nạp 100k tặng 200k",
    "Vay tien nhanh chi can CCCD lien he 0987.654.321", "Soi kèo chuẩn vào www.bet88.vip",
    "Kiếm tiền online 500k mỗi ngày inbox mình", "Thanh lý giày giá rẻ ib zalo 0903 111 222",
    "Tuyển cộng tác viên làm tại nhà ib zalo", "Casino trực tuyến rút tiền siêu tốc",
    "Sale sốc 50% mỹ phẩm inbox shop", "vay nhanh online duyet 5 phut zalo 09xx",
]
OFFENSIVE = [
    "đm thằng này ngu vl", "dm thang nay ngu vl", "ngu như chó", "đồ óc chó", "vl ngu thật",
    "thằng ngu này nói láo", "đm nói ngu vãi", "dm bọn ngu", "vcl thằng này", "óc chó vl",
]
HATE = [
    "bọn bắc kỳ chó má cút đi", "bon bac ky cho ma", "bọn nam kỳ lừa đảo cút về",
    "lũ bắc kỳ súc vật", "bọn này đáng chết hết", "lu nam ky suc vat", "giết hết bọn nó đi",
]
CONFIRM = {"confirm_warnings": "yes"}   # the promote page's warnings, read and confirmed
FULL = "v1-full"   # knows clean / spam / offensive / hate
TWO = "v2-two"     # knows clean / spam only


def _tiny(pairs: list[tuple[str, str]], out: Path) -> Path:
    ds = Dataset(texts=[t for t, _ in pairs], labels=[y for _, y in pairs],
                 weights=[1.0] * len(pairs), sources=[0] * len(pairs),
                 summary=[{"file": "tiny", "used": len(pairs)}])
    clf, metrics = train(ds, TrainParams(min_df=1, folds=2, C=0.5))
    clf.save(out, metrics=metrics, data_summary={"total": len(ds), "labels": ds.label_counts()})
    return out


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small trained models (the Python API of `vimod model train`)."""
    d = tmp_path_factory.mktemp("tiny-models")
    labelled = ([(t, "clean") for t in CLEAN] + [(t, "spam") for t in SPAM]
                + [(t, "offensive") for t in OFFENSIVE] + [(t, "hate") for t in HATE])
    return {FULL: _tiny(labelled, d / "full"),
            TWO: _tiny([p for p in labelled if p[1] in ("clean", "spam")], d / "two")}


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_models) -> Registry:  # noqa: ANN001
    """A fresh registry with the two versions; no base evaluation files unless a test
    provides them."""
    root = tmp_path / "registry"
    monkeypatch.setenv("VIMOD_MODEL_REGISTRY", str(root))
    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path / "no-base-data"))
    clear_cache()
    reg = Registry(root)
    for version, path in tiny_models.items():
        reg.register(path, version=version)
    yield reg
    clear_cache()


def admin_client(app):  # noqa: ANN001, ANN201
    """A signed-in admin client, in English (the assertions read the English msgids)."""
    c = app.test_client()
    assert login(c, "quantri").status_code == 302
    c.post("/lang", data={"lang": "en", "next": "/admin",
                          "csrf_token": csrf(c.get("/login").get_data(as_text=True))})
    return c


def audits(sessions, action: str | None = None) -> list[AuditEntry]:  # noqa: ANN001
    with sessions() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return list(s.scalars(stmt))


def decide(sessions, comment_id: int, label: str) -> None:  # noqa: ANN001
    """A moderator's decision implying `label` (approve = clean, reject with a reason)."""
    with sessions() as s:
        user = s.scalar(select(User).where(User.username == "bientap_a"))
        comment = s.get(Comment, comment_id)
        if label == "clean":
            moderation.approve(s, comment, user.id, user.username)
        else:
            moderation.reject(s, comment, user.id, user.username, label)


# --- access, list ---------------------------------------------------------------------------

def test_models_page_admins_only(ui, registry) -> None:  # noqa: ANN001, F811
    app, _ = ui
    anon = app.test_client()
    assert anon.get("/admin/models").status_code == 302
    mod = app.test_client()
    login(mod, "bientap_a")
    assert mod.get("/admin/models").status_code == 403
    assert mod.get(f"/admin/models/{FULL}").status_code == 403
    token = csrf(mod.get("/review").get_data(as_text=True))
    r = mod.post(f"/admin/models/{FULL}/promote",
        data={"csrf_token": token, **CONFIRM, "expect": ""})
    assert r.status_code == 403
    assert registry.active_version() == DEFAULT_VERSION


def test_list_shows_every_version_default_first(ui, registry) -> None:  # noqa: ANN001, F811
    app, _ = ui
    html = admin_client(app).get("/admin/models").get_data(as_text=True)
    order = re.findall(r'<tr data-version="([^"]+)"', html)
    assert order == [DEFAULT_VERSION, TWO, FULL]   # shipped first, then newest name first
    row = html.split(f'<tr data-version="{FULL}"')[1].split("</tr>")[0]
    assert "41" in row or "42" in row  # texts in the training data summary
    # Issue #17: a version's cross-validated figure (on its own training data) is not shown
    # beside another's; only figures on the same examples (the base evaluation files).
    cv = Registry().info(FULL)["metrics"]["cross_validation"]["macro_f1"]
    assert "cross-validation" not in row and f"{cv:.3f}" not in row
    assert "not measured on the base evaluation files" in row
    default_row = html.split(f'<tr data-version="{DEFAULT_VERSION}"')[1].split("</tr>")[0]
    assert "44492" in default_row and "0.652" not in default_row   # its cross-validation
    assert "vihsd_dev.csv</code> (2672 examples): 0.630" in default_row
    assert "Only figures measured on the same examples are shown side by side" in html
    assert 'href="/admin/models"' in html  # the console's navigation has the section


# --- promote -------------------------------------------------------------------------------

def test_promote_refused_without_confirming_a_lost_policy_label(ui, registry, sessions) -> None:  # noqa: ANN001, F811
    """Issue #17: the candidate lacks "hate", which the active model gives and a site's
    auto-reject uses: the confirm page names the warnings, the promotion is refused without
    the explicit confirmation, and the confirmation is audited."""
    from service.storage import Site

    app, keys = ui
    site_a = keys["a"][0]
    with sessions() as s:
        site = s.get(Site, site_a)
        site.settings = {**(site.settings or {}), "auto_reject": {"hate": 0.95, "spam": "off"}}
        s.commit()
    c = admin_client(app)
    html = c.get(f"/admin/models/{TWO}/promote").get_data(as_text=True)
    warnings = re.findall(r'data-warning="([a-z_]+)">([^<]*)<', html)
    assert [code for code, _ in warnings] == [
        "lacks_active_label", "lacks_policy_label", "few_examples"]
    texts = dict(warnings)
    assert "does not know Offensive, Hate" in texts["lacks_active_label"]
    assert "Báo A" in texts["lacks_policy_label"] and "Hate" in texts["lacks_policy_label"]
    assert "auto-reject at 0.95" in texts["lacks_policy_label"]
    assert "Spam" not in texts["lacks_policy_label"]            # switched off: not used
    assert "fewer than 30 examples" in texts["few_examples"]
    assert "data-confirm-warnings" in html
    token = csrf(html)
    r = c.post(f"/admin/models/{TWO}/promote", data={"csrf_token": token, "expect": ""})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/admin/models/{TWO}/promote")
    assert registry.active_version() == DEFAULT_VERSION and audits(sessions) == []
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Not made active: 3 warnings need your confirmation." in page
    r = c.post(f"/admin/models/{TWO}/promote",
               data={"csrf_token": token, "expect": "", "confirm_warnings": "yes"})
    assert r.status_code == 302 and registry.active_version() == TWO
    (entry,) = audits(sessions, "model.promote")
    assert entry.details == {"scope": "global", "from": DEFAULT_VERSION, "to": TWO,
                             "warnings": ["lacks_active_label", "lacks_policy_label",
                                          "few_examples"], "warnings_confirmed": True}


def test_promote_warns_of_an_f1_drop_on_the_same_decisions(ui, registry, resources, sessions) -> None:  # noqa: ANN001, F811, E501
    app, keys = ui
    key = keys["a"][1]
    for text in SPAM[:3]:
        decide(sessions, post_comment(app, key, resources, text), "spam")
    for text in HATE[:3]:
        decide(sessions, post_comment(app, key, resources, text), "hate")
    c = admin_client(app)
    c.post(f"/admin/models/{FULL}/promote", data={
        "csrf_token": csrf(c.get(f"/admin/models/{FULL}/promote").get_data(as_text=True)),
        **CONFIRM, "expect": ""})
    assert registry.active_version() == FULL
    html = c.get(f"/admin/models/{TWO}/promote").get_data(as_text=True)
    drop = re.search(r'data-warning="f1_drop">([^<]*)<', html).group(1)
    assert "on the same 6 moderator decisions" in drop and "Hate 1.000 → 0.000" in drop
    assert "Compared with v1-full on 6 moderator decisions" in html


def test_promote_needs_confirmation_csrf_and_is_audited(ui, registry, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = admin_client(app)
    page = c.get(f"/admin/models/{FULL}/promote")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r"data-from>\s*default<", html) and re.search(rf"data-to>\s*{FULL}<", html)
    token = csrf(html)
    # no CSRF token: refused, nothing changes
    assert c.post(f"/admin/models/{FULL}/promote", data={"expect": ""}).status_code == 400
    # the state the page showed is no longer the state: refused
    r = c.post(f"/admin/models/{FULL}/promote",
        data={"csrf_token": token, **CONFIRM, "expect": TWO})
    assert r.status_code == 409 and "text/html" in r.content_type
    assert registry.active_version() == DEFAULT_VERSION and audits(sessions) == []

    r = c.post(f"/admin/models/{FULL}/promote", data={"csrf_token": token, **CONFIRM, "expect": ""})
    assert r.status_code == 302
    assert registry.active_version() == FULL
    (entry,) = audits(sessions, "model.promote")
    assert (entry.actor, entry.target_type, entry.target_id) == ("quantri", "model", FULL)
    assert entry.details == {"scope": "global", "from": DEFAULT_VERSION, "to": FULL,
                             "warnings": ["few_examples"], "warnings_confirmed": True}
    listed = c.get("/admin/models").get_data(as_text=True)
    scope_row = listed.split('data-scope="global"')[1].split("</tr>")[0]
    assert f">{FULL}</a>" in scope_row

    # the same again: nothing to do, nothing audited
    c.post(f"/admin/models/{FULL}/promote", data={"csrf_token": token, **CONFIRM, "expect": FULL})
    assert len(audits(sessions, "model.promote")) == 1

    # one site only
    site_a = keys["a"][0]
    html = c.get(f"/admin/models/{TWO}/promote?site={site_a}").get_data(as_text=True)
    assert "Báo A" in html and re.search(rf"data-from>\s*{FULL}<", html)
    r = c.post(f"/admin/models/{TWO}/promote",
               data={"csrf_token": token, **CONFIRM, "site": str(site_a), "expect": ""})
    assert r.status_code == 302
    assert registry.active_version(site_a) == TWO and registry.active_version() == FULL
    assert audits(sessions, "model.promote")[-1].details == {
        "scope": f"site:{site_a}", "from": DEFAULT_VERSION, "to": TWO,
        "warnings": ["lacks_active_label", "few_examples"], "warnings_confirmed": True}
    listed = c.get("/admin/models").get_data(as_text=True)
    assert f'data-scope="site:{site_a}"' in listed


def test_promote_bad_input_is_a_clear_4xx(ui, registry, sessions) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = admin_client(app)
    token = csrf(c.get("/admin/models").get_data(as_text=True))
    for path, data, status in [
        ("/admin/models/nope/promote", {"expect": ""}, 404),
        (f"/admin/models/{FULL}/promote", {"expect": "", "site": "abc"}, 400),
        (f"/admin/models/{FULL}/promote", {"expect": "", "site": "99999"}, 400),
        (f"/admin/models/{FULL}/promote", {"expect": "", "site": "9" * 40}, 400),
        ("/admin/models/..%2Fetc/promote", {"expect": ""}, 404),
    ]:
        r = c.post(path, data={"csrf_token": token, **data})
        assert r.status_code == status, (path, data, r.status_code)
        assert "text/html" in r.content_type
    assert c.get("/admin/models/nope/promote").status_code == 404
    assert c.get(f"/admin/models/{FULL}/promote?site=x").status_code == 400
    assert c.get("/admin/models/nope").status_code == 404
    assert c.get(f"/admin/models/{FULL}?against=nope").status_code == 404
    assert c.get(f"/admin/models/{FULL}?against={FULL}").status_code == 400
    assert registry.active_version() == DEFAULT_VERSION and audits(sessions) == []


def test_a_version_that_does_not_load_is_refused_not_a_500(
        ui, registry, sessions, tmp_path, monkeypatch) -> None:  # noqa: ANN001, F811
    app, _ = ui
    (tmp_path / "vispam_dev.csv").write_text("Comment,Label\nVay tiền nhanh,1\nHay quá,0\n",
                                             "utf-8")
    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path))   # something to evaluate on
    c = admin_client(app)
    token = csrf(c.get("/admin/models").get_data(as_text=True))
    c.post(f"/admin/models/{TWO}/promote", data={"csrf_token": token, **CONFIRM, "expect": ""})
    c.post(f"/admin/models/{DEFAULT_VERSION}/promote", data={"csrf_token": token, **CONFIRM,
                                                             "expect": TWO})
    (registry.path_of(FULL) / "weights.npz").write_bytes(b"truncated")
    (registry.path_of(TWO) / "vocab.json.gz").write_bytes(b"not gzip")
    n = len(audits(sessions))
    for path, data in [(f"/admin/models/{FULL}/promote", {"expect": DEFAULT_VERSION}),
                       (f"/admin/models/{FULL}/shadow", {}),
                       ("/admin/models/pointer/rollback", {"expect": DEFAULT_VERSION,
                                                           "target": TWO})]:
        r = c.post(path, data={"csrf_token": token, **data})
        assert r.status_code == 409, path
        assert "cannot be loaded" in r.get_data(as_text=True)
    r = c.get(f"/admin/models/{FULL}")
    assert r.status_code == 409 and "cannot be loaded" in r.get_data(as_text=True)
    assert registry.active_version() == DEFAULT_VERSION and registry.shadow() is None
    assert len(audits(sessions)) == n
    assert c.get("/admin/models").status_code == 200


# --- roll back, make active ------------------------------------------------------------------

def test_rollback_and_make_active_on_an_earlier_version(ui, registry, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = admin_client(app)
    token = csrf(c.get("/admin/models").get_data(as_text=True))
    # nothing promoted yet: nothing to roll back
    assert "rollback" not in c.get("/admin/models").get_data(as_text=True)
    r = c.post("/admin/models/pointer/rollback", data={"csrf_token": token, "expect": "",
                                                       "target": ""})
    assert r.status_code == 409
    for version, expect in ((FULL, ""), (TWO, FULL)):
        c.post(f"/admin/models/{version}/promote",
            data={"csrf_token": token, **CONFIRM, "expect": expect})
    assert registry.active_version() == TWO

    html = c.get("/admin/models/pointer/rollback").get_data(as_text=True)
    assert re.search(rf"data-from>\s*{TWO}<", html) and re.search(rf"data-to>\s*{FULL}", html)
    assert c.post("/admin/models/pointer/rollback",
                  data={"expect": TWO, "target": FULL}).status_code == 400  # no CSRF
    assert c.post("/admin/models/pointer/rollback", data={
        "csrf_token": token, "expect": FULL, "target": FULL}).status_code == 409
    assert registry.active_version() == TWO
    r = c.post("/admin/models/pointer/rollback",
               data={"csrf_token": token, "expect": TWO, "target": FULL})
    assert r.status_code == 302 and registry.active_version() == FULL
    assert audits(sessions, "model.rollback")[-1].details == {
        "scope": "global", "from": TWO, "to": FULL}
    # back once more: the shipped default
    c.post("/admin/models/pointer/rollback", data={"csrf_token": token, "expect": FULL,
                                                   "target": ""})
    assert registry.active_version() == DEFAULT_VERSION
    assert "no earlier version" in c.get("/admin/models/pointer/rollback").get_data(as_text=True)
    n = len(audits(sessions))
    assert c.post("/admin/models/pointer/rollback", data={
        "csrf_token": token, "expect": "", "target": ""}).status_code == 409
    assert len(audits(sessions)) == n

    # "make active" on any earlier version is a promotion of it
    c.post(f"/admin/models/{TWO}/promote", data={"csrf_token": token, **CONFIRM, "expect": ""})
    c.post(f"/admin/models/{FULL}/promote", data={"csrf_token": token, **CONFIRM, "expect": TWO})
    r = c.post(f"/admin/models/{DEFAULT_VERSION}/promote",
               data={"csrf_token": token, **CONFIRM, "expect": FULL})
    assert r.status_code == 302 and registry.active_version() == DEFAULT_VERSION

    # a site's own pointer rolls back to following the global model
    site_a = keys["a"][0]
    c.post(f"/admin/models/{TWO}/promote", data={"csrf_token": token, **CONFIRM, "site": site_a,
                                                  "expect": ""})
    html = c.get(f"/admin/models/pointer/rollback?site={site_a}").get_data(as_text=True)
    assert re.search(rf"data-from>\s*{TWO}<", html)
    assert re.search(rf"data-to>\s*{DEFAULT_VERSION}", html)
    c.post("/admin/models/pointer/rollback", data={"csrf_token": token, "site": site_a,
                                                   "expect": TWO, "target": ""})
    assert registry.state()["sites"] == {}


# --- shadow ------------------------------------------------------------------------------

def test_shadow_switch(ui, registry, sessions) -> None:  # noqa: ANN001, F811
    app, _ = ui
    c = admin_client(app)
    token = csrf(c.get("/admin/models").get_data(as_text=True))
    assert c.post(f"/admin/models/{FULL}/shadow", data={}).status_code == 400  # CSRF
    r = c.post(f"/admin/models/{DEFAULT_VERSION}/shadow", data={"csrf_token": token})
    assert r.status_code == 400  # the active one cannot shadow itself
    assert c.post("/admin/models/nope/shadow", data={"csrf_token": token}).status_code == 404
    assert registry.shadow() is None and audits(sessions) == []

    assert c.post(f"/admin/models/{FULL}/shadow", data={"csrf_token": token}).status_code == 302
    assert registry.shadow_version() == FULL
    assert audits(sessions, "model.shadow")[-1].details == {"from": None, "to": FULL}
    html = c.get("/admin/models").get_data(as_text=True)
    row = html.split(f'<tr data-version="{FULL}"')[1].split("</tr>")[0]
    assert "flag shadow" in row

    # promoting the shadow candidate globally ends shadow mode (recorded in the audit)
    c.post(f"/admin/models/{FULL}/promote", data={"csrf_token": token, **CONFIRM, "expect": ""})
    assert registry.shadow() is None
    assert audits(sessions, "model.promote")[-1].details["shadow_cleared"] is True

    c.post(f"/admin/models/{TWO}/shadow", data={"csrf_token": token})
    assert c.post("/admin/models/pointer/shadow-clear", data={}).status_code == 400
    r = c.post("/admin/models/pointer/shadow-clear", data={"csrf_token": token})
    assert r.status_code == 302 and registry.shadow() is None
    assert audits(sessions, "model.shadow_clear")[-1].details == {"from": TWO, "to": None}
    n = len(audits(sessions))
    c.post("/admin/models/pointer/shadow-clear", data={"csrf_token": token})  # already off
    assert len(audits(sessions)) == n


# --- compare ------------------------------------------------------------------------------

DECIDED = [
    ("Vay tiền nhanh lãi suất thấp, ib zalo 0912 345 678 ngay", "spam"),
    ("Nhà cái uy tín nạp 100k tặng 200k, vào ngay", "spam"),
    ("Bài viết hay, cảm ơn tác giả nhiều", "clean"),
    ("Mong tỉnh sớm sửa con đường này", "clean"),
    ("đm thằng này ngu vl " + XSS, "offensive"),
    ("bọn bắc kỳ chó má cút đi", "hate"),
    ("Giá xăng lại tăng, dân khổ quá", "clean"),
]


def _decisions(app, keys, resources, sessions) -> list[int]:  # noqa: ANN001
    ids = []
    for body, label in DECIDED:
        cid = post_comment(app, keys["a"][1], resources, body)
        decide(sessions, cid, label)
        ids.append(cid)
    return ids


def test_compare_page(ui, registry, resources, sessions, redis_client) -> None:  # noqa: ANN001, F811
    app, keys = ui
    ids = _decisions(app, keys, resources, sessions)
    c = admin_client(app)
    r = c.get(f"/admin/models/{FULL}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "style=" not in html and "<script" not in html.split("</main>")[0].split("<main", 1)[1]
    assert "&lt;script&gt;" in html or "<img src=x" not in html  # comment text escaped
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    section = html.split('data-set="decisions"')[1].split("</details>")[0]
    # side by side: the candidate and the active default, 2 pictures each
    assert section.count("<svg") == 4 and section.count('class="confusion"') == 2
    assert section.count("<polyline") >= 4
    # Issue #17: the figures are on the same examples, and the page says which and how many,
    # and that this few cannot tell the models apart.
    n = len(DECIDED)
    assert (f"Both versions measured on the same {n} examples: moderator decisions."
            in section)
    assert "Too few examples to tell the models apart: fewer than 30 of" in section
    assert "cross-validat" not in html.lower()

    # the "would have got right" figures are exactly what the models answer
    texts = [b for b, _ in DECIDED]
    gold = [y for _, y in DECIDED]
    for version in (FULL, DEFAULT_VERSION):
        clf = Classifier.load(registry.path_of(version), version=version)
        right = sum(p == g for p, g in zip(clf.predict(texts), gold, strict=True))
        assert f"{version} would have got {right} of {len(texts)} right" in section
    # disagreements link to the comment cards
    full = Classifier.load(registry.path_of(FULL)).predict(texts)
    default = Classifier.load(registry.path_of(DEFAULT_VERSION)).predict(texts)
    for cid, a, b in zip(ids, full, default, strict=True):
        assert (f'href="/review/{cid}"' in section) == (a != b)

    # cached per (model, comment): a second view does not run the model (its weights are
    # broken now, and the page still renders the same figures)
    keys_cached = redis_client.keys("vimod:model-eval:*")
    assert len(keys_cached) == 2 and all(redis_client.ttl(k) > 0 for k in keys_cached)
    (registry.path_of(FULL) / "weights.npz").write_bytes(b"broken")
    again = c.get(f"/admin/models/{FULL}").get_data(as_text=True)
    assert again.split('data-set="decisions"')[1].split("</details>")[0] == section
    # a new decision: only that comment is scored (by the intact default; TWO is new)
    (default_key,) = redis_client.keys(f"vimod:model-eval:{DEFAULT_VERSION}:*")
    assert redis_client.hlen(default_key) == 1 + len(ids)   # the labels + one per comment
    cid = post_comment(app, keys["a"][1], resources, "Cảm ơn báo đã đưa tin kịp thời")
    decide(sessions, cid, "clean")
    html = c.get(f"/admin/models/{TWO}").get_data(as_text=True)
    assert f"The {len(ids) + 1} most recent moderator decisions" in html
    assert len(redis_client.keys("vimod:model-eval:*")) == 3
    assert redis_client.hlen(default_key) == 2 + len(ids)


def test_compare_against_and_relabelled_decisions(ui, registry, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    ids = _decisions(app, keys, resources, sessions)
    with sessions() as s:   # an admin relabelled one decision and excluded another
        s.add(TrainingOverride(comment_id=ids[0], label="clean"))
        s.add(TrainingOverride(comment_id=ids[1], excluded=True))
        s.commit()
    with sessions() as s:
        data = recent_decisions(s)
    assert data.refs == [i for i in ids if i != ids[1]]
    assert data.gold[0] == "clean"
    c = admin_client(app)
    html = c.get(f"/admin/models/{TWO}?against={FULL}").get_data(as_text=True)
    section = html.split('data-set="decisions"')[1].split("</details>")[0]
    # TWO knows two labels, FULL four; the table has every label of either and of the data
    for label in ("clean", "spam", "offensive", "hate"):
        assert f'<th scope="row">{label}</th>' in section
    assert f"The {len(ids) - 1} most recent moderator decisions" in section
    with sessions() as s:
        assert len(recent_decisions(s, n=3)) == 3
        assert recent_decisions(s, n=3).refs == [i for i in ids if i != ids[1]][-3:]


def test_decisions_a_retrained_version_learned_from_are_left_out(
        ui, registry, resources, sessions, tiny_models, tmp_path) -> None:  # noqa: ANN001, F811
    """A version from retraining (service/retraining.py) trained on the decisions made
    before it, except the newest ones it held out: only those and later ones count."""
    app, keys = ui
    ids = _decisions(app, keys, resources, sessions)     # 7 decisions
    time.sleep(1.05)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.05)
    made = tmp_path / "retrained"
    shutil.copytree(tiny_models[FULL], made)
    model = json.loads((made / "model.json").read_text("utf-8"))
    model["created"] = created
    (made / "model.json").write_text(json.dumps(model), "utf-8")
    (made / "data.json").write_text(json.dumps({"total": 50, "decisions": {
        "available": 7, "trained": 5, "held_out": 2}}), "utf-8")
    registry.register(made, version="v3-retrained")
    later = [post_comment(app, keys["a"][1], resources, body) for body in
             ("Cảm ơn báo đã đưa tin kịp thời", "Vay tiền nhanh, ib zalo 0903 111 222")]
    decide(sessions, later[0], "clean")
    decide(sessions, later[1], "spam")
    until = trained_until(registry.info("v3-retrained"))
    assert until is not None and until[1] == 2
    assert trained_until(registry.info(FULL)) is None   # no decisions in its data
    with sessions() as s:
        data = recent_decisions(s, trained=[until])
    assert data.refs == ids[5:] + later and data.left_out == 5 and data.available == 9
    html = admin_client(app).get("/admin/models/v3-retrained").get_data(as_text=True)
    assert "data-left-out" in html and "The 4 most recent moderator decisions" in html


def test_compare_on_the_base_evaluation_files(ui, registry, tmp_path, monkeypatch) -> None:  # noqa: ANN001, F811
    app, _ = ui
    base = tmp_path / "base"
    base.mkdir()
    with (base / "vihsd_dev.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["free_text", "label_id"])
        for text, code in [("Bài viết hay quá", 0), ("thằng này ngu vl", 1),
                           ("bọn bắc kỳ cút đi", 2), ("Cảm ơn tác giả", 0)]:
            w.writerow([text, code])
    with (base / "vispam_dev.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Comment", "Label"])
        w.writerow(["Giao hàng nhanh, đóng gói cẩn thận", 0])
        w.writerow(["Vay tiền nhanh ib zalo 0912 345 678", 1])
    monkeypatch.setenv("VIMOD_BASE_DATA", str(base))
    html = admin_client(app).get(f"/admin/models/{FULL}").get_data(as_text=True)
    assert 'data-set="decisions"' not in html   # no decisions yet
    assert "No moderator decisions yet" in html
    for key, title in (("base:vihsd_dev.csv", "ViHSD dev"), ("base:vispam_dev.csv",
                                                              "ViSpamReviews dev")):
        section = html.split(f'data-set="{key}"')[1].split("</details>")[0]
        assert title in section and section.count("<svg") == 4
    assert "base:victsd_valid.csv" not in html   # not on this machine


def test_compare_page_stays_within_its_time_budget(
        ui, registry, resources, sessions, tmp_path, monkeypatch) -> None:  # noqa: ANN001, F811
    """What does not fit in the budget is named, and computed by a later view."""
    app, keys = ui
    _decisions(app, keys, resources, sessions)
    base = tmp_path / "base"
    base.mkdir()
    (base / "vispam_dev.csv").write_text(
        "Comment,Label\nGiao hàng nhanh\u002c cẩn thận,0\nVay tiền nhanh ib zalo,1\n", "utf-8")
    monkeypatch.setenv("VIMOD_BASE_DATA", str(base))
    c = admin_client(app)
    app.config["MODEL_COMPARE_BUDGET_SECONDS"] = 0
    html = c.get(f"/admin/models/{FULL}").get_data(as_text=True)
    assert 'data-set="decisions"' in html and 'data-set="base:vispam_dev.csv"' not in html
    assert "ViSpamReviews dev" in html.split("data-pending>")[1]
    app.config["MODEL_COMPARE_BUDGET_SECONDS"] = 60
    assert 'data-set="base:vispam_dev.csv"' in c.get(f"/admin/models/{FULL}").get_data(
        as_text=True)
    app.config["MODEL_COMPARE_BUDGET_SECONDS"] = 0   # cached now: shown at no cost
    html = c.get(f"/admin/models/{FULL}").get_data(as_text=True)
    assert 'data-set="base:vispam_dev.csv"' in html and "data-pending" not in html


def test_compare_active_version_against_what_it_replaced(ui, registry, sessions) -> None:  # noqa: ANN001, F811
    app, _ = ui
    registry.promote(FULL)
    html = admin_client(app).get(f"/admin/models/{FULL}").get_data(as_text=True)
    assert f'<option value="{DEFAULT_VERSION}" selected>' in html


# --- the computation without Flask -------------------------------------------------------------

def test_compare_counts_and_curves(registry, redis_client) -> None:  # noqa: ANN001
    texts = [b for b, _ in DECIDED] + ["Thời tiết hôm nay đẹp"]
    gold = [y for _, y in DECIDED] + ["clean"]
    data = EvalSet("decisions", "recent", texts, gold, list(range(1, len(texts) + 1)))
    (first,) = compare(registry, FULL, TWO, [data], cache_client=redis_client)
    assert not first.a.cached and not first.b.cached
    a = Classifier.load(registry.path_of(FULL)).predict(texts)
    b = Classifier.load(registry.path_of(TWO)).predict(texts)
    assert first.a.right == sum(p == g for p, g in zip(a, gold, strict=True))
    assert first.b.right == sum(p == g for p, g in zip(b, gold, strict=True))
    assert first.both_right + first.only_a + first.only_b + first.neither == len(texts)
    assert first.disagree == sum(x != y for x, y in zip(a, b, strict=True))
    assert [d["ref"] for d in first.disagreements] == sorted(
        (i + 1 for i in range(len(texts)) if a[i] != b[i]), reverse=True)
    assert first.labels == ["clean", "spam", "offensive", "hate"]
    assert "offensive" not in first.b.curves and "spam" in first.b.curves
    for curve in first.a.curves.values():
        pts = np.array(curve["points"])
        assert ((pts >= 0) & (pts <= 1)).all() and 0 <= curve["ap"] <= 1
        assert (np.diff(pts[:, 0]) >= 0).all()   # recall never falls along the curve
    (second,) = compare(registry, FULL, TWO, [data], cache_client=redis_client)
    assert second.a.cached and second.b.cached
    assert second.a.report == first.a.report
    # one changed label is another data set
    changed = EvalSet("decisions", "recent", texts, gold[:-1] + ["spam"], data.refs)
    assert changed.fingerprint != data.fingerprint
    (third,) = compare(registry, FULL, TWO, [changed], cache_client=redis_client)
    assert third.a.cached and third.b.cached     # a relabel needs no model run
    assert third.a.right == first.a.right - (a[-1] == "clean") + (a[-1] == "spam")
    # without Redis it still works (computed every time)
    (plain,) = compare(registry, FULL, TWO, [data], cache_client=None)
    assert plain.a.report == first.a.report
    with pytest.raises(KeyError):
        compare(registry, FULL, "nope", [data])


def test_compare_is_fast_enough(registry, redis_client) -> None:  # noqa: ANN001
    """2,000 decisions, two models, nothing cached: well under the few seconds a page may
    take (measured ~1 s on the shared 2-core machine)."""
    rng = np.random.default_rng(7)
    pool = [(t, "clean") for t in CLEAN] + [(t, "spam") for t in SPAM]
    picks = rng.integers(0, len(pool), 2000)
    texts = [f"{pool[i][0]} {n}" for n, i in enumerate(picks)]
    data = EvalSet("decisions", "recent", texts, [pool[i][1] for i in picks],
                   list(range(2000)))
    t0 = time.perf_counter()
    compare(registry, DEFAULT_VERSION, FULL, [data], cache_client=redis_client)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    compare(registry, DEFAULT_VERSION, FULL, [data], cache_client=redis_client)
    warm = time.perf_counter() - t0
    print(f"compare 2,000 texts: cold {cold:.2f}s, cached {warm:.3f}s")
    assert cold < 8 and warm < 0.5


def test_shadow_agreement_without_shadow_comments(sessions) -> None:  # noqa: ANN001
    with sessions() as s:
        figures = shadow_agreement(s, FULL, datetime(2020, 1, 1, tzinfo=UTC))
    assert figures["n"] == 0 and figures["examples"] == []
