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
