"""CLI: model train / evaluate / promote / list and classify, on tiny files."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from models.classifier.cli import classify, model


def _eval_file(files):
    p = files["dir"] / "eval.csv"
    p.write_text("text,label\n"
                 "Vay tiền nhanh lãi thấp ib zalo 0911 222 333,spam\n"
                 '"Bài viết rất hay, cảm ơn tác giả",clean\n'      # also a training comment
                 "đm thằng này ngu thật,offensive\n", encoding="utf-8")
    return p


def _train_args(files, out):
    return ["train",
            "--data", str(files["a"]), "--text-column", "free_text", "--label-column", "label_id",
            "--label-map", "0=clean,1=offensive,2=hate",
            "--data", str(files["b"]), "--text-column", "body", "--label-column", "is_spam",
            "--label-map", "0=clean,1=spam", "--weight", "2",
            "--eval-data", str(_eval_file(files)), "--text-column", "text",
            "--label-column", "label",
            "--label-map", "spam=spam,clean=clean,offensive=offensive",
            "--min-df", "1", "--folds", "2", "--out", str(out)]


def test_train_classify_evaluate(data_files, tmp_path):
    runner = CliRunner()
    out = tmp_path / "m"
    res = runner.invoke(model, _train_args(data_files, out))
    assert res.exit_code == 0, res.output
    assert "cross-validation" in res.output and "wrote" in res.output   # progress shown
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    assert "eval:eval.csv" in metrics and metrics["cross_validation"]["macro_f1"] > 0
    assert metrics["eval:eval.csv"]["n"] == 3
    data = json.loads((out / "data.json").read_text("utf-8"))
    # the comment that is also in the evaluation file is held out of training
    assert data["labels"] == {"clean": 23, "hate": 10, "offensive": 15, "spam": 14}
    assert data["files"][0]["excluded_held_out"] == 1
    assert data["files"][0]["label_map"] == {"0": "clean", "1": "offensive", "2": "hate"}

    lines = [{"text": "Vay tiền nhanh ib zalo 0912 345 678"}, {"text": "Bài viết hay quá"},
             "not json", {"nope": 1}, {"text": "đm thằng ngu vl"}]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                      for x in lines) + "\n"
    res = runner.invoke(classify, ["--model", str(out), "--batch", "2"], input=stdin)
    assert res.exit_code == 0, res.output
    got = [json.loads(x) for x in res.output.splitlines()]
    assert len(got) == 5
    assert got[0]["label"] == "spam" and got[1]["label"] == "clean"
    assert "error" in got[2] and "error" in got[3]
    assert got[4]["label"] == "offensive"
    assert list(got[0]["scores"]) == ["clean", "spam", "offensive", "hate"]
    assert abs(sum(got[0]["scores"].values()) - 1) < 1e-6

    res = runner.invoke(classify, ["--model", str(out), "--explain", "3"],
                        input='{"text": "đm thằng ngu"}\n')
    item = json.loads(res.output)
    assert item["explain"] and item["explain"][0]["token"]

    pytest.importorskip("matplotlib")
    png1, png2, js = tmp_path / "pr.png", tmp_path / "cm.png", tmp_path / "r.json"
    res = runner.invoke(model, ["evaluate", "--model", str(out), "--data", str(data_files["a"]),
                                "--text-column", "free_text", "--label-column", "label_id",
                                "--label-map", "0=clean,1=offensive,2=hate",
                                "--json", str(js), "--pr-curve", str(png1),
                                "--confusion-image", str(png2)])
    assert res.exit_code == 0, res.output
    assert "macro-F1" in res.output and "confusion" in res.output and "precision" in res.output
    rep = json.loads(js.read_text("utf-8"))
    assert rep["n"] == 49 and rep["macro_f1"] > 0.8
    assert png1.stat().st_size > 1000 and png2.stat().st_size > 1000


def test_promote_list_rollback_and_classify_active(data_files, tmp_path):
    runner = CliRunner()
    reg = tmp_path / "reg"
    out = tmp_path / "m"
    res = runner.invoke(model, [*_train_args(data_files, out), "--registry", str(reg)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(model, ["promote", str(out), "--registry", str(reg)])
    assert res.exit_code == 0, res.output
    assert "global: default ->" in res.output
    res = runner.invoke(model, ["list", "--registry", str(reg), "--json"])
    rows = json.loads(res.output)
    assert [r["active"] for r in rows] == [[], ["global"]]
    res = runner.invoke(classify, ["--registry", str(reg)], input='{"text": "vay tiền zalo"}\n')
    assert res.exit_code == 0 and json.loads(res.output)["label"] == "spam"
    res = runner.invoke(model, ["rollback", "--registry", str(reg)])
    assert res.exit_code == 0 and "global: default" in res.output


def test_train_usage_errors(data_files, tmp_path):
    runner = CliRunner()
    res = runner.invoke(model, ["train", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "--data" in res.output
    res = runner.invoke(model, ["train", "--data", str(data_files["a"]), "--text-column", "zzz",
                                "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "no column" in res.output


def test_train_nb_option_is_recorded(data_files, tmp_path):
    out = tmp_path / "nb"
    res = CliRunner().invoke(model, _train_args(data_files, out) + ["--nb"])
    assert res.exit_code == 0, res.output
    assert "+NB-SVM" in res.output
    meta = json.loads((out / "model.json").read_text("utf-8"))
    assert meta["params"]["nb"] is True
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    assert metrics["cross_validation"]["nb"] is True


def test_promote_refuses_a_version_that_loses_a_label(tmp_path):
    """Issue #17: a version without "hate" does not silently replace one that has it."""
    from models.classifier.datasets import Dataset
    from models.classifier.train import TrainParams, train
    from tests.classifier.conftest import CLEAN, SPAM

    pairs = [(t, "clean") for t in CLEAN] + [(t, "spam") for t in SPAM]
    ds = Dataset(texts=[t for t, _ in pairs], labels=[y for _, y in pairs],
                 weights=[1.0] * len(pairs), sources=[0] * len(pairs),
                 summary=[{"file": "tiny", "used": len(pairs)}])
    clf, metrics = train(ds, TrainParams(min_df=1, folds=2))
    clf.save(tmp_path / "two", metrics=metrics, data_summary={"total": len(ds)})
    reg = tmp_path / "reg"
    runner = CliRunner()
    res = runner.invoke(model, ["promote", str(tmp_path / "two"), "--registry", str(reg)])
    assert res.exit_code == 1
    assert "does not know offensive, hate, which the active model default gives" in res.output
    res = runner.invoke(model, ["list", "--registry", str(reg), "--json"])
    assert [r["active"] for r in json.loads(res.output)] == [["global"], []]  # unchanged
    version = json.loads(res.output)[1]["version"]
    res = runner.invoke(model, ["promote", version, "--registry", str(reg),
                                "--allow-missing-labels"])
    assert res.exit_code == 0 and f"global: default -> {version}" in res.output
