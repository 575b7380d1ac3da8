"""Tiny labelled comments (written for these tests) and a model trained on them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from models.classifier.datasets import DataSpec, load_many
from models.classifier.train import TrainParams, train

CLEAN = [
    "Bài viết rất hay, cảm ơn tác giả", "Giá xăng lại tăng rồi", "Đội tuyển đá quá hay",
    "Mong cơ quan chức năng sớm vào cuộc", "Hà Nội hôm nay mưa to", "Chúc mừng các em học sinh",
    "Thời tiết thất thường quá", "Tôi đồng ý với ý kiến này", "Thông tin hữu ích quá",
    "Cảm ơn báo đã đưa tin", "ko biết bao giờ mới hết kẹt xe", "mn giữ sức khỏe nhé",
    "Giao thông giờ cao điểm kẹt quá", "Hy vọng kinh tế sớm phục hồi", "Bài viết khách quan",
    "Ngân hàng nên giảm lãi suất", "Bệnh viện quá tải", "Học phí tăng cao quá",
    "Cam on tac gia bai viet hay", "Gia vang hom nay tang", "Doi tuyen thi dau tot",
    "Trận đấu tối qua rất hấp dẫn", "Tôi ủng hộ chính sách mới", "Nên xử lý nghiêm vụ việc",
]
SPAM = [
    "Vay tiền nhanh lãi suất thấp ib zalo 0912 345 678", "Nhà cái uy tín nạp 100k tặng 200k",
    "Vay tien nhanh chi can CCCD lien he 0987.654.321", "Soi kèo chuẩn vào www.bet88.vip",
    "Kiếm tiền online 500k mỗi ngày inbox mình", "Thanh lý giày giá rẻ ib zalo 0903 111 222",
    "Đầu tư coin lãi 30% mỗi tháng t.me/kiemtien", "Lo de online tra thuong cao ib ngay",
    "Tuyển cộng tác viên làm tại nhà ib zalo", "Vay tiền không thế chấp giải ngân 15 phút",
    "Casino trực tuyến rút tiền siêu tốc", "Sale sốc 50% mỹ phẩm inbox shop",
    "Kem trắng da hiệu quả liên hệ 0868 868 868", "vay nhanh online duyet 5 phut zalo 09xx",
]
OFFENSIVE = [
    "đm thằng này ngu vl", "dm thang nay ngu vl", "ngu như chó", "đồ óc chó", "vl ngu thật",
    "thằng ngu này nói láo", "đm nói ngu vãi", "dm bọn ngu", "vcl thằng này", "óc chó vl",
    "ngu vãi lồn", "thang oc cho", "đm mày câm đi", "dm may cam di", "mày ngu lắm",
]
HATE = [
    "bọn bắc kỳ chó má cút đi", "bon bac ky cho ma", "bọn nam kỳ lừa đảo cút về",
    "lũ bắc kỳ súc vật", "bọn này đáng chết hết", "lu nam ky suc vat", "giết hết bọn nó đi",
    "bọn bắc kỳ đáng chết", "lũ súc vật cút khỏi đây", "bon nay dang chet het",
]


def rows() -> list[tuple[str, str]]:
    return ([(t, "clean") for t in CLEAN] + [(t, "spam") for t in SPAM]
            + [(t, "offensive") for t in OFFENSIVE] + [(t, "hate") for t in HATE])


@pytest.fixture(scope="session")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same comments in two files with different column names and label codes."""
    d = tmp_path_factory.mktemp("clfdata")
    codes = {"clean": "0", "offensive": "1", "hate": "2"}
    a = d / "a.csv"
    with a.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["free_text", "label_id"])
        for t, y in rows():
            if y in codes:
                w.writerow([t, codes[y]])
    b = d / "b.jsonl"
    with b.open("w", encoding="utf-8") as fh:
        for t, y in rows():
            if y in ("spam", "clean"):
                fh.write(json.dumps({"body": t, "is_spam": int(y == "spam")},
                                    ensure_ascii=False) + "\n")
    return {"a": a, "b": b, "dir": d}


A_MAP = {"0": "clean", "1": "offensive", "2": "hate"}
B_MAP = {"0": "clean", "1": "spam"}


def specs(files: dict[str, Path]) -> list[DataSpec]:
    return [DataSpec(str(files["a"]), "free_text", "label_id", A_MAP),
            DataSpec(str(files["b"]), "body", "is_spam", B_MAP, weight=2.0)]


TINY = TrainParams(min_df=1, folds=2)


@pytest.fixture(scope="session")
def tiny_model_dir(data_files, tmp_path_factory) -> Path:
    ds = load_many(specs(data_files))
    clf, metrics = train(ds, TINY)
    out = tmp_path_factory.mktemp("tinymodel") / "m"
    clf.save(out, metrics=metrics, data_summary={"files": ds.summary})
    return out
