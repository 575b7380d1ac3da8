"""Retraining: the trainer's progress, the base recipe, the data a run learns from (weights,
held-out decisions, duplicates), runs (claimed once, one at a time, stale, failed), the
admin page and its JSON, and `vimod model retrain`. Real database (SQLite, and PostgreSQL
with TEST_DATABASE_URL) and real Redis; training on small data so each run takes seconds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from models.classifier.datasets import load_many
from models.classifier.recipe import RECIPE_PATH, base_data_dir, load_recipe
from models.classifier.registry import default_model_dir
from models.classifier.train import STAGES, train
from tests.classifier.conftest import (  # noqa: F401 - data_files is a fixture
    CLEAN,
    HATE,
    OFFENSIVE,
    SPAM,
    TINY,
    data_files,
    specs,
)

# --- the trainer and the recipe (no database) ---------------------------------------------

def test_trainer_reports_stages_and_trains_the_same_model(data_files) -> None:  # noqa: ANN001, F811
    ds = load_many(specs(data_files))
    plain, plain_metrics = train(ds, TINY)
    seen: list[tuple[str, float]] = []
    tracked, tracked_metrics = train(ds, TINY, on_stage=lambda s, f: seen.append((s, f)))
    # Chunked featurisation for the progress bar gives exactly the same model.
    assert np.array_equal(plain.coef, tracked.coef)
    assert plain_metrics == tracked_metrics
    stages = [s for s, _ in seen]
    assert list(dict.fromkeys(stages)) == list(STAGES)   # (each C of the grid: folds, then
    # its calibration)
    for stage in STAGES:
        fractions = [f for s, f in seen if s == stage]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0, stage


def test_trainer_callback_can_abort(data_files) -> None:  # noqa: ANN001, F811
    class Stop(Exception):
        pass

    def stop_at_cv(stage: str, _fraction: float) -> None:
        if stage == "cross_validation":
            raise Stop

    with pytest.raises(Stop):
        train(load_many(specs(data_files)), TINY, on_stage=stop_at_cv)


def test_shipped_recipe_is_the_default_models_data() -> None:
    """base_recipe.json names the files, columns, label maps and weights the shipped
    default model was trained with (its data.json), in the same order."""
    recipe = json.loads(RECIPE_PATH.read_text("utf-8"))
    used = json.loads((default_model_dir() / "data.json").read_text("utf-8"))["files"]
    assert [Path(e["path"]).name for e in recipe["train"]] == [f["file"] for f in used]
    for entry, f in zip(recipe["train"], used, strict=True):
        assert (entry["text_column"], entry["label_column"], entry["label_map"],
                entry["weight"]) == (f["text_column"], f["label_column"], f["label_map"],
                                     f["weight"])
    model = json.loads((default_model_dir() / "model.json").read_text("utf-8"))
    assert recipe["params"]["C"] == model["params"]["C"]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_recipe_locates_base_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_csv(tmp_path / "vihsd_train.csv", ["free_text", "label_id"], [["Bài hay", 0]])
    write_csv(tmp_path / "vihsd_dev.csv", ["free_text", "label_id"], [["Bài dở", 0]])
    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path))
    assert base_data_dir() == tmp_path
    recipe = load_recipe()
    assert [Path(s.path).name for s in recipe.train] == ["vihsd_train.csv", "news_spam.csv"]
    assert [Path(s.path).name for s in recipe.eval] == ["vihsd_dev.csv"]
    assert sorted(Path(p).name for p in recipe.missing) == sorted(
        ["victsd_train.csv", "vispam_train.csv", "vihos_train.csv", "victsd_valid.csv",
         "vispam_dev.csv", "vihos_dev.csv"])
    assert recipe.train[0].label_map == {"0": "clean", "1": "offensive", "2": "hate"}
    assert recipe.train[1].weight == 3.0       # the project's news spam, shipped
    assert recipe.params == {"C": 0.25}


# --- data for runs: a small base folder and decided comments -------------------------------

NEWS = [  # ordinary reader comments, for decisions
    "Mong thành phố sớm sửa đoạn đường này", "Cảm ơn phóng viên đã phản ánh kịp thời",
    "Giá điện tăng thế này dân khổ quá", "Trường học cần thêm phòng cho các cháu",
    "Bệnh viện tỉnh phục vụ tốt hơn trước nhiều", "Ủng hộ xử lý nghiêm xe quá tải",
    "Chợ mới xây đẹp nhưng ít người bán", "Mùa mưa năm nay đến sớm quá",
    "Mong có thêm tuyến xe buýt về huyện", "Bài viết phản ánh đúng thực tế",
]


@pytest.fixture
def base_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two of the recipe's four training files and one evaluation file, in their real
    columns and label codes, with the test comments; the others are missing."""
    d = tmp_path / "base"
    d.mkdir()
    write_csv(d / "vihsd_train.csv", ["free_text", "label_id"],
              [[t, 0] for t in CLEAN] + [[t, 1] for t in OFFENSIVE] + [[t, 2] for t in HATE]
              + [[NEWS[0], 0]])     # also the text of a held-out decision below
    write_csv(d / "vispam_train.csv", ["Rating", "Comment", "Label", "SpamLabel"],
              [[5, t, 1, 2] for t in SPAM] + [[4, CLEAN[0], 0, 0]])   # repeats vihsd: dropped
    write_csv(d / "vihsd_dev.csv", ["free_text", "label_id"],
              [[CLEAN[1], 0], [OFFENSIVE[1], 1], [HATE[1], 2], ["Một bình luận mới", 0]])
    monkeypatch.setenv("VIMOD_BASE_DATA", str(d))
    return d


@pytest.fixture
def moderator(sessions, site):  # noqa: ANN001, ANN201
    from service.accounts import create_user

    with sessions() as s:
        user, _ = create_user(s, "bientap", "moderator", "mật-khẩu-thử-123", [site[0]])
        s.commit()
        return user.id


def decide(sessions, site_id: int, user_id: int,  # noqa: ANN001
           rows: list[tuple[str, str, float]]) -> list[int]:
    """Comments decided by a moderator: (text, label, days ago) → comment ids. The label
    is the decision: clean = approve, else reject with that reason."""
    from datetime import timedelta

    from sqlalchemy import update

    from service import moderation
    from service.storage import Article, Comment, CommentStatus, ModerationAction
    from service.storage.tables import utcnow

    ids = []
    with sessions() as s:
        article = Article(site_id=site_id, external_id="tin-1", title="Tin thử")
        s.add(article)
        s.commit()
        for text, label, days in rows:
            c = Comment(site_id=site_id, article_id=article.id, author_name="Độc giả",
                        author_email="doc.gia@example.vn", body_original=text,
                        status=CommentStatus.pending)
            s.add(c)
            s.commit()
            if label == "clean":
                moderation.approve(s, c, user_id, "bientap")
            else:
                moderation.reject(s, c, user_id, "bientap", label)
            s.execute(update(ModerationAction).where(ModerationAction.comment_id == c.id)
                      .values(created_at=utcnow() - timedelta(days=days)))
            s.commit()
            ids.append(c.id)
    return ids


def twenty_decisions() -> list[tuple[str, str, float]]:
    """Oldest first: 17 older decisions, then the 4 newest (20 % of the 20 left once one
    is excluded below: held out)."""
    older = ([(t, "clean", 60 - i) for i, t in enumerate(NEWS[1:9])]
             + [("Tôi đồng ý với tác giả", "clean", 45)]
             + [(t + " nhé", "spam", 30 - i) for i, t in enumerate(SPAM[:4])]
             + [(OFFENSIVE[2] + " thật", "offensive", 25), (HATE[2] + " hết", "hate", 24)]
             + [("Bài này viết sai sự thật", "offensive", 20),    # relabelled below as clean
                ("Bài này viết sai sự thật", "clean", 10)])       # same text, newer decision
    newest = [(NEWS[0], "clean", 0.5), (NEWS[9], "clean", 0.4), (SPAM[5] + " ngay", "spam", 0.3),
              (OFFENSIVE[4] + " quá", "offensive", 0.2)]
    return older + newest


def test_gather_weights_holds_out_and_dedupes(sessions, site, moderator, base_dir) -> None:  # noqa: ANN001
    from service.retraining import RetrainOptions, gather
    from service.storage import TrainingExample, TrainingOverride

    ids = decide(sessions, site[0], moderator, twenty_decisions())
    with sessions() as s:
        s.add(TrainingOverride(comment_id=ids[0], excluded=True))              # NEWS[1]
        s.add(TrainingOverride(comment_id=ids[1], label="spam"))               # NEWS[2]
        s.add(TrainingExample(text="Nhận làm bằng đại học giá rẻ", label="spam",
                              source="nhap.csv"))
        s.commit()
        data = gather(s, RetrainOptions(), load_recipe())
    ds = data.dataset
    train = {t: (y, w) for t, y, w in zip(ds.texts, ds.labels, ds.weights, strict=True)}
    # The newest 20 % (4 of 20) are held out and never trained on, even as a base row.
    assert data.held_out == [(OFFENSIVE[4] + " quá", "offensive"), (SPAM[5] + " ngay", "spam"),
                             (NEWS[9], "clean"), (NEWS[0], "clean")]
    assert not {t for t, _ in data.held_out} & set(train)
    w = lambda days: 1 + 2 * 0.5 ** (days / 30)  # noqa: E731
    assert data.summary["decisions"] == {
        "available": 20, "trained": 15, "held_out": 4,
        "labels": {"clean": 8, "hate": 1, "offensive": 1, "spam": 5},
        "weight_min": pytest.approx(w(59), abs=1e-3), "weight_max": pytest.approx(w(10), abs=1e-3)}
    # Overrides: excluded is gone, relabelled carries the admin's label.
    assert NEWS[1] not in train and train[NEWS[2]][0] == "spam"
    # Weight 1 + 2 · 0.5^(age / 30 days): 60 days → 1.5, 30 days → 2.
    assert train[NEWS[8]][1] == pytest.approx(w(53), abs=1e-3)
    assert train[SPAM[0] + " nhé"][1] == pytest.approx(2.0, abs=1e-3)
    # The same text decided twice: the newer decision is the one trained on, once.
    assert train["Bài này viết sai sự thật"][0] == "clean"
    assert ds.texts.count("Bài này viết sai sự thật") == 1
    assert train["Nhận làm bằng đại học giá rẻ"] == ("spam", 2.0)          # an import
    # Base rows: evaluation-file texts and the held-out text left out; a text in two files
    # counted once (the first file's).
    assert train[OFFENSIVE[0]] == ("offensive", 1.0)
    assert CLEAN[1] not in train and OFFENSIVE[1] not in train and HATE[1] not in train
    assert ds.texts.count(CLEAN[0]) == 1
    vihsd, vispam, news = data.summary["base"]["files"]
    assert vihsd["excluded_held_out"] == 4 and vispam["duplicates_dropped"] == 1
    assert news["file"] == "news_spam.csv" and news["weight"] == 3.0
    assert [name for name, _ in data.evals] == ["vihsd_dev.csv"]
    assert sorted(Path(p).name for p in data.summary["base"]["missing"]) == sorted(
        ["victsd_train.csv", "vihos_train.csv", "victsd_valid.csv", "vispam_dev.csv",
         "vihos_dev.csv"])
    assert any("base data not found" in n for n in data.notes)
    assert len(ds) == data.summary["total"]


def test_decision_weight_halves_above_one() -> None:
    from service.retraining import RetrainOptions, decision_weight

    o = RetrainOptions()
    assert [round(decision_weight(d, o), 3) for d in (0, 30, 60, 3650)] == [3.0, 2.0, 1.5, 1.0]
    assert decision_weight(-1, o) == 3.0   # a clock a little ahead: still "fresh"


def test_few_decisions_hold_nothing_out_and_base_can_be_capped(
        sessions, site, moderator, base_dir) -> None:  # noqa: ANN001
    from service.retraining import RetrainOptions, gather

    decide(sessions, site[0], moderator, twenty_decisions()[:5])
    with sessions() as s:
        data = gather(s, RetrainOptions(max_base_rows=40), load_recipe())
    assert data.held_out == []
    assert any("none held out" in n for n in data.notes)
    assert data.summary["base"]["rows"] <= 40
    assert data.summary["decisions"]["trained"] == 5


# --- runs -----------------------------------------------------------------------------------

def _run(sessions, run_id: int):  # noqa: ANN001, ANN202
    from service.storage import TrainingRun

    with sessions() as s:
        return s.get(TrainingRun, run_id)


def test_run_trains_evaluates_and_registers_without_promoting(
        sessions, site, moderator, base_dir, tmp_path, redis_client) -> None:  # noqa: ANN001
    from models.classifier.registry import Registry
    from service import retraining

    decide(sessions, site[0], moderator, twenty_decisions())
    registry = Registry(tmp_path / "registry")
    with sessions() as s:
        run = retraining.start_run(s, created_by=moderator, options=retraining.RetrainOptions(
            decisions_only=True))      # two of the four base training files are missing
    assert run.status == "queued" and run.params["decision_weight"] == 3.0
    assert retraining.execute_run(sessions, run.id, redis_client=redis_client,
                                  registry_root=registry.root)
    row = _run(sessions, run.id)
    assert (row.status, row.stage, row.progress) == ("succeeded", "done", 1.0), row.message
    assert row.started_at <= row.finished_at
    assert registry.versions() == [row.version]
    assert registry.active_version() == "default"          # registered, not promoted
    info = registry.info(row.version)
    for metrics in (info["metrics"], row.metrics):
        held = metrics["held_out"]
        assert held["n"] == 4 and set(held["per_class"]) >= {"clean", "spam", "offensive"}
        assert len(held["confusion"]) == len(held["labels"])
        assert 0 <= held["macro_f1"] <= 1
        assert metrics["baseline"]["version"] == "default"
        assert metrics["baseline"]["held_out"]["n"] == 4
        assert metrics["eval:vihsd_dev.csv"]["n"] == 4
        assert "macro_f1" in metrics["cross_validation"]
    assert info["data"]["decisions"]["held_out"] == 4
    assert info["data"]["files"][0]["file"] == "vihsd_train.csv"
    assert any("base data not found" in n for n in info["data"]["notes"])
    assert row.metrics["data"]["total"] == info["data"]["total"]
    assert "base data not found" in row.message and row.version in row.message
    assert not redis_client.exists(retraining.heartbeat_key(run.id))   # removed at the end
    # A second delivery of the same run's message trains nothing.
    assert not retraining.execute_run(sessions, run.id, registry_root=registry.root)
    assert registry.versions() == [row.version]
    assert retraining.headline(row.metrics)["held_out"]["n"] == 4


def test_run_without_base_data_trains_on_decisions_and_project_set(
        sessions, site, moderator, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from models.classifier.registry import Registry
    from service import retraining

    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path / "nothing-here"))
    decide(sessions, site[0], moderator, twenty_decisions())
    with sessions() as s:
        run = retraining.start_run(s, options=retraining.RetrainOptions(decisions_only=True))
    retraining.execute_run(sessions, run.id, registry_root=tmp_path / "reg")
    row = _run(sessions, run.id)
    assert row.status == "succeeded", row.message
    data = row.metrics["data"]
    assert [f["file"] for f in data["base"]["files"]] == ["news_spam.csv"]
    assert len(data["base"]["missing"]) == 8
    assert not [k for k in row.metrics if k.startswith("eval:")]
    assert "news_spam.csv only" in row.message
    assert Registry(tmp_path / "reg").info(row.version)["data"]["base"]["missing"]


def test_failed_run_records_the_error(sessions, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from service import retraining

    recipe = tmp_path / "recipe.json"   # base data with one label only: nothing to learn
    write_csv(tmp_path / "only_clean.csv", ["text", "label"], [[t, "clean"] for t in CLEAN])
    recipe.write_text(json.dumps({"name": "t", "version": 1, "train": [
        {"in": "base", "path": "only_clean.csv"}], "eval": []}))
    with sessions() as s:
        run = retraining.start_run(s, options=retraining.RetrainOptions(
            recipe=str(recipe), base_data=str(tmp_path), allow_missing_labels=True))
    assert retraining.execute_run(sessions, run.id, registry_root=tmp_path / "reg")
    row = _run(sessions, run.id)
    assert row.status == "failed" and row.finished_at is not None
    assert "at least two labels" in row.message
    assert not (tmp_path / "reg" / "versions").exists()
    with sessions() as s:      # a failed run does not block the next
        assert retraining.start_run(s, options=retraining.RetrainOptions(
            recipe=str(recipe), base_data=str(tmp_path),
            allow_missing_labels=True)).id == run.id + 1


def test_one_run_at_a_time_unless_stale(sessions, monkeypatch) -> None:  # noqa: ANN001
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from service import retraining
    from service.storage import TrainingRun
    from service.storage.tables import utcnow

    with sessions() as s:
        first = retraining.start_run(s)
        with pytest.raises(retraining.RunInProgress) as refused:
            retraining.start_run(s)
        assert refused.value.run.id == first.id
        assert s.scalar(select(func.count()).select_from(TrainingRun)) == 1

    def set_running(started_seconds_ago: float) -> None:
        with sessions() as s:
            s.execute(update(TrainingRun).where(TrainingRun.id == first.id).values(
                status="running", started_at=utcnow() - timedelta(seconds=started_seconds_ago)))
            s.commit()

    # Running, heartbeat present or unknown (no Redis): not stale within the time limit.
    set_running(600)
    row = _run(sessions, first.id)
    assert not retraining.is_stale(row, True) and not retraining.is_stale(row, None)
    # No heartbeat for longer than 3 intervals: its worker is gone.
    assert retraining.is_stale(row, False)
    set_running(5)
    assert not retraining.is_stale(_run(sessions, first.id), False)   # just claimed
    set_running(4000)                                                  # past the time limit
    assert retraining.is_stale(_run(sessions, first.id), None)
    with sessions() as s:
        second = retraining.start_run(s, alive=lambda _id: False)
    old = _run(sessions, first.id)
    assert old.status == "failed" and old.message.startswith("stale")
    # The stale run's message, delivered late, can no longer claim it.
    assert not retraining.execute_run(sessions, first.id)
    # A queued run no worker takes becomes stale after VIMOD_RETRAIN_QUEUE_TIMEOUT.
    monkeypatch.setenv("VIMOD_RETRAIN_QUEUE_TIMEOUT", "0")
    assert retraining.is_stale(_run(sessions, second.id), None)
    with sessions() as s:
        retraining.start_run(s)
    assert _run(sessions, second.id).status == "failed"


def test_concurrent_start_backs_out(sessions, monkeypatch) -> None:  # noqa: ANN001
    """Another start commits its run between our check and our insert: we see it after
    committing and remove our run and its audit entry."""
    from sqlalchemy import func, select

    from service import retraining
    from service.storage import AuditEntry, TrainingRun

    check = retraining._refuse_if_busy
    rival = TrainingRun(status="queued", params={})

    def check_then_rival_commits(*args) -> None:  # noqa: ANN002
        check(*args)
        with sessions() as other:
            other.add(rival)
            other.commit()

    monkeypatch.setattr(retraining, "_refuse_if_busy", check_then_rival_commits)

    def audit(run: TrainingRun) -> AuditEntry:
        entry = AuditEntry(actor="cli", action="model.retrain", target_type="training_run",
                           target_id=str(run.id))
        s.add(entry)
        return entry

    with sessions() as s, pytest.raises(retraining.RunInProgress) as refused:
        retraining.start_run(s, on_created=audit)
    assert refused.value.run.id == rival.id
    with sessions() as s:
        assert s.scalars(select(TrainingRun.id)).all() == [rival.id]
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_progress_is_written_and_stops_a_run_marked_failed(sessions) -> None:  # noqa: ANN001
    from sqlalchemy import update

    from service import retraining
    from service.retraining import _Aborted, _Progress
    from service.storage import TrainingRun

    with sessions() as s:
        run = retraining.start_run(s)
        s.execute(update(TrainingRun).where(TrainingRun.id == run.id).values(status="running"))
        s.commit()
    progress = _Progress(sessions, run.id, min_interval=0)
    progress("features", 0.5)
    row = _run(sessions, run.id)
    lo, hi = retraining.STAGES["features"]
    assert row.stage == "features" and row.progress == pytest.approx((lo + hi) / 2, abs=1e-3)
    progress("cross_validation", 0.0)
    progress("calibration", 0.0)
    progress("cross_validation", 0.5)     # the next C of a grid: the bar never goes back
    assert _run(sessions, run.id).progress >= retraining.STAGES["calibration"][0]
    with sessions() as s:
        retraining.mark_failed(s, run.id, "stale")
    with pytest.raises(_Aborted):
        progress("final_fit", 0.0)


def test_heartbeat_key_lives_while_training(redis_client, monkeypatch) -> None:  # noqa: ANN001
    import time

    from service.retraining import _Heartbeat, heartbeat_key, redis_alive

    monkeypatch.setenv("VIMOD_RETRAIN_HEARTBEAT", "0.2")
    alive = redis_alive(redis_client)
    assert alive(7) is False
    with _Heartbeat(redis_client, 7):
        time.sleep(1.0)                  # longer than the key's TTL (0.6 s → 1 s): refreshed
        assert alive(7) is True
        assert 0 < redis_client.ttl(heartbeat_key(7)) <= 1
    assert alive(7) is False
    assert redis_alive(None)(7) is None


def test_options_are_checked(sessions) -> None:  # noqa: ANN001
    from service import retraining

    with sessions() as s:
        for bad in (dict(holdout_fraction=1.0), dict(decision_weight=0),
                    dict(max_base_rows=-1), dict(half_life_days=0)):
            with pytest.raises(ValueError):
                retraining.start_run(s, options=retraining.RetrainOptions(**bad))
    assert retraining.RetrainOptions.from_params({"max_holdout": 5, "unknown": 1}).max_holdout == 5


# --- the admin page -----------------------------------------------------------------------

from tests.test_review import csrf, login, ui  # noqa: E402, F401 - ui is a fixture


def english(c, page: str = "/admin/retrain") -> None:  # noqa: ANN001
    """The interface in English for this browser session (the default is Vietnamese)."""
    token = csrf(c.get(page).get_data(as_text=True))
    assert c.post("/lang", data={"lang": "en", "csrf_token": token}).status_code == 302


def button_disabled(html: str) -> bool:
    import re

    return "disabled" in re.search(r"<button[^>]*data-retrain[^>]*>", html).group(0)


def _queued_messages(redis_client) -> list[dict]:  # noqa: ANN001
    """The messages waiting on the training queue (kombu keeps a Redis list per queue)."""
    return [json.loads(m) for m in redis_client.lrange("training", 0, -1)]


def test_retrain_page_is_for_admins(ui) -> None:  # noqa: ANN001, F811
    app, _ = ui
    anonymous = app.test_client()
    assert anonymous.get("/admin/retrain").status_code == 302
    assert anonymous.get("/admin/retrain/runs/1.json").status_code == 302
    mod = app.test_client()
    login(mod, "bientap_a")
    assert mod.get("/admin/retrain").status_code == 403
    token = csrf(mod.get("/review").get_data(as_text=True))
    assert mod.post("/admin/retrain", data={"csrf_token": token}).status_code == 403
    admin = app.test_client()
    login(admin, "quantri")
    r = admin.get("/admin/retrain")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'href="/admin/retrain"' in html            # in the console's navigation
    assert "data-retrain" in html and "csrf_token" in html


def test_button_queues_one_run_on_the_training_queue(ui, sessions, redis_client) -> None:  # noqa: ANN001, F811
    from sqlalchemy import select

    from service.storage import AuditEntry, TrainingRun

    app, _ = ui
    c = app.test_client()
    login(c, "quantri")
    english(c)
    token = csrf(c.get("/admin/retrain").get_data(as_text=True))
    assert c.post("/admin/retrain", data={}).status_code == 400        # no CSRF token
    with sessions() as s:
        assert s.scalars(select(TrainingRun)).all() == []
    r = c.post("/admin/retrain", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/retrain")
    with sessions() as s:
        run = s.scalars(select(TrainingRun)).one()
        entry = s.scalars(select(AuditEntry)).one()
    assert run.status == "queued" and run.task_id and run.created_by is not None
    assert (entry.action, entry.target_type, entry.target_id, entry.actor) == (
        "model.retrain", "training_run", str(run.id), "quantri")
    [message] = _queued_messages(redis_client)
    assert message["headers"]["task"] == "vimod.retrain"
    assert message["headers"]["id"] == run.task_id
    assert json.loads(__import__("base64").b64decode(message["body"]))[0] == [run.id]
    page = c.get("/admin/retrain").get_data(as_text=True)
    assert f"Retraining started (run {run.id})." in page
    assert 'data-live="yes"' in page and button_disabled(page)
    # A second press while it is queued: refused, nothing created or queued.
    r = c.post("/admin/retrain", data={"csrf_token": token})
    assert r.status_code == 409
    assert (f"A retraining run is already in progress (run {run.id}); wait for it to finish."
            in r.get_data(as_text=True))
    with sessions() as s:
        assert len(s.scalars(select(TrainingRun)).all()) == 1
        assert len(s.scalars(select(AuditEntry)).all()) == 1
    assert len(_queued_messages(redis_client)) == 1


def test_unreachable_queue_fails_the_run_with_a_message(ui, sessions) -> None:  # noqa: ANN001, F811
    from sqlalchemy import select

    from service.embedded_redis import free_port
    from service.queueing import make_producer
    from service.storage import TrainingRun

    app, _ = ui
    app.extensions["vimod.producer"] = make_producer(f"redis://127.0.0.1:{free_port()}/0")
    c = app.test_client()
    login(c, "quantri")
    english(c)
    token = csrf(c.get("/admin/retrain").get_data(as_text=True))
    r = c.post("/admin/retrain", data={"csrf_token": token})
    assert r.status_code == 503
    assert ("The training queue cannot be reached; the run was not started."
            in r.get_data(as_text=True))
    with sessions() as s:
        run = s.scalars(select(TrainingRun)).one()
    assert run.status == "failed" and "could not be reached" in run.message
    assert c.post("/admin/retrain", data={"csrf_token": token}).status_code == 503  # not 409


def _add_run(sessions, **values) -> int:  # noqa: ANN001, ANN003
    from service.storage import TrainingRun

    with sessions() as s:
        run = TrainingRun(**{"status": "queued", "params": {}, **values})
        s.add(run)
        s.commit()
        return run.id


METRICS = {
    "held_out": {"labels": ["clean", "spam"], "macro_f1": 0.8123, "accuracy": 0.9, "n": 10,
                 "per_class": {"clean": {"precision": 1.0, "recall": 0.9, "f1": 0.95,
                                         "support": 8},
                               "spam": {"precision": 0.7, "recall": 1.0, "f1": 0.82,
                                        "support": 2}},
                 "confusion": [[7, 1], [0, 2]]},
    "baseline": {"version": "default", "held_out": {"macro_f1": 0.61, "labels": [],
                                                   "per_class": {}, "confusion": [], "n": 10,
                                                   "accuracy": 0.5}},
    "cross_validation": {"macro_f1": 0.7, "labels": [], "per_class": {}, "confusion": [],
                         "n": 50, "accuracy": 0.8},
    "eval:vihsd_dev.csv": {"macro_f1": 0.63, "labels": [], "per_class": {}, "confusion": [],
                           "n": 3, "accuracy": 0.7},
    "data": {"total": 50, "labels": {"clean": 40, "spam": 10},
             "base": {"rows": 30, "files": [{"file": "news_spam.csv", "used": 30,
                                             "weight": 3.0}],
                      "missing": ["/x/vihsd_train.csv"], "recipe": "default v1"},
             "decisions": {"available": 30, "trained": 20, "held_out": 10, "weight_min": 1.2,
                           "weight_max": 2.9},
             "imports": {"available": 0, "trained": 0}},
    "notes": ["base data not found <b>here</b>"],
}


def test_history_json_and_escaping(ui, sessions) -> None:  # noqa: ANN001, F811
    from datetime import timedelta

    from service.storage.tables import utcnow

    app, _ = ui
    now = utcnow()
    done = _add_run(sessions, status="succeeded", stage="done", progress=1.0,
                    version="2026-11-25T10-00-00-ab12", metrics=METRICS,
                    message="<script>alert(1)</script> registered",
                    started_at=now - timedelta(seconds=70), finished_at=now)
    failed = _add_run(sessions, status="failed", stage="features", progress=0.3,
                      message='boom <img src=x onerror=alert(2)>', finished_at=now)
    c = app.test_client()
    login(c, "quantri")
    english(c)
    r = c.get("/admin/retrain")
    html = r.get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html   # the latest run's box
    assert 'href="/admin/models/2026-11-25T10-00-00-ab12"' in html
    assert "0.812" in html and "0.610" in html and "vihsd_dev.csv 0.630" in html
    assert "70 s" in html
    assert "style=" not in html and "<script>" not in html.replace(
        '<script src="/static/retrain.js">', "")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert 'data-live="no"' in html and not button_disabled(html)   # nothing running
    detail = c.get(f"/admin/retrain/runs/{done}").get_data(as_text=True)
    assert "&lt;b&gt;here&lt;/b&gt;" in detail and "data-base-missing" in detail
    assert "<script>alert(1)" not in detail and "&lt;script&gt;alert(1)" in detail
    assert "0.812" in detail and "<td>7</td><td>1</td>" in detail    # the confusion matrix
    assert "Too few examples to tell the models apart: fewer than 30 of" in detail  # 10 held out
    j = c.get(f"/admin/retrain/runs/{done}.json")
    assert j.status_code == 200 and j.mimetype == "application/json"
    body = j.json
    assert body["status"] == "succeeded" and body["finished"] and not body["live"]
    assert body["version_url"] == "/admin/models/2026-11-25T10-00-00-ab12"
    assert body["headline"]["held_out"] == {"macro_f1": 0.8123, "n": 10}
    assert body["message"].startswith("<script>")     # JSON carries the text; JS sets textContent
    assert c.get(f"/admin/retrain/runs/{failed}.json").json["percent"] == 30
    for bad in ("999999", "abc", "99999999999999999999"):
        r = c.get(f"/admin/retrain/runs/{bad}.json")
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", bad
    assert c.get("/admin/retrain/runs/999999").status_code == 404
    assert c.get("/admin/retrain/runs/99999999999999999999").status_code == 404
    assert 'data-status="404"' in c.get("/admin/retrain/runs/999999").get_data(as_text=True)


def test_stale_run_is_shown_and_does_not_block(ui, sessions, redis_client, monkeypatch) -> None:  # noqa: ANN001, F811
    from datetime import timedelta

    from sqlalchemy import select

    from service.retraining import heartbeat_key
    from service.storage import TrainingRun
    from service.storage.tables import utcnow

    monkeypatch.setenv("VIMOD_RETRAIN_HEARTBEAT", "1")
    app, _ = ui
    run_id = _add_run(sessions, status="running", stage="cross_validation", progress=0.5,
                      started_at=utcnow() - timedelta(seconds=60))
    c = app.test_client()
    login(c, "quantri")
    redis_client.set(heartbeat_key(run_id), "1", ex=30)     # its worker is alive
    assert c.get(f"/admin/retrain/runs/{run_id}.json").json["live"] is True
    token = csrf(c.get("/admin/retrain").get_data(as_text=True))
    assert c.post("/admin/retrain", data={"csrf_token": token}).status_code == 409
    redis_client.delete(heartbeat_key(run_id))              # killed: no more heartbeat
    j = c.get(f"/admin/retrain/runs/{run_id}.json").json
    assert j["stale"] is True and j["live"] is False and j["status"] == "running"
    html = c.get("/admin/retrain").get_data(as_text=True)
    assert "data-stale" in html and 'data-status="stale"' in html and not button_disabled(html)
    assert c.post("/admin/retrain", data={"csrf_token": token}).status_code == 303
    with sessions() as s:
        old, new = s.scalars(select(TrainingRun).order_by(TrainingRun.id)).all()
    assert old.status == "failed" and "stale" in old.message and new.status == "queued"


# --- vimod model retrain -------------------------------------------------------------------

@pytest.fixture
def cli_env(settings, tmp_path) -> dict[str, str]:  # noqa: ANN001
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "VIMOD_INSTANCE": str(settings.instance), "SECRET_KEY": "x",
            "VIMOD_MODEL_REGISTRY": str(tmp_path / "registry")}


def test_cli_retrain_inline(sessions, site, moderator, base_dir, cli_env, tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from models.classifier.registry import Registry
    from service.cli import main

    decide(sessions, site[0], moderator, twenty_decisions())
    res = CliRunner().invoke(main, ["model", "retrain", "--inline", "--json",
                                    "--decisions-only"], env=cli_env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "succeeded" and out["version"]
    assert out["headline"]["held_out"]["n"] == 4
    assert set(out["headline"]["eval"]) == {"vihsd_dev.csv"}
    assert "cross_validation" in res.stderr          # the stages as they came
    registry = Registry(tmp_path / "registry")
    assert registry.versions() == [out["version"]] and registry.active_version() == "default"
    # Plain text, base capped, Redis unreachable: inline still trains (no heartbeat).
    env = {**cli_env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    res = CliRunner().invoke(main, ["model", "retrain", "--inline", "--max-base-rows", "30",
                                    "--decisions-only"], env=env)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"run {out['id'] + 1} succeeded: version ")
    assert "held-out decisions macro-F1" in res.stdout and "vihsd_dev.csv macro-F1" in res.stdout
    assert "note: base rows capped at 30" in res.stdout
    assert len(registry.versions()) == 2


def test_cli_retrain_queues_for_a_worker(sessions, cli_env, redis_client) -> None:  # noqa: ANN001
    from click.testing import CliRunner
    from sqlalchemy import select

    from service.cli import main
    from service.storage import AuditEntry, TrainingRun

    res = CliRunner().invoke(main, ["model", "retrain", "--json"], env=cli_env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "queued"
    [message] = _queued_messages(redis_client)
    assert message["headers"]["task"] == "vimod.retrain" and message["headers"]["id"] == out[
        "task_id"]
    with sessions() as s:
        assert s.get(TrainingRun, out["id"]).status == "queued"
        assert s.scalars(select(AuditEntry.actor)).all() == ["cli"]
    # One run at a time; and --wait gives up after --timeout while no worker takes it.
    res = CliRunner().invoke(main, ["model", "retrain"], env=cli_env)
    assert res.exit_code == 1 and f"run {out['id']} is queued; one run at a time" in res.output
    with sessions() as s:
        s.get(TrainingRun, out["id"]).status = "failed"
        s.commit()
    res = CliRunner().invoke(main, ["model", "retrain", "--wait", "--timeout", "1"], env=cli_env)
    assert res.exit_code == 1 and "did not finish" in res.stderr
    res = CliRunner().invoke(main, ["model", "retrain", "--max-base-rows", "-1"], env=cli_env)
    assert res.exit_code == 2
    bad = {**cli_env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    res = CliRunner().invoke(main, ["model", "retrain"], env=bad)
    assert res.exit_code == 1 and "use --inline" in res.output
    with sessions() as s:
        assert len(s.scalars(select(TrainingRun)).all()) == 2


# --- issue #17: no silent loss of the base data or of a label ------------------------------

def test_missing_base_data_is_said_before_the_run_and_needs_a_choice(
        ui, sessions, redis_client, tmp_path, monkeypatch) -> None:  # noqa: ANN001, F811
    from sqlalchemy import select

    from service.storage import AuditEntry, TrainingRun

    empty = tmp_path / "no-base-data"
    monkeypatch.setenv("VIMOD_BASE_DATA", str(empty))
    monkeypatch.setenv("VIMOD_MODEL_REGISTRY", str(tmp_path / "registry"))
    app, _ = ui
    c = app.test_client()
    login(c, "quantri")
    page = c.get("/admin/retrain").get_data(as_text=True)      # Vietnamese by default
    assert "Thiếu dữ liệu gốc" in page and str(empty) in page and "VIMOD_BASE_DATA" in page
    english(c)
    page = c.get("/admin/retrain").get_data(as_text=True)
    box = page.split("data-base-missing")[1].split("</section>")[0]
    for name in ("vihsd_train.csv", "victsd_train.csv", "vispam_train.csv", "vihos_train.csv"):
        assert f"<code>{name}</code>" in box
    assert "DATA.md" in box and str(empty) in box
    # Only news_spam.csv (clean, spam) and no decisions: offensive and hate would be lost.
    assert "data-lacking-labels" in page and "Offensive, Hate" in page
    assert "data-decisions-only" in page and "data-allow-missing-labels" in page
    token = csrf(page)
    r = c.post("/admin/retrain", data={"csrf_token": token})
    assert r.status_code == 409
    assert "Not started: the base data is missing (4 files)." in r.get_data(as_text=True)
    r = c.post("/admin/retrain", data={"csrf_token": token, "decisions_only": "yes"})
    assert r.status_code == 409
    assert "Not started: the new model would not know Offensive, Hate" in r.get_data(
        as_text=True)
    with sessions() as s:
        assert s.scalars(select(TrainingRun)).all() == []
        assert s.scalars(select(AuditEntry)).all() == []
    r = c.post("/admin/retrain", data={"csrf_token": token, "decisions_only": "yes",
                                       "allow_missing_labels": "yes"})
    assert r.status_code == 303
    with sessions() as s:
        run = s.scalars(select(TrainingRun)).one()
        entry = s.scalars(select(AuditEntry)).one()
    assert run.params["decisions_only"] and run.params["allow_missing_labels"]
    assert entry.details["decisions_only"] is True and entry.details["allow_missing_labels"]
    page = c.get(f"/admin/retrain/runs/{run.id}").get_data(as_text=True)
    assert "Trained on the moderators&#39; decisions and imported examples only" in page


def test_cli_refuses_a_run_without_base_data_unless_told(
        sessions, cli_env, tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner
    from sqlalchemy import select

    from service.cli import main
    from service.storage import TrainingRun

    env = {**cli_env, "VIMOD_BASE_DATA": str(tmp_path / "no-base-data")}
    res = CliRunner().invoke(main, ["model", "retrain", "--json"], env=env)
    assert res.exit_code == 1
    assert "not started: base data missing in" in res.output
    assert "vihsd_train.csv" in res.output and "--decisions-only" in res.output
    assert "--allow-missing-labels" in res.output          # and hate would be lost
    with sessions() as s:
        assert s.scalars(select(TrainingRun)).all() == []
    res = CliRunner().invoke(main, ["model", "retrain", "--json", "--decisions-only",
                                    "--allow-missing-labels"], env=env)
    assert res.exit_code == 0, res.output
    with sessions() as s:
        assert s.scalars(select(TrainingRun)).one().params["decisions_only"] is True


def test_decisions_only_run_is_labelled_and_a_lost_label_is_refused(
        sessions, site, moderator, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from models.classifier.registry import Registry
    from service import retraining
    from service.storage import TrainingRun

    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path / "nothing-here"))
    reg = tmp_path / "reg"
    no_hate = [r for r in twenty_decisions() if r[1] != "hate"]
    decide(sessions, site[0], moderator, no_hate)
    with sessions() as s:
        with pytest.raises(retraining.NeedsChoice) as refused:
            retraining.start_run(s, options=retraining.RetrainOptions(decisions_only=True),
                                 registry_root=reg)
        assert refused.value.check.lacking == ["hate"]
        run = retraining.start_run(s, registry_root=reg, options=retraining.RetrainOptions(
            decisions_only=True, allow_missing_labels=True))
    retraining.execute_run(sessions, run.id, registry_root=reg)
    row = _run(sessions, run.id)
    assert row.status == "succeeded", row.message
    assert row.metrics["data"]["mode"] == "decisions_only"
    assert row.metrics["data"]["lacking_labels"] == ["hate"]
    info = Registry(reg).info(row.version)
    assert info["data"]["mode"] == "decisions_only" and info["labels"] == [
        "clean", "spam", "offensive"]
    model = json.loads((Path(info["path"]) / "model.json").read_text("utf-8"))
    assert model["training_mode"] == "decisions_only" and model["lacking_labels"] == ["hate"]
    # A run queued without the choice (say, before the files were moved away) fails
    # plainly when it finds the base data gone, rather than training on less.
    with sessions() as s:
        queued = TrainingRun(status="queued", stage="queued", progress=0.0, params={})
        s.add(queued)
        s.commit()
        queued_id = queued.id
    retraining.execute_run(sessions, queued_id, registry_root=reg)
    failed = _run(sessions, queued_id)
    assert failed.status == "failed" and failed.message.startswith("base data missing in")
    assert len(Registry(reg).versions()) == 1
