"""Near-duplicate flags on real clean comments, and on a synthetic seeding set.

    .venv/bin/python benchmarks/near_duplicates.py [--data ../shared/data/comments]
                                                   [--before 9b2a6ca]

The ViHSD dev CLEAN rows (label 0) stand in for a day of ordinary comments: each gets its
own author and one of --articles articles at random, spread evenly over 12 hours (inside the
24 h near-duplicate window, so every pair is compared). Mixed into that stream, at random
times, a synthetic seeding set written for this benchmark:
  - 8 loan/betting ads with a phone or handle, each posted by 4 accounts on one article
    within a minute;
  - 4 long texts (over 15 words), each posted by 3 accounts on three different articles;
  - 4 slogans, each posted by 4 accounts on one article within a few minutes.
And GENERIC: 10 phrases of praise, thanks, agreement, sympathy and good wishes, each posted 8
times (punctuation, "ạ", "nhé", an emoji...) by different readers on different articles at
random times: innocent, like the clean rows.
A seeding comment should be flagged when an earlier copy from another account exists (the
first of each group has nothing to match yet): 8 * 3 + 4 * 2 + 4 * 3 = 44 expected.

The repeats phase's Redis part (workers/pipeline/repeats.py, the LSH lookup and the
generic-text rule; the exact-repeat part needs the database and is not measured here) runs
over the stream in batches of 128 against a Redis of its own, once with the code of this
checkout ("after") and once with the phase as it was at --before ("before", read with
`git show`). Reports, for each: the share of clean rows, of generic phrases and of the expected
seeding comments flagged near_duplicate, and the comments/s of the phase's Redis part (one
process, Redis on the same machine).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from service.embedded_redis import EmbeddedRedis  # noqa: E402
from workers.pipeline.context import CommentContext, PhaseResult  # noqa: E402
from workers.pipeline.resources import Resources  # noqa: E402

ADS = [
    "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, liên hệ zalo 0912 345 678",
    "Cần vay gấp chỉ cần CCCD, không thẩm định, gọi ngay 0987.654.321 để được hỗ trợ",
    "Nhà cái uy tín số 1, nạp rút siêu tốc, tặng 100k cho thành viên mới, tele @keo88vn",
    "Bán đất nền giá rẻ sổ đỏ trao tay, cách trung tâm 5 phút, LH anh Hùng O9l2 888 999",
    "Tuyển cộng tác viên làm tại nhà thu nhập 500k mỗi ngày, nhắn zalo 0909 123 456",
    "Soi kèo bóng đá miễn phí, tỉ lệ thắng 90 phần trăm, vào nhóm t.me/soikeo24h ngay",
    "Hỗ trợ vay vốn sinh viên không cần thế chấp, duyệt hồ sơ 15 phút, gọi 0345 678 910",
    "Căn hộ view sông trả trước 300 triệu nhận nhà ngay, hotline 0938 222 333 em Linh",
]
LONG = [
    "Tôi là người dân phường An Hòa, con đường này đã hỏng hơn hai năm nay, mùa mưa ngập "
    "đến đầu gối, đề nghị thành phố sớm sửa chữa và công khai tiến độ cho bà con được biết",
    "Chủ đầu tư dự án đã thu tiền của hàng trăm hộ gia đình từ năm 2019 nhưng đến nay vẫn "
    "chưa bàn giao nhà, đề nghị cơ quan chức năng vào cuộc làm rõ trách nhiệm",
    "Giá điện tháng này nhà tôi tăng gấp đôi dù dùng như mọi tháng, ngành điện cần giải "
    "thích rõ ràng cách tính tiền bậc thang cho người dân hiểu",
    "Ông chủ tịch xã đã làm rất nhiều việc cho dân, làm đường, xây trường, lo cho hộ nghèo, "
    "mong cấp trên xem xét khen thưởng xứng đáng cho ông",
]
SLOGANS = [
    "Ủng hộ ông Nguyễn Văn Tâm làm chủ tịch tỉnh nhiệm kỳ tới",
    "Tẩy chay hãng xe khách Phương Nam vì lừa khách đặt vé",
    "Kiên quyết phản đối xây nhà máy rác gần khu dân cư Hòa Phát",
    "Đòi lại tiền cho nhà đầu tư dự án Sunrise Garden ngay lập tức",
]
NEWS = ROOT / "models" / "classifier" / "data" / "news_spam.csv"
# What readers of many articles write alike (innocent): each is posted GENERIC_COPIES times,
# by different readers on different articles, at random times, in the variants below.
GENERIC = [
    "Bài viết rất hay, cảm ơn tác giả",
    "Cảm ơn tác giả, bài viết rất ý nghĩa",
    "Thông tin rất hữu ích, cảm ơn báo nhiều",
    "Đồng ý với bạn, nói rất đúng luôn",
    "Bài viết hay và ý nghĩa quá, cảm ơn",
    "Cảm ơn báo đã đưa tin kịp thời",
    "Cầu mong các nạn nhân sớm bình phục",
    "Cảm ơn các y bác sĩ đã vất vả",
    "Mong cơ quan chức năng sớm vào cuộc xử lý",
    "Chúc mừng năm mới, chúc quý báo an khang thịnh vượng",
]
GENERIC_COPIES = 8
VARIANTS = ["{}", "{}!", "{} ạ", "{} nhé", "{}.", "{}!!", "{} nha", "{} ❤️"]
BATCH = 128
START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
SPAN = timedelta(hours=12)


def load_phase(rev: str | None) -> ModuleType:
    """workers/pipeline/repeats.py as in this checkout (rev None) or at git revision rev."""
    if rev is None:
        from workers.pipeline import repeats
        return repeats
    source = subprocess.run(["git", "show", f"{rev}:workers/pipeline/repeats.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "repeats_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("repeats_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clean_rows(path: Path) -> list[str]:
    """The clean rows of a ViHSD-style (free_text, label_id 0) or news_spam.csv-style (text,
    label "clean") file."""
    with path.open(encoding="utf-8") as f:
        return [row.get("free_text") or row["text"] for row in csv.DictReader(f)
                if row.get("label_id", row.get("label")) in ("0", "clean")]


def stream(clean: list[str], articles: int,
           rng: random.Random) -> list[tuple[str, CommentContext]]:
    """(kind, context): kind "clean", "seed-first" or "seed" (an earlier copy exists)."""
    events: list[tuple[datetime, str, str, int]] = []  # time, kind, text, article
    step = SPAN / len(clean)
    events += [(START + i * step, "clean", text, rng.randrange(articles))
               for i, text in enumerate(clean)]

    def group(text: str, copies: int, same_article: bool, spread: timedelta) -> None:
        at, article = START + rng.random() * (SPAN - spread), rng.randrange(articles)
        for k in range(copies):
            events.append((at + k * spread / copies, "seed" if k else "seed-first",
                           text + (" " + "!" * k if k % 2 else ""),
                           article if same_article else rng.randrange(articles)))

    for text in GENERIC:
        for k in range(GENERIC_COPIES):
            events.append((START + rng.random() * SPAN, "generic",
                           VARIANTS[k % len(VARIANTS)].format(text), rng.randrange(articles)))
    for ad in ADS:
        group(ad, 4, True, timedelta(minutes=1))
    for text in LONG:
        group(text, 3, False, timedelta(hours=2))
    for slogan in SLOGANS:
        group(slogan, 4, True, timedelta(minutes=5))
    events.sort(key=lambda e: e[0])
    return [(kind, CommentContext(
        comment_id=n + 1, site_id=1, body=text, author_name=f"reader {n}",
        author_email=f"reader{n}@example.vn", client_ip=None, site_settings={},
        received_at=at, article_id=article)) for n, (at, kind, text, article) in enumerate(events)]


def measure(phase: ModuleType, events: list[tuple[str, CommentContext]],
            client: redis.Redis, show: bool = False) -> dict[str, tuple[int, int]]:
    client.flushdb()
    resources = Resources(None, client)  # type: ignore[arg-type]
    flagged: dict[str, list[bool]] = {"clean": [], "generic": [], "seed": []}
    for start in range(0, len(events), BATCH):
        chunk = events[start:start + BATCH]
        ctxs = [CommentContext(**{**ctx.__dict__, "resources": resources}) for _, ctx in chunk]
        results = [PhaseResult(name="repeats") for _ in ctxs]
        phase._redis_checks(ctxs, [c.body for c in ctxs], results)
        for (kind, ctx), result in zip(chunk, results, strict=True):
            if kind != "seed-first":
                flagged[kind].append("near_duplicate" in result.flags)
            if show and kind != "seed" and "near_duplicate" in result.flags:
                print(f"    flagged {kind}:", repr(ctx.body))
    return {kind: (sum(v), len(v)) for kind, v in flagged.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/comments"))
    ap.add_argument("--before", default="9b2a6ca", help="git revision of the old phase")
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--show", action="store_true", help="print the clean comments flagged")
    args = ap.parse_args()
    server = EmbeddedRedis(Path(tempfile.mkdtemp())).start()
    try:
        client = redis.Redis.from_url(server.url)
        for path in (args.data / "vihsd_dev.csv", NEWS):
            events = stream(clean_rows(path), args.articles, random.Random(args.seed))
            print(f"{path.name}: clean rows + the seeding set")
            for label, rev in (("before", args.before), ("after", None)):
                phase = load_phase(rev)
                started = time.perf_counter()
                got = measure(phase, events, client, args.show)
                rate = len(events) / (time.perf_counter() - started)
                print(f"  {label:6} flagged near_duplicate: " + "   ".join(
                    f"{kind} {n}/{total} = {100 * n / total:.2f} %"
                    for kind, (n, total) in got.items()) + f"   ({rate:,.0f} comments/s)")
        client.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
