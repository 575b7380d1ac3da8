"""Shadow mode: a candidate version scores new comments beside the active model without
deciding anything; promotion, roll back and the shadow switch reach a running worker
process without a restart (VIMOD_MODEL_RECHECK_SECONDS, 5 s by default)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.classifier.registry import (
    DEFAULT_VERSION,
    Registry,
    clear_cache,
    load_active,
    load_shadow,
)
from service.model_compare import shadow_agreement, shadow_of
from service.storage import Comment
from tests.admin.test_models_admin import (  # noqa: F401 - fixtures
    FULL,
    TWO,
    admin_client,
    decide,
    registry,
    tiny_models,
)
from tests.helpers import headers, payload
from tests.test_end_to_end import start, wait_for_status  # noqa: F401 - the start fixture
from tests.test_review import post_comment, ui  # noqa: F401 - the ui fixture
from workers.pipeline import classifier, policy
from workers.pipeline.context import CommentContext

TEXTS = [
    "Vay tiền nhanh lãi suất thấp, ib zalo 0912 345 678",
    "đm thằng này ngu vl",
    "Bài viết rất hay, cảm ơn tác giả",
    "bọn bắc kỳ chó má cút đi",
    "Giá xăng lại tăng rồi, dân khổ quá",
]


def test_registry_shadow_pointer(registry: Registry) -> None:  # noqa: F811
    assert registry.shadow() is None and registry.shadow_version() is None
    assert registry.set_shadow(FULL) is None
    shadow = registry.shadow()
    assert shadow["version"] == FULL
    assert datetime.strptime(shadow["since"], "%Y-%m-%dT%H:%M:%SZ")
    assert registry.set_shadow(TWO) == FULL
    listed = {r["version"]: r for r in registry.list()}
    assert listed[TWO]["shadow"] and not listed[FULL]["shadow"]
    assert registry.active_version() == DEFAULT_VERSION   # the active pointer is untouched
    with pytest.raises(KeyError):
        registry.set_shadow("nope")
    assert registry.clear_shadow() == TWO
    assert registry.clear_shadow() is None
    actions = [(e["scope"], e["from"], e["to"], e["action"]) for e in registry.state()["log"]]
    assert actions == [("shadow", None, FULL, "shadow"), ("shadow", FULL, TWO, "shadow"),
                       ("shadow", TWO, None, "shadow_clear")]
    # a hand-edited pointer with a broken shadow entry reads as "no shadow"
    state = json.loads(registry.pointer_path.read_text("utf-8"))
    state["shadow"] = "garbage"
    registry.pointer_path.write_text(json.dumps(state), "utf-8")
    assert registry.shadow() is None and registry.list()[0]["shadow"] is False


def test_load_shadow_is_cached_and_rechecked(registry: Registry, caplog) -> None:  # noqa: ANN001, F811
    root = registry.root
    assert load_shadow(root) is None
    registry.set_shadow(FULL)
    assert load_shadow(root, max_age=60) is None          # not re-checked yet
    clf = load_shadow(root, max_age=0)
    assert clf is not None and clf.version == FULL
    assert load_shadow(root, max_age=60) is clf
    assert load_active(root, max_age=0).version == DEFAULT_VERSION
    registry.clear_shadow()
    assert load_shadow(root, max_age=60) is clf
    assert load_shadow(root, max_age=0) is None
    # a candidate that cannot be loaded is no shadow (logged), and the active one serves on
    (registry.path_of(TWO) / "weights.npz").write_bytes(b"broken")
    registry.set_shadow(TWO)
    with caplog.at_level(logging.ERROR):
        assert load_shadow(root, max_age=0) is None
    assert "loading shadow model" in caplog.text
    assert load_active(root, max_age=0).version == DEFAULT_VERSION


def _ctx(i: int, text: str, settings: dict) -> CommentContext:
    return CommentContext(comment_id=i, site_id=1, body=text, author_name="Lan",
                          author_email="lan@example.vn", client_ip=None, site_settings=settings)


@pytest.mark.parametrize("settings", [
    {},
    {"auto_reject": {"spam": 0.5, "hate": 0.6}, "premoderation": False,
     "auto_approve_below": 0.4},
])
def test_shadow_scores_beside_the_active_model_and_decides_nothing(
        registry: Registry, settings: dict) -> None:  # noqa: F811
    ctxs = [_ctx(i, t, settings) for i, t in enumerate(TEXTS, 1)]
    plain = classifier.run(ctxs, list(TEXTS))
    registry.set_shadow(FULL)
    clear_cache()
    shadowed = classifier.run(ctxs, list(TEXTS))
    full = load_shadow()
    assert full is not None and full.version == FULL
    expected = full.predict_proba(TEXTS)
    for ctx, text, a, b, scores in zip(ctxs, TEXTS, plain, shadowed, expected, strict=True):
        shadow = b.data.pop("shadow")
        assert shadow["version"] == FULL
        assert shadow["scores"] == {k: round(v, 4) for k, v in scores.items()}
        assert shadow["label"] == max(scores, key=scores.get)
        assert b.model_version == DEFAULT_VERSION
        # everything the policy decides from is what it was without a shadow
        assert (a.scores, a.flags, a.spans, a.data) == (b.scores, b.flags, b.spans, b.data)
        out_a = policy.decide(ctx, [a], text)
        out_b = policy.decide(ctx, [b], text)
        assert (out_a.status, out_a.priority, out_a.certainty, out_a.reason,
                out_a.model_version) == (out_b.status, out_b.priority, out_b.certainty,
                                         out_b.reason, out_b.model_version)
    # once the candidate is the active model there is nothing to compare
    registry.promote(FULL)
    clear_cache()
    assert all("shadow" not in r.data for r in classifier.run(ctxs, list(TEXTS)))


def test_comments_carry_the_shadow_answer_and_the_compare_page_counts_them(
        ui, registry, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    before = post_comment(app, keys["a"][1], resources, "Trước khi có shadow")
    registry.set_shadow(FULL)
    clear_cache()
    ids = [post_comment(app, keys["a"][1], resources, t) for t in TEXTS]
    with sessions() as s:
        assert shadow_of(s.get(Comment, before).analysis) is None
        rows = [s.get(Comment, i) for i in ids]
        for c in rows:
            assert c.model_version == DEFAULT_VERSION
            assert shadow_of(c.analysis)["version"] == FULL
        active = [c.analysis["phases"]["classifier"]["label"] for c in rows]
        shadow = [shadow_of(c.analysis)["label"] for c in rows]
    gold = ["spam", "offensive", "clean", "hate"]
    for cid, label in zip(ids, gold, strict=False):  # the last one stays undecided
        decide(sessions, cid, label)
    since = datetime.now(UTC) - timedelta(hours=1)
    with sessions() as s:
        figures = shadow_agreement(s, FULL, since)
    assert figures["n"] == len(TEXTS)
    assert figures["agree"] == sum(a == b for a, b in zip(active, shadow, strict=True))
    assert figures["moderated"] == 4
    assert figures["active_right"] == sum(a == g for a, g in zip(active, gold, strict=False))
    assert figures["shadow_right"] == sum(b == g for b, g in zip(shadow, gold, strict=False))
    assert {e["ref"] for e in figures["examples"]} == {
        i for i, a, b, g in zip(ids, active, shadow, gold, strict=False)
        if (a == g) != (b == g)}

    html = admin_client(app).get(f"/admin/models/{FULL}").get_data(as_text=True)
    section = html.split("data-shadow>")[1].split("</section>")[0]
    assert (f"{len(TEXTS)} new comments scored by both {FULL} and the active model; they "
            f"gave the same label to {figures['agree']}") in section
    assert (f"the active model was right on {figures['active_right']}, the shadow on "
            f"{figures['shadow_right']}") in section


# --- a real worker process -------------------------------------------------------------------

def _submit_for(client, key: str, seconds: float) -> list[int]:  # noqa: ANN001
    ids, end = [], time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        r = client.post("/api/v1/comments", json=payload(body=f"{TEXTS[n % len(TEXTS)]} #{n}"),
                        headers=headers(key))
        assert r.status_code == 202
        ids.append(r.json["id"])
        n += 1
        time.sleep(0.5)
    return ids


def _scored(sessions, ids: list[int]) -> list[Comment]:  # noqa: ANN001
    for cid in ids:
        wait_for_status(sessions, cid, "pending")
    with sessions() as s:
        return list(s.scalars(select(Comment).where(Comment.id.in_(ids)).order_by(Comment.id)))


@pytest.mark.e2e
def test_running_worker_follows_promotion_shadow_and_rollback_within_10s(
        client, site, sessions, start, registry) -> None:  # noqa: ANN001, F811
    """Promote + shadow, then roll back + clear, while a prefork worker (2 processes) runs:
    every comment analysed 10 s or more after a change carries the new state."""
    _, key = site
    start("worker")   # inherits VIMOD_MODEL_REGISTRY (the registry fixture set it)
    first = client.post("/api/v1/comments", json=payload(), headers=headers(key)).json["id"]
    warm = wait_for_status(sessions, first, "pending", timeout=90)
    assert warm.model_version == DEFAULT_VERSION and shadow_of(warm.analysis) is None

    changed = datetime.now(UTC)
    registry.promote(FULL)
    registry.set_shadow(TWO)
    rows = _scored(sessions, _submit_for(client, key, 13))
    late = [c for c in rows if c.analysed_at >= changed + timedelta(seconds=10)]
    assert len(late) >= 2
    for c in late:
        assert c.model_version == FULL
        assert shadow_of(c.analysis)["version"] == TWO
    switched = [c for c in rows if c.model_version == FULL]
    assert switched, "no comment scored by the promoted version"
    first_new = min((c.analysed_at - changed).total_seconds() for c in switched)
    last_old = max(((c.analysed_at - changed).total_seconds() for c in rows
                    if c.model_version != FULL), default=0.0)
    print(f"promotion reached the worker: first comment on {FULL} analysed {first_new:.1f}s "
          f"after, last on the old version {last_old:.1f}s after")

    changed = datetime.now(UTC)
    registry.rollback()
    registry.clear_shadow()
    rows = _scored(sessions, _submit_for(client, key, 13))
    late = [c for c in rows if c.analysed_at >= changed + timedelta(seconds=10)]
    assert len(late) >= 2
    for c in late:
        assert c.model_version == DEFAULT_VERSION
        assert shadow_of(c.analysis) is None
