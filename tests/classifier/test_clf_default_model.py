"""The shipped default model (models/classifier/default/)."""

from __future__ import annotations

import json

import pytest

from models.classifier import Classifier, default_model_dir


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load(default_model_dir(), version="default")


def test_artifact_records_its_data_and_metrics():
    d = default_model_dir()
    for name in ("model.json", "metrics.json", "data.json", "vocab.json.gz", "weights.npz"):
        assert (d / name).is_file(), name
    data = json.loads((d / "data.json").read_text("utf-8"))
    files = {f["file"] for f in data["files"]}
    assert {"vihsd_train.csv", "victsd_train.csv", "vispam_train.csv", "vihos_train.csv",
            "news_spam.csv"} <= files
    assert sum(p.stat().st_size for p in d.iterdir()) < 30_000_000


@pytest.mark.parametrize("text", [
    "Vay tiền nhanh lãi suất thấp, ib zalo 0912 345 678",
    "Vay tien nhanh lai suat thap, ib zalo 0912 345 678",
    "Nhà cái uy tín nhất, nạp 100k tặng 200k tại www.bet88.vip",
    "Kiếm tiền online 500k mỗi ngày, kết bạn zalo 0987.654.321",
])
def test_flags_obvious_spam(clf, text):
    assert clf.predict([text]) == ["spam"]


@pytest.mark.parametrize("text", [
    "đm thằng này ngu vl", "Địt mẹ mày", "dm may ngu nhu cho", "đồ óc chó, câm mồm đi",
])
def test_flags_profanity(clf, text):
    label = clf.predict([text])[0]
    assert label in ("offensive", "hate")
    p = clf.predict_proba([text])[0]
    assert p["offensive"] + p["hate"] > 0.5


@pytest.mark.parametrize("text", [
    "Giá xăng tăng liên tục, người dân lao động khổ quá.",
    "Cảm ơn tác giả, bài viết rất hữu ích.",
    "Đội tuyển thi đấu quá hay, chúc mừng thầy trò.",
    "Mong cơ quan chức năng sớm vào cuộc xử lý vụ việc này.",
])
def test_leaves_news_comments_clean(clf, text):
    assert clf.predict([text]) == ["clean"]
    assert clf.predict_proba([text])[0]["clean"] > 0.5


def test_explains_spam_with_spans(clf):
    text = "Vay tiền nhanh lãi suất thấp, ib zalo 0912 345 678"
    items = clf.explain(text)
    assert items[0]["label"] == "spam"
    assert any("zalo" in it["token"] or "0912" in it["token"] for it in items[:3])
    for it in items:
        assert text[it["start"]:it["end"]] == it["token"]
