"""Building a model from a tiny fixture corpus (the real build uses VNTC)."""

import os
import time

from click.testing import CliRunner

from models.cli import diacritics
from models.diacritics.model import Model
from models.diacritics.restorer import restore_words

HERE = os.path.dirname(__file__)


def test_build_tiny_corpus_and_restore(tmp_path):
    out = tmp_path / "m.npz"
    res = CliRunner().invoke(diacritics, [
        "build", "--corpus", os.path.join(HERE, "fixtures", "tiny_corpus.txt"),
        "--out", str(out), "--min-count", "l4l=1", "--min-count", "l4r=1"])
    assert res.exit_code == 0, res.output
    m = Model.load(str(out))
    assert m.meta["corpus"] == "tiny_corpus.txt"
    # forms seen at least twice in the fixture are restored
    t, decisions = restore_words("toi khong biet, ban co biet khong", model=m)
    assert " ".join(d.output for d in decisions) == "tôi không biết bạn có biết không"


def test_shipped_artifact_loads_fast():
    from models.diacritics.restorer import _artifact_path

    t = time.perf_counter()
    m = Model.load(_artifact_path())
    assert time.perf_counter() - t < 4.0  # ≤ 2 s on an idle core; slack for CI
    assert len(m.keys) > 10_000
    assert os.path.getsize(_artifact_path()) <= 30 * 1024 * 1024
