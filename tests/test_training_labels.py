"""Moderators' decisions exported as labelled training examples (service/training_labels.py,
`vimod decisions export`), and a model trained on such an export."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from models.classifier.cli import model as model_cli
from models.classifier.datasets import DataSpec, load_file
from models.classifier.model import Classifier
from service import moderation, training_labels
from service.accounts import create_site, create_user
from service.cli import main as vimod_cli
from service.storage import Comment, CommentStatus, ModerationAction
from service.training_labels import COLUMNS, decisions, label_for, write_csv, write_jsonl
from tests.helpers import headers, payload, set_settings
from workers.tasks import process_comments_now

ROOT = Path(__file__).resolve().parent.parent
MODERATOR = "bientap_lan"

# Reader comments as they arrive: marked, unmarked, teencode, NFD, punctuation.
TEXTS = {
    "plain": "Bài viết rất hay, cảm ơn tác giả đã phản ánh kịp thời.",
    "teencode": "bai nay viet hay ko, mn thay dc ko",
    "quoted": 'Ông ấy nói "sẽ xử lý nghiêm, không bao che", nhưng đến giờ vẫn chưa thấy gì.\n'
              "Mong báo tiếp tục theo dõi, cảm ơn!",
    "nfd": unicodedata.normalize("NFD", "Hòa bình và hạnh phúc cho mọi nhà"),
    "spam": "Vay tiền nhanh lãi suất thấp, ib zalo 0912 345 678",
    "offensive": "đm thằng viết bài này ngu vl",
    "hate": "bọn bắc kỳ chó má cút hết đi",
    "no_diacritics": "bai viet nay rat hay, cam on bao",
    "off_topic": "Ai biết quán phở nào ngon ở Hà Đông không ạ?",
    "duplicate": "Bài viết rất hay, cảm ơn tác giả đã phản ánh kịp thời!",
    "other": "Tôi là người nhà nạn nhân, xin gọi cho tôi",
    "undone": "dc roi, ko sao dau",
    "redecided": "Giá xăng lại tăng rồi, dân mình khổ quá",
    "left_pending": "Đường Nguyễn Trãi hôm nay lại ngập",
}
EDITED = "Bài này viết hay không, mọi người thấy được không"
BANNED_AUTHOR_TEXT = "Nhà cái uy tín nạp 100k tặng 200k, vào ngay"
AUTO_REJECTED = "bai viet qua te, ko co gi de doc"    # site B rejects unmarked comments
OTHER_SITE = "Báo B đưa tin nhanh quá, cảm ơn"

# What the export must say: name → (label, action, reason, edited).
EXPECTED = {
    "plain": ("clean", "approved", None, False),
    "teencode": ("clean", "approved", None, True),
    "quoted": ("clean", "approved", None, False),
    "nfd": ("clean", "approved", None, False),
    "spam": ("spam", "rejected", "spam", False),
    "offensive": ("offensive", "rejected", "offensive", False),
    "hate": ("hate", "rejected", "hate", False),
    "no_diacritics": (None, "rejected", "no_diacritics", False),
    "off_topic": (None, "rejected", "off_topic", False),
    "duplicate": (None, "rejected", "duplicate", False),
    "other": (None, "rejected", "other", False),
    "redecided": ("clean", "approved", None, False),
    "banned_author": (None, "rejected", "banned", False),
    "other_site": ("clean", "approved", None, False),
}
LABELLED = {name for name, (label, *_rest) in EXPECTED.items() if label}


def submit(client, key: str, body: str, email: str = "lan.nguyen@example.vn") -> int:  # noqa: ANN001
    r = client.post("/api/v1/comments", json=payload(body=body, **{"author.email": email}),
                    headers=headers(key))
    assert r.status_code == 202, r.json
    return r.json["id"]


def decide(sessions, user_id: int, cid: int, what: str, *args, **kwargs) -> None:  # noqa: ANN001
    """What the review UI's buttons call: service.moderation.approve/reject/undo."""
    with sessions() as s:
        getattr(moderation, what)(s, s.get(Comment, cid), user_id, MODERATOR, *args, **kwargs)


@pytest.fixture
def decided(client, site, resources, sessions) -> dict[str, int]:  # noqa: ANN001
    """Comments through the real intake and pipeline, then decided by a moderator: name → id."""
    site_id, key = site
    with sessions() as s:
        other = create_site(s, "Báo B")
        s.commit()
        other_id, other_key = other.site.id, other.api_key
        user, _ = create_user(s, MODERATOR, "moderator", "mật-khẩu-thử-123", [site_id, other_id])
        s.commit()
        uid = user.id
    set_settings(sessions, other_id, diacritics_policy="reject")
    ids = {name: submit(client, key, text) for name, text in TEXTS.items()}
    ids["banned_author"] = submit(client, key, BANNED_AUTHOR_TEXT, email="nhacai@example.vn")
    ids["other_site"] = submit(client, other_key, OTHER_SITE)
    ids["auto_rejected"] = submit(client, other_key, AUTO_REJECTED)
    statuses = process_comments_now(resources, list(ids.values()))
    assert statuses[ids["auto_rejected"]] == CommentStatus.auto_rejected
    assert statuses[ids["plain"]] == CommentStatus.pending

    for name in ("plain", "quoted", "nfd", "other_site"):
        decide(sessions, uid, ids[name], "approve")
    decide(sessions, uid, ids["teencode"], "approve", edited_body=EDITED)
    for reason in ("spam", "hate", "no_diacritics", "off_topic", "duplicate", "other"):
        decide(sessions, uid, ids[reason], "reject", reason)
    decide(sessions, uid, ids["offensive"], "reject", "offensive", note="chửi tục, xúc phạm")
    decide(sessions, uid, ids["undone"], "reject", "spam")
    decide(sessions, uid, ids["undone"], "undo")
    decide(sessions, uid, ids["redecided"], "reject", "offensive")
    decide(sessions, uid, ids["redecided"], "undo")
    decide(sessions, uid, ids["redecided"], "approve")
    with sessions() as s:
        assert moderation.ban_author(s, s.get(Comment, ids["banned_author"]), uid, MODERATOR,
                                     by_email=True, by_ip=False, reject_pending=True) == 1
    return {**ids, "_site": site_id, "_other_site": other_id}


def by_name(ids: dict[str, int], rows) -> dict[str, training_labels.Decision]:  # noqa: ANN001
    names = {v: k for k, v in ids.items() if not k.startswith("_")}
    return {names[r.comment_id]: r for r in rows}


@pytest.mark.parametrize(("to_status", "reason", "label"), [
    ("approved", None, "clean"),
    ("approved", "edited", "clean"),
    ("rejected", "spam", "spam"),
    ("rejected", "offensive", "offensive"),
    ("rejected", "offensive: chửi tục", "offensive"),   # reason with the moderator's note
    ("rejected", "hate", "hate"),
    ("rejected", "banned", None),
    ("rejected", "no_diacritics", None),
    ("rejected", "off_topic", None),
    ("rejected", "duplicate", None),
    ("rejected", "other: gọi điện", None),
    ("rejected", "spammy", None),
    ("rejected", None, None),
    ("pending", "undo", None),
    ("auto_rejected", "spam probability 0.99", None),
])
def test_label_for(to_status: str, reason: str | None, label: str | None) -> None:
    assert label_for(to_status, reason) == label


def test_every_reject_reason_is_mapped() -> None:
    # a new reject reason must be given a label (or None) on purpose
    assert set(moderation.REJECT_REASONS) == {
        "no_diacritics", "spam", "offensive", "hate", "off_topic", "duplicate", "other",
        "banned"}


def test_current_human_decisions(decided, sessions) -> None:  # noqa: ANN001
    with sessions() as s:
        rows = list(decisions(s, include_unlabelled=True))
    got = by_name(decided, rows)
    # the undone reject, the comment never decided and the auto-rejection are not there
    assert set(got) == set(EXPECTED)
    assert {n: (r.label, r.action, r.reason, r.edited) for n, r in got.items()} == EXPECTED
    assert {r.moderator for r in rows} == {MODERATOR}
    assert len(rows) == len({r.comment_id for r in rows})   # one row per comment
    assert [r.decided_at for r in rows] == sorted(r.decided_at for r in rows)  # oldest first
    assert got["other_site"].site_id == decided["_other_site"]
    assert got["plain"].site_id == decided["_site"]
    # the text the classifier sees at intake: the original (not the edit), in NFC
    assert got["teencode"].text == TEXTS["teencode"]
    assert got["nfd"].text == "Hòa bình và hạnh phúc cho mọi nhà"
    assert got["nfd"].text != TEXTS["nfd"]
    assert got["quoted"].text == TEXTS["quoted"]
    decided_at = datetime.fromisoformat(got["spam"].decided_at)
    assert got["spam"].decided_at.endswith("Z") and decided_at.tzinfo is not None
    assert abs((datetime.now(UTC) - decided_at).total_seconds()) < 600


def test_unlabelled_left_out_by_default(decided, sessions, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(training_labels, "BATCH", 2)    # several batches from the database
    with sessions() as s:
        rows = decisions(s)
        assert not isinstance(rows, list)               # a generator: streamed, not loaded
        got = by_name(decided, list(rows))
    assert set(got) == LABELLED
    assert {n: r.label for n, r in got.items()} == {
        "plain": "clean", "teencode": "clean", "quoted": "clean", "nfd": "clean",
        "redecided": "clean", "other_site": "clean", "spam": "spam",
        "offensive": "offensive", "hate": "hate"}


def test_undo_then_nothing_is_not_exported(decided, sessions) -> None:  # noqa: ANN001
    with sessions() as s:
        assert s.get(Comment, decided["undone"]).status == CommentStatus.pending
        assert s.get(Comment, decided["auto_rejected"]).status == CommentStatus.auto_rejected
        exported = {r.comment_id for r in decisions(s, include_unlabelled=True)}
    assert decided["undone"] not in exported
    assert decided["auto_rejected"] not in exported
    assert decided["left_pending"] not in exported


def test_site_and_since_filters(decided, sessions) -> None:  # noqa: ANN001
    with sessions() as s:
        only_b = by_name(decided, decisions(s, site_id=decided["_other_site"],
                                            include_unlabelled=True))
        only_a = by_name(decided, decisions(s, site_id=decided["_site"]))
    assert set(only_b) == {"other_site"}
    assert set(only_a) == LABELLED - {"other_site"}

    old = [decided["spam"], decided["plain"]]
    with sessions() as s:
        s.execute(update(ModerationAction).where(ModerationAction.comment_id.in_(old))
                  .values(created_at=datetime(2025, 3, 1, 8, 30, tzinfo=UTC)))
        s.commit()
        recent = {r.comment_id for r in decisions(s, since=date(2025, 3, 2))}
        naive = {r.comment_id for r in decisions(s, since=datetime(2025, 3, 1, 8, 30))}
        everything = by_name(decided, decisions(s, since=date(2025, 3, 1)))
    assert recent == {decided[n] for n in LABELLED} - set(old)
    assert naive == {decided[n] for n in LABELLED}     # at or after, naive taken as UTC
    assert everything["spam"].decided_at == "2025-03-01T08:30:00Z"


def test_csv_and_jsonl_round_trip(decided, sessions, tmp_path) -> None:  # noqa: ANN001
    with sessions() as s:
        rows = list(decisions(s, include_unlabelled=True))
    path = tmp_path / "decisions.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        counts = write_csv(rows, fh)
    assert counts == {"clean": 6, "spam": 1, "offensive": 1, "hate": 1, None: 5}
    with path.open(encoding="utf-8", newline="") as fh:
        back = list(csv.DictReader(fh))
    assert list(back[0]) == list(COLUMNS)
    assert back == [{c: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
                     for c, v in r.as_dict().items()} for r in rows]
    quoted = next(b for b in back if b["comment_id"] == str(decided["quoted"]))
    assert quoted["text"] == TEXTS["quoted"] and "\n" in quoted["text"]

    buf = io.StringIO()
    assert write_jsonl(rows, buf) == counts
    lines = buf.getvalue().splitlines()
    assert len(lines) == len(rows)                      # the newline in a comment is escaped
    assert "Ông ấy nói" in buf.getvalue()               # UTF-8 text, not \u escapes
    assert [json.loads(x) for x in lines] == [r.as_dict() for r in rows]

    # the trainer's own loader reads the CSV back: labelled rows only, texts intact
    texts, labels, summary = load_file(DataSpec(str(path), "text", "label"))
    labelled = [r for r in rows if r.label]
    assert texts == [r.text for r in labelled] and labels == [r.label for r in labelled]
    assert summary["skipped_unmapped_label"] == 5


def _env(settings) -> dict[str, str]:  # noqa: ANN001
    return {"DATABASE_URL": settings.database_url, "VIMOD_INSTANCE": str(settings.instance),
            "SECRET_KEY": "x"}


def test_cli_export(decided, settings, tmp_path) -> None:  # noqa: ANN001
    runner = CliRunner()
    res = runner.invoke(vimod_cli, ["decisions", "export"], env=_env(settings))
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert {r["comment_id"] for r in rows} == {decided[n] for n in LABELLED}
    assert res.stderr.strip() == "exported 9 decisions: clean 6, spam 1, offensive 1, hate 1"

    out = tmp_path / "b.csv"        # format from the file name
    res = runner.invoke(vimod_cli, ["decisions", "export", "--site", str(decided["_other_site"]),
                                    "--all", "--out", str(out)], env=_env(settings))
    assert res.exit_code == 0, res.output
    with out.open(encoding="utf-8", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["text"], row["label"], row["moderator"]) == (OTHER_SITE, "clean", MODERATOR)
    assert res.stderr.strip() == "exported 1 decision: clean 1"

    res = runner.invoke(vimod_cli, ["decisions", "export", "--all", "--format", "csv",
                                    "--since", "2999-01-01"], env=_env(settings))
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [",".join(COLUMNS)]
    assert res.stderr.strip() == "exported 0 decisions"

    res = runner.invoke(vimod_cli, ["decisions", "export", "--all"], env=_env(settings))
    assert res.stderr.strip() == ("exported 14 decisions: clean 6, spam 1, offensive 1, "
                                  "hate 1, unlabelled 5")
    res = runner.invoke(vimod_cli, ["decisions", "export", "--since", "1/2/2025"],
                        env=_env(settings))
    assert res.exit_code == 2 and "--since" in res.output


# Enough decided comments of each kind for a tiny model (cf. tests/classifier/conftest.py).
TRAIN = {
    "clean": ["Bài viết rất hay, cảm ơn tác giả", "Mong cơ quan chức năng sớm vào cuộc",
              "Giao thông giờ cao điểm kẹt quá", "cam on bao da dua tin kip thoi",
              "ko biết bao giờ mới hết ngập", "Chúc mừng các em học sinh đạt giải",
              "Tôi đồng ý với ý kiến của chuyên gia"],
    "spam": ["Vay tiền nhanh lãi suất thấp ib zalo 0912 345 678",
             "Nhà cái uy tín nạp 100k tặng 200k", "vay tien nhanh chi can CCCD lh 0987.654.321",
             "Kiếm tiền online 500k mỗi ngày inbox mình", "Soi kèo chuẩn vào www.bet88.vip",
             "Tuyển cộng tác viên làm tại nhà ib zalo"],
    "offensive": ["đm thằng này ngu vl", "dm thang nay ngu vl", "đồ óc chó",
                  "thằng ngu này nói láo", "vcl thằng viết bài", "mày ngu lắm"],
    "hate": ["bọn bắc kỳ chó má cút đi", "bon bac ky cho ma", "bọn nam kỳ lừa đảo cút về",
             "lũ bắc kỳ súc vật", "lu nam ky suc vat", "giết hết bọn nó đi"],
}


def test_export_then_train(client, site, resources, sessions, settings, tmp_path) -> None:  # noqa: ANN001
    site_id, key = site
    with sessions() as s:
        user, _ = create_user(s, MODERATOR, "moderator", "mật-khẩu-thử-123", [site_id])
        s.commit()
        uid = user.id
    ids = {text: (label, submit(client, key, text, email=f"u{i}@example.vn"))
           for i, (label, texts) in enumerate(TRAIN.items()) for text in texts}
    off_topic = submit(client, key, "Ai biết quán phở nào ngon ở Hà Đông không?")
    process_comments_now(resources, [cid for _, cid in ids.values()] + [off_topic])
    for label, cid in ids.values():
        if label == "clean":
            decide(sessions, uid, cid, "approve")
        else:
            decide(sessions, uid, cid, "reject", label)
    decide(sessions, uid, off_topic, "reject", "off_topic")

    # `vimod decisions export` as a real process, then `vimod model train` on its file
    data = tmp_path / "decisions.csv"
    env = dict(os.environ, **_env(settings), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "service", "decisions", "export", "--all",
                           "--format", "csv", "--out", str(data)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ("exported 26 decisions: clean 7, spam 6, offensive 6, "
                                   "hate 6, unlabelled 1")
    out = tmp_path / "model"
    res = CliRunner().invoke(model_cli, ["train", "--data", str(data), "--text-column", "text",
                                         "--label-column", "label", "--min-df", "1",
                                         "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "data.json").read_text("utf-8"))
    assert summary["labels"] == {"clean": 7, "hate": 6, "offensive": 6, "spam": 6}
    assert summary["files"][0]["skipped_unmapped_label"] == 1   # the off-topic reject
    clf = Classifier.load(out)
    assert clf.labels == ["clean", "spam", "offensive", "hate"]
    texts = list(TRAIN["clean"][:2] + TRAIN["spam"][:2] + TRAIN["offensive"][:2]
                 + TRAIN["hate"][:2])
    assert clf.predict(texts) == ["clean"] * 2 + ["spam"] * 2 + ["offensive"] * 2 + ["hate"] * 2
