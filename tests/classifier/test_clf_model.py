"""Data loading, features, training, prediction and explanations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.classifier import Classifier
from models.classifier.datasets import DataSpec, load_file, load_many, parse_label_map
from models.classifier.features import Featurizer, analyze, source_tokens
from tests.classifier.conftest import specs


def test_parse_label_map():
    assert parse_label_map("0=clean, 1=offensive,2=hate") == {
        "0": "clean", "1": "offensive", "2": "hate"}
    assert parse_label_map(None) is None
    with pytest.raises(ValueError):
        parse_label_map("0clean")


def test_load_several_files_with_maps(data_files):
    ds = load_many(specs(data_files))
    assert ds.label_counts() == {"clean": 24, "hate": 10, "offensive": 15, "spam": 14}
    # file b repeats file a's clean comments: dropped, file a wins
    assert ds.summary[1]["duplicates_dropped"] == 24
    assert ds.summary[1]["used_labels"] == {"spam": 14}
    assert set(ds.weights) == {1.0, 2.0}
    assert len(ds) == len(ds.texts) == len(ds.labels) == len(ds.sources)


def test_wildcard_map_unmapped_rows_and_missing_column(tmp_path):
    p = tmp_path / "hos.csv"
    p.write_text('content,index_spans\nbình thường,[]\n"ngu vl","[0, 1, 2]"\nabc,\n',
                 encoding="utf-8")
    texts, labels, summary = load_file(DataSpec(str(p), "content", "index_spans",
                                                 parse_label_map("[]=clean,*=offensive")))
    assert labels == ["clean", "offensive", "offensive"]
    texts, labels, summary = load_file(DataSpec(str(p), "content", "index_spans",
                                                 {"[]": "clean"}))
    assert labels == ["clean"] and summary["skipped_unmapped_label"] == 2
    with pytest.raises(ValueError, match="no column"):
        load_file(DataSpec(str(p), "text", "index_spans"))


def test_tokens_keep_offsets_in_the_given_text():
    text = "  Vay tiền  nhanh, ib zalo 0912 345 678 hoặc vào www.bet88.vip đ\u200bm"
    toks = source_tokens(text)
    kinds = [(text[t.start:t.end], t.kind) for t in toks]
    assert ("0912 345 678", "phone") in kinds
    assert ("www.bet88.vip", "url") in kinds
    assert ("đ\u200bm", "word") in kinds
    ib = next(t for t in toks if text[t.start:t.end] == "ib")
    assert ib.words == ("nhắn", "tin")          # teencode expanded
    assert next(t for t in toks if t.kind == "word" and t.words == ("tiền",)).stripped == "tien"


def test_fast_transform_matches_analyze():
    texts = ["Vay tiền nhanh ib zalo 0912 345 678", "dm thằng này ngu vl ko biết gì",
             "Bài viết hay quá, cảm ơn", "kbt nói gì luôn", "VAY TIEN NHANH"]
    f = Featurizer(min_df=1).fit(texts)
    X = f.transform(texts)
    for i, t in enumerate(texts):
        wf, cf = analyze(source_tokens(t), f.char_range, f.stripped_words, f.cross_chars)
        expect = {f.vocab[n] for n, _, _ in wf + cf}
        expect |= {f.vocab[n] for n in f._meta_of(t, source_tokens(t))}
        assert set(X[i].indices.tolist()) == expect



def _reference_tfidf(f: Featurizer, text: str) -> dict[int, float]:
    """The TF-IDF row of ``text`` computed from ``analyze`` (slow path), as {column: value}."""
    from collections import Counter
    toks = source_tokens(text)
    wf, cf = analyze(toks, f.char_range, f.stripped_words, f.cross_chars)
    names = [n for n, _, _ in wf + cf] + (f._meta_of(text, toks) if f.meta else [])
    counts = Counter(f.vocab[n] for n in names if n in f.vocab)
    val = {j: (np.log(c) + 1.0) * float(f.idf[j]) for j, c in counts.items()}
    for is_char, scale in ((False, 1.0), (True, f.char_weight)):
        block = [j for j in val if (j >= f.n_word) == is_char]
        norm = np.sqrt(sum(val[j] ** 2 for j in block)) or 1.0
        for j in block:
            val[j] *= scale / norm
    return val


@pytest.mark.parametrize("char_range", [(2, 5), (2, 4), (3, 6), (2, 2)])
def test_transform_counts_match_analyze_with_shared_window_cache(char_range):
    # different word pairs share the same accent-stripped "window" around the space
    # ("không biết" / "KHONG BIET" / "khong biet"): the cross-word columns are cached by
    # that window, so reusing them across texts must give the same counts as analyze
    texts = ["không biết gì", "KHONG BIET GI luôn", "khong biet gi khong biet gi",
             "Vay tiền nhanh ib zalo 0912 345 678 vay tien", "a b c a b c", "dm ngu vl"]
    f = Featurizer(char_range=char_range, min_df=1, char_weight=0.7).fit(texts)
    together = f.transform(texts)
    for i, t in enumerate(texts):
        expect = _reference_tfidf(f, t)
        row = together[i]
        got = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        assert got.keys() == expect.keys()
        for j, v in expect.items():
            assert got[j] == pytest.approx(v, rel=1e-5)
        alone = Featurizer.from_state(f.params(), f.feature_names, f.n_word, f.idf)
        assert (alone.transform([t]) != row).nnz == 0

def test_predict_proba_sums_to_one_in_label_order(tiny_model_dir):
    clf = Classifier.load(tiny_model_dir)
    assert clf.labels == ["clean", "spam", "offensive", "hate"]
    out = clf.predict_proba(["Vay tiền nhanh ib zalo 0912 345 678", "Bài viết hay", "", "đm"])
    assert len(out) == 4
    for d in out:
        assert list(d) == clf.labels
        assert abs(sum(d.values()) - 1) < 1e-6
        assert all(0 <= v <= 1 for v in d.values())
    assert clf.predict_proba([]) == []


def test_tiny_model_separates_classes(tiny_model_dir):
    clf = Classifier.load(tiny_model_dir)
    got = clf.predict(["vay tiền nhanh ib zalo 0999 888 777", "đm thằng ngu vl",
                       "Cảm ơn tác giả bài viết hay", "bọn bắc kỳ súc vật cút đi"])
    assert got == ["spam", "offensive", "clean", "hate"]
    # saved model = loaded model
    again = Classifier.load(tiny_model_dir)
    a = np.array([list(d.values()) for d in clf.predict_proba(["đm", "vay tiền"])])
    b = np.array([list(d.values()) for d in again.predict_proba(["đm", "vay tiền"])])
    assert np.allclose(a, b)
    meta = json.loads((tiny_model_dir / "model.json").read_text("utf-8"))
    assert meta["params"]["min_df"] == 1


@pytest.mark.parametrize("text, token, label", [
    ("Hôm nay đm thằng này ngu vl thật", "đm", "offensive"),
    ("hom nay dm thang nay ngu vl that", "dm", "offensive"),
    ("mày nói vậy vl, ko hiểu gì", "vl", "offensive"),
    ("Vay tiền nhanh, ib zalo 0912 345 678 nhé", "0912 345 678", "spam"),
    ("bọn bắc kỳ súc vật", "súc vật", "hate"),
])
def test_explain_spans_point_at_the_words(tiny_model_dir, text, token, label):
    clf = Classifier.load(tiny_model_dir)
    items = clf.explain(text, top=20)
    assert items
    for it in items:
        assert text[it["start"]:it["end"]] == it["token"]
        assert it["weight"] > 0 and it["label"] in clf.labels
    hits = [it for it in items if token in it["token"] and it["label"] == label]
    assert hits, items
    assert items == sorted(items, key=lambda d: -d["weight"])


def test_explain_with_invisible_chars_and_label(tiny_model_dir):
    clf = Classifier.load(tiny_model_dir)
    text = "  thằng  đ\u200bm  ngu  "
    items = clf.explain(text, label="offensive")
    assert all(it["label"] == "offensive" for it in items)
    assert any(it["token"].startswith("đ\u200bm") or it["token"] == "ngu" for it in items)
    for it in items:
        assert text[it["start"]:it["end"]] == it["token"]
    assert clf.explain("") == [] and clf.explain("!!! ...") == []


def test_decomposed_and_invisible_input_scores_like_the_normal_form(tiny_model_dir):
    import unicodedata
    clf = Classifier.load(tiny_model_dir)
    texts = ["Đụ má thằng ngu này", "Vay tiền nhanh ib zalo 0912 345 678", "Bài viết rất hay"]
    odd = [unicodedata.normalize("NFD", t) for t in texts] + ["Đụ\u200b má thằng ngu này"]
    a = np.array([list(d.values()) for d in clf.predict_proba(texts + texts[:1])])
    b = np.array([list(d.values()) for d in clf.predict_proba(odd)])
    assert np.allclose(a[:3], b[:3], atol=1e-6)
    assert clf.predict(odd[3:]) == clf.predict(texts[:1])


def test_nb_ratios_favour_the_class_a_feature_occurs_in():
    from scipy import sparse

    from models.classifier.train import _nb_ratios
    # feature 0 only in class 1, feature 1 only in class 0, feature 2 in both
    Xb = sparse.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], float))
    y = np.array([1, 1, 0, 0])
    r = _nb_ratios(Xb, y, np.ones(4), 1)
    assert r[0] > 0 > r[1] and r[2] == pytest.approx(0.0)
    # sample weights count like repeated rows
    r2 = _nb_ratios(Xb, y, np.array([2.0, 0.0, 1.0, 1.0]), 1)
    assert r2 == pytest.approx(r)


@pytest.mark.parametrize("nb", [True, None])
def test_nb_svm_model_is_still_one_calibrated_linear_model(data_files, tmp_path, nb):
    from models.classifier.train import TrainParams, train
    ds = load_many(specs(data_files))
    clf, metrics = train(ds, TrainParams(min_df=1, folds=2, nb=nb))
    cv = metrics["cross_validation"]
    assert isinstance(cv["nb"], bool) and (nb is None or cv["nb"] is nb)
    assert clf.meta["params"]["nb"] is cv["nb"]          # what was chosen is recorded
    K = len(clf.labels)
    assert clf.coef.shape == (len(clf.featurizer.vocab), K)  # folded into one model
    clf.save(tmp_path / "m", metrics=metrics)
    loaded = Classifier.load(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "model.json").read_text("utf-8"))["params"]["nb"] \
        is cv["nb"]
    P = loaded.proba(["Vay tiền nhanh ib zalo 0912 345 678", "đm thằng này ngu vl",
                      "Bài viết rất hay, cảm ơn tác giả"])
    assert np.allclose(P.sum(axis=1), 1.0, atol=1e-5)
    assert loaded.predict(["Vay tiền nhanh ib zalo 0912 345 678", "đm thằng này ngu vl",
                           "Bài viết rất hay, cảm ơn tác giả"]) == ["spam", "offensive", "clean"]
    # explanations stay exact: contributions come from the same linear weights
    items = loaded.explain("Vay tiền nhanh ib zalo 0912 345 678", label="spam")
    assert items and all(it["weight"] > 0 for it in items)


def test_nb_svm_binary_and_without_cross_validation():
    from models.classifier.datasets import Dataset
    from models.classifier.train import TrainParams, train
    texts = ["đm thằng ngu", "ngu vl", "bài hay quá", "cảm ơn tác giả", "thời tiết đẹp"]
    labels = ["offensive", "offensive", "clean", "clean", "clean"]
    ds = Dataset(texts=texts, labels=labels, weights=[1.0] * 5, sources=[0] * 5)
    clf, metrics = train(ds, TrainParams(min_df=1, folds=2, nb=True))
    assert clf.coef.shape[1] == 2 and metrics["cross_validation"]["nb"] is True
    assert clf.predict(["thằng ngu vl", "bài hay"]) == ["offensive", "clean"]
    # one example of a class: no cross-validation; the two models are averaged
    ds1 = Dataset(texts=texts[1:], labels=labels[1:], weights=[1.0] * 4, sources=[0] * 4)
    clf1, metrics1 = train(ds1, TrainParams(min_df=1, nb=True))
    assert metrics1["cross_validation"] is None and clf1.meta["params"]["nb"] is True
    assert clf1.predict(["ngu vl"]) == ["offensive"]
