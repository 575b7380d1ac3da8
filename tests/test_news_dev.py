"""The news-comment development set (models/classifier/eval/news_dev.csv, issue #17 item 5):
its shape, and that nothing vimod trains on ever reads it — neither the shipped recipe
(`vimod model train` rebuild, base_recipe.json) nor retraining's `gather` (the recipe's
files plus the moderators' decisions and imports)."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.news_dev import NEWS_DEV, read_news_dev, writing
from models.classifier.datasets import load_many, text_key
from models.classifier.recipe import RECIPE_PATH, load_recipe
from tests.classifier.conftest import data_files  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"clean", "spam", "offensive", "hate"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_news_dev()


def test_file_shape(rows: list[dict[str, str]]) -> None:
    with open(NEWS_DEV, encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == ["text", "label", "note"]
    assert len(rows) >= 400
    assert {r["label"] for r in rows} == LABELS
    for r in rows:
        assert r["text"].strip() == r["text"] and r["text"], r
        assert unicodedata.normalize("NFC", r["text"]) == r["text"], r["text"]
    keys = Counter(text_key(r["text"]) for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []


def test_balance_and_writing(rows: list[dict[str, str]]) -> None:
    """Roughly 45/20/20/15 %, about a third typed without marks, ≥ 25 English/mixed clean."""
    share = {k: n / len(rows) for k, n in Counter(r["label"] for r in rows).items()}
    assert 0.40 <= share["clean"] <= 0.50 and 0.12 <= share["hate"] <= 0.20
    assert 0.15 <= share["spam"] <= 0.25 and 0.15 <= share["offensive"] <= 0.25
    kinds = Counter(writing(r) for r in rows)
    assert 0.25 <= kinds["unaccented"] / len(rows) <= 0.40
    assert sum(1 for r in rows if writing(r) == "en_mixed" and r["label"] == "clean") >= 25


def _tiny_base(d: Path) -> None:
    """Every base file of the shipped recipe, in its real columns, a few rows each."""
    d.mkdir()
    raw = json.loads(RECIPE_PATH.read_text("utf-8"))
    for entry in raw["train"] + raw["eval"]:
        if entry.get("in", "base") != "base":
            continue
        value = next(iter(entry["label_map"]))
        with open(d / entry["path"], "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([entry["text_column"], entry["label_column"]])
            for i in range(3):
                w.writerow([f"Bình luận thử số {i} của tệp {entry['path']}", value])


def _dev_keys() -> set[str]:
    return {text_key(r["text"]) for r in read_news_dev()}


def test_no_training_file_is_the_development_set(tmp_path: Path) -> None:
    """The shipped recipe (as `vimod model train` / retraining read it) names no file in
    models/classifier/eval/, and none of the rows it trains on is a development comment."""
    _tiny_base(tmp_path / "base")
    recipe = load_recipe(data_dir=tmp_path / "base")
    assert recipe.missing == []
    eval_dir = NEWS_DEV.parent.resolve()
    for spec in recipe.train:
        path = Path(spec.path).resolve()
        assert eval_dir not in path.parents and path != NEWS_DEV.resolve(), spec.path
    trained = load_many(recipe.train)
    assert len(trained) > 500          # the tiny base rows and the project's news_spam.csv
    assert not _dev_keys() & {text_key(t) for t in trained.texts}


def test_project_training_set_does_not_read_the_eval_folder() -> None:
    """The generator of news_spam.csv (the one package training file) does not read it."""
    source = (ROOT / "models" / "classifier" / "data" / "make_news_spam.py").read_text("utf-8")
    assert "news_dev" not in source and "eval/" not in source


def test_retraining_never_gathers_the_development_set(  # noqa: ANN001
        sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a retraining run learns from (recipe files + decisions + imports) holds no
    development comment."""
    from service.retraining import RetrainOptions, gather

    _tiny_base(tmp_path / "base")
    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path / "base"))
    with sessions() as s:
        data = gather(s, RetrainOptions(), load_recipe())
    assert len(data.dataset) > 500
    assert not _dev_keys() & {text_key(t) for t in data.dataset.texts}


def test_every_training_path_drops_development_texts(  # noqa: ANN001
        sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when someone lists news_dev.csv in a recipe or imports its rows as training
    examples, retraining leaves its texts out (and says so), as `vimod model train` does."""
    from models.classifier.recipe import development_set_keys, drop_development_set
    from service.retraining import RetrainOptions, gather
    from service.storage import TrainingExample

    rows = read_news_dev()
    _tiny_base(tmp_path / "base")
    monkeypatch.setenv("VIMOD_BASE_DATA", str(tmp_path / "base"))
    raw = json.loads(RECIPE_PATH.read_text("utf-8"))
    raw["train"].append({"in": "package", "path": "eval/news_dev.csv", "text_column": "text",
                         "label_column": "label", "label_map": None, "weight": 1.0})
    recipe_path = tmp_path / "recipe.json"
    recipe_path.write_text(json.dumps(raw), "utf-8")
    with sessions() as s:
        s.add_all([TrainingExample(text=r["text"], label=r["label"], source="news_dev.csv")
                   for r in rows[:20]])
        s.commit()
        data = gather(s, RetrainOptions(recipe=str(recipe_path)), load_recipe(recipe_path))
    assert not _dev_keys() & {text_key(t) for t in data.dataset.texts}
    assert data.summary["dropped"]["import_development_set"] == 20
    assert data.summary["dropped"]["base_development_set"] == len(rows)
    assert any("development set" in n for n in data.notes)

    ds = load_many([s for s in load_recipe(recipe_path).train if "eval" in s.path])
    assert len(ds) == len(rows) and development_set_keys() == _dev_keys()
    assert drop_development_set(ds) == len(rows) and len(ds) == 0


def test_model_train_leaves_development_texts_out(data_files, tmp_path: Path) -> None:  # noqa: ANN001, F811
    """`vimod model train --data news_dev.csv` trains on none of it and records why."""
    from click.testing import CliRunner

    from models.classifier.cli import model

    out = tmp_path / "m"
    res = CliRunner().invoke(model, [
        "train", "--data", str(data_files["a"]), "--text-column", "free_text",
        "--label-column", "label_id", "--label-map", "0=clean,1=offensive,2=hate",
        "--data", str(NEWS_DEV), "--text-column", "text", "--label-column", "label",
        "--min-df", "1", "--folds", "2", "--C", "0.25", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "development set" in res.output
    data = json.loads((out / "data.json").read_text("utf-8"))
    assert data["development_set_dropped"] == len(read_news_dev())
    assert data["total"] == data["files"][0]["used"]


def test_benchmark_reports_every_figure(tmp_path: Path) -> None:
    """benchmarks/news_dev.py on a few of the comments: the pipeline runs, and the report has
    the 4- and 3-class figures, the confusion matrix and the clean-flagged split."""
    from benchmarks.news_dev import evaluate, format_results

    rows = read_news_dev()
    picked = [next(r for r in rows if r["label"] == lab and writing(r) == kind)
              for lab in ("spam", "offensive", "hate") for kind in ("accented", "unaccented")]
    picked += [r for r in rows if r["label"] == "clean"][:6]
    picked += [r for r in rows if writing(r) == "en_mixed"][:2]
    path = tmp_path / "few.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["text", "label", "note"])
        w.writeheader()
        w.writerows(picked)
    res = evaluate(path=path)
    assert res["model"] == "default" and res["n"] == len(picked) == 14
    assert res["four_class"]["labels"] == ["clean", "spam", "offensive", "hate"]
    assert sum(map(sum, res["four_class"]["confusion"])) == 14
    assert res["three_class"]["labels"] == ["clean", "spam", "abuse"]
    assert set(res["clean_flagged"]) >= {"all", "en_mixed"}
    text = format_results(res)
    assert "4-class macro-F1" in text and "3-class" in text and "confusion" in text
