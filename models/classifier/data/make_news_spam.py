# ruff: noqa: E501  (phrase tables)
"""Generate ``news_spam.csv``: project-written news-comment spam and ordinary comments.

Public Vietnamese comment datasets have almost no news-site spam (loan offers,
betting/casino, sales, "ib zalo 09xx" lures, links, crypto). This script writes
a deterministic set from hand-written phrase templates (written for vimod, no
third-party text): ``spam`` lines and ``clean`` lines that look like ordinary
reader comments under news articles (including ones that mention money, phones,
banks or football so those words alone do not mean spam). About a third of the
lines are typed without diacritics, some with teencode.

    python -m models.classifier.data.make_news_spam > models/classifier/data/news_spam.csv
"""

from __future__ import annotations

import csv
import random
import sys

from models.normalize import strip_marks

SEED = 2026

PHONES = ["0912 345 678", "0987.654.321", "09xx.xxx.xxx", "0903 111 222", "0868 868 868",
          "0333.456.789", "+84 912 000 111", "0977xxx999", "098 7654 321", "0708 123 456",
          "0909.09.09.09", "1900 6868", "0369 888 777", "0388xxx456"]
LINKS = ["bit.ly/vaynhanh24h", "www.bet88.vip", "https://tinyurl.com/kiemtien-online",
         "vaytien247.com", "https://nhacai-uytin.club", "shopgiare.vn/sale", "zalo.me/0912345678",
         "t.me/kiemtien_vn", "https://coinx-vn.io/ref=abc", "fb.com/shopthoitrang.hanoi",
         "https://app-vay.online/dangky", "www.casino-vn.top", "linkvao.net/w88", "kubet.me"]
CONTACT = ["ib zalo {p}", "liên hệ zalo {p}", "inbox mình nhé", "ib ngay để được tư vấn",
           "kết bạn zalo {p}", "gọi ngay {p}", "nhắn tin cho em qua zalo {p}",
           "chi tiết tại {l}", "đăng ký tại {l}", "xem thêm tại {l}", "click vào link {l}",
           "add zalo {p} nhận quà", "liên hệ hotline {p}", "inbox fanpage để nhận ưu đãi",
           "vào {l} nhé", "tele: @kiemtien_vn", "zl {p}", "check ib nhé các bác",
           "sđt/zalo: {p}", "ai cần ib em"]

LOAN = ["Vay tiền nhanh lãi suất thấp", "Hỗ trợ vay vốn chỉ cần CCCD", "Vay tiêu dùng không thế chấp",
        "Giải ngân trong 15 phút, không thẩm định", "Cần tiền gấp? Vay online duyệt 5 phút",
        "Cho vay trả góp theo ngày, nợ xấu vẫn vay được", "Vay 50 triệu chỉ cần căn cước",
        "Hỗ trợ đáo hạn thẻ tín dụng, rút tiền mặt từ thẻ phí thấp",
        "Vay tín chấp theo lương, lãi 0% tháng đầu", "Bốc bát họ, góp ngày nhẹ nhàng",
        "Cho vay nóng, không cần gặp mặt", "Vay sinh viên 5 triệu duyệt ngay",
        "Nhận làm hồ sơ vay ngân hàng bao đậu", "Cầm đồ online, giải ngân trong ngày"]
BET = ["Nhà cái uy tín nhất châu Á, nạp 100k tặng 200k", "Soi kèo chuẩn, tỷ lệ thắng 90%",
       "Lô đề online trả thưởng cao nhất", "Casino trực tuyến, rút tiền siêu tốc",
       "Kèo thơm đêm nay, vào tiền mạnh tay", "Tham gia nhóm soi kèo VIP miễn phí",
       "Đánh đề 1 ăn 99, uy tín số 1", "Nổ hũ, bắn cá đổi thưởng, tặng code 50k",
       "Bao lô 3 miền, chốt số chuẩn hôm nay", "Cá độ bóng đá online hoàn trả 1.5% mỗi ngày",
       "Game bài đổi thưởng nạp rút 1-1", "Tài xỉu online, thắng là rút ngay"]
SALES = ["Thanh lý kho giày thể thao giá chỉ 99k", "Sale sốc 50% toàn bộ mỹ phẩm chính hãng",
         "Thuốc giảm cân cấp tốc, giảm 7kg trong 1 tuần", "Kem trắng da an toàn, hiệu quả sau 3 ngày",
         "Bán sim số đẹp giá rẻ", "Nhận thiết kế web trọn gói chỉ 2 triệu",
         "Tuyển cộng tác viên bán hàng online, thu nhập 15-20tr/tháng",
         "Việc nhẹ lương cao, làm tại nhà 2-3 giờ mỗi ngày", "Đất nền sổ đỏ giá chỉ 500tr/lô",
         "Bán tài khoản game, acc VIP giá rẻ", "Tăng like, tăng follow, tăng view uy tín",
         "Dịch vụ làm bằng đại học, bằng lái xe", "Thực phẩm chức năng chữa khỏi tiểu đường",
         "Nước hoa auth giảm giá cực sâu", "Khóa học làm giàu online, cam kết hoàn tiền",
         "Cần tuyển gấp 10 bạn làm nhập liệu tại nhà", "Đồng hồ nam cao cấp freeship toàn quốc",
         "Nhận chạy quảng cáo facebook ra đơn liền"]
CRYPTO = ["Đầu tư coin lãi 30% mỗi tháng", "Sàn crypto mới, nạp USDT nhận thưởng x2",
          "Nhóm kéo coin x10 tài khoản trong tuần", "Đào coin miễn phí trên điện thoại",
          "Airdrop token mới, nhận ngay 100 USDT", "Đầu tư forex cùng chuyên gia, lợi nhuận cố định",
          "Ủy thác đầu tư, mỗi ngày nhận lãi 2%", "Kiếm tiền online 500k mỗi ngày chỉ với điện thoại"]
LURES = ["Ai muốn kiếm thêm thu nhập thì {c}", "Mình đang cần 5 bạn làm online, {c}",
         "Bác nào cần vốn làm ăn {c}", "Ai cần thì {c}", "Anh chị nào quan tâm {c}",
         "Cơ hội cuối cùng trong năm, {c}", "Đọc báo làm gì, kiếm tiền đi các bác, {c}",
         "Bài viết hay, nhân tiện ai cần vay tiền {c}", "Thay vì than vãn hãy {c}"]
OPENERS = ["", "", "", "🔥 ", "HOT!!! ", "Ưu đãi hôm nay: ", "⚡ ", "Thông báo: ", "💰💰 ",
           "[QC] ", "Tin vui: "]

CLEAN = [
    "Bài viết rất hay, cảm ơn tác giả.", "Mong các cơ quan chức năng sớm vào cuộc xử lý.",
    "Giá xăng tăng hoài thế này thì dân lao động khổ quá.",
    "Đội tuyển đá quá hay, chúc mừng thầy trò.", "Thời tiết thất thường quá, mọi người giữ sức khỏe nhé.",
    "Tôi nghĩ nên có thêm làn đường cho xe buýt ở đoạn này.",
    "Con tôi năm nay thi lớp 10, áp lực thật sự.", "Cảm ơn các chiến sĩ cứu hỏa đã không quản hiểm nguy.",
    "Ngân hàng nên giảm lãi suất cho vay mua nhà để người trẻ có cơ hội.",
    "Tôi vừa gọi tổng đài 1900 của điện lực mà chờ mãi không ai nghe.",
    "Lãi suất tiết kiệm giảm rồi, gửi tiền cũng không còn lời mấy.",
    "Nên cấm hẳn quảng cáo vay tiền trên mạng, nhiều người bị lừa lắm.",
    "Bà con cẩn thận với mấy tin nhắn mời vay tiền, toàn lừa đảo.",
    "Cờ bạc online làm bao nhiêu gia đình tan nát, phải xử thật nặng.",
    "Trận tối qua Messi chơi hay thật, xứng đáng cầu thủ xuất sắc nhất.",
    "Giá vàng lên xuống thế này ai mà dám mua.", "Hà Nội mùa thu đẹp nhất năm.",
    "Đường Nguyễn Trãi sáng nay kẹt xe kinh khủng.", "Chúc mừng em, tấm gương vượt khó tuyệt vời.",
    "Giáo viên vùng cao vất vả quá, cần được hỗ trợ nhiều hơn.",
    "Mấy ông lái xe say rượu phải phạt thật nặng.", "Cảm ơn báo đã đưa tin kịp thời.",
    "Thông tin hữu ích, tôi sẽ chia sẻ cho gia đình.", "Tôi không đồng ý với quan điểm của bài viết.",
    "Bệnh viện quá tải, bác sĩ và bệnh nhân đều khổ.", "Học phí tăng thế này sinh viên nghèo lấy đâu ra tiền.",
    "Giá nhà ở thành phố giờ quá cao so với thu nhập.", "Hy vọng năm sau kinh tế khởi sắc hơn.",
    "Đề nghị ghi rõ nguồn số liệu trong bài.", "Mình ở Đà Nẵng, hôm qua mưa to ngập hết đường.",
    "Ủng hộ việc xử lý nghiêm tín dụng đen.", "Zalo với Facebook giờ toàn tin giả, đọc phải tỉnh táo.",
    "Điện thoại mới ra giá cao quá, chắc đợi giảm giá rồi mua.",
    "Trận chung kết tối nay mấy giờ đá vậy mọi người?", "Cầu mong các nạn nhân sớm bình phục.",
    "Lương giáo viên cần được tăng xứng đáng.", "Tôi từng làm ở khu công nghiệp, công nhân vất vả lắm.",
    "Nên đầu tư thêm cho đường sắt tốc độ cao.", "Ông bà ta nói cấm có sai, của rẻ là của ôi.",
    "Chuyện này đã xảy ra nhiều lần rồi mà vẫn chưa rút kinh nghiệm.",
    "Thủ tục hành chính giờ làm online tiện hơn nhiều.", "Sân bay Tân Sơn Nhất dịp Tết quá đông.",
    "Một bài phân tích sâu sắc và khách quan.", "Các cháu học sinh giỏi quá, tự hào lắm.",
    "Giá rau ngoài chợ hôm nay lại tăng.", "Nên có chế tài mạnh hơn với hành vi xả rác.",
    "Ai ở Sài Gòn cho hỏi đường Võ Văn Kiệt còn ngập không?",
    "Mùa này đi Sa Pa có lạnh lắm không mọi người?", "Người dân cần được bồi thường thỏa đáng.",
    "Tôi đã đọc bài này hai lần, rất xúc động.", "Mong thành phố sớm có thêm công viên cho trẻ em.",
    "Giảm thuế VAT là chính sách đúng đắn.", "Vụ lừa đảo qua điện thoại này tinh vi quá.",
    "Bản tin thời tiết hôm nay chính xác ghê.", "Xe điện giờ nhiều người đi, cần thêm trạm sạc.",
    "Đội bóng chơi thiếu gắn kết, HLV cần thay đổi chiến thuật.",
    "Thị trường chứng khoán hôm nay giảm mạnh, nhà đầu tư nhỏ lo lắm.",
    "Ngân hàng Nhà nước điều chỉnh tỷ giá là hợp lý.", "Tiền điện tháng này nhà tôi tăng gấp đôi.",
    "Tôi đề nghị công khai danh sách các doanh nghiệp nợ bảo hiểm.",
    "Thanh niên bây giờ giỏi ngoại ngữ hơn thế hệ trước nhiều.",
    "Cứ mỗi lần mưa là khu này ngập, mong thành phố có giải pháp.",
    "Đi làm bằng xe buýt vừa rẻ vừa an toàn.", "Bài viết thiếu ý kiến của phía doanh nghiệp.",
    "Đọc xong thấy thương các em nhỏ quá.", "Cảnh sát giao thông làm việc rất nhiệt tình.",
    "Kinh nghiệm của tôi là nên gửi tiết kiệm kỳ hạn ngắn.", "Giá vé máy bay Tết năm nay đắt quá.",
    "Sao không thấy nhắc đến trách nhiệm của chủ đầu tư?", "Hóng kết quả điều tra vụ việc.",
    "Tôi ủng hộ việc dạy bơi bắt buộc trong trường học.", "Ca sĩ này hát live rất ổn định.",
    "Phim hay, diễn viên đóng tự nhiên.", "Nhà mình cũng từng bị gọi điện mời vay, chặn số luôn.",
    "Ai biết số điện thoại đường dây nóng của phường không ạ?",
    "Mình thấy đội tuyển nữ thi đấu còn hay hơn đội nam.",
    "Đồng ý, cần minh bạch thông tin hơn nữa.", "Cảm ơn bác sĩ đã tận tình cứu chữa.",
]
CLEAN_TEEN = ["bài viết hay quá, cảm ơn tác giả nhé", "ko biết bao giờ mới hết kẹt xe",
              "mn cho hỏi trận tối nay mấy h đá vậy", "đọc xong thấy buồn ghê",
              "dc cái tin vui cuối tuần", "mình thấy cx hợp lý mà", "bh giá cái gì cũng tăng",
              "tks báo đã đưa tin", "k hiểu sao lại để xảy ra chuyện này",
              "thương các bé quá trời", "mong là sẽ sớm có kết quả điều tra",
              "nhà mình ở gần đó, sáng nay đi qua thấy đông lắm"]


def spam_lines(rng: random.Random, n: int) -> list[str]:
    pools = [LOAN, LOAN, BET, BET, SALES, SALES, CRYPTO]
    out = []
    while len(out) < n:
        p, link = rng.choice(PHONES), rng.choice(LINKS)
        contact = rng.choice(CONTACT).format(p=p, l=link)
        style = rng.random()
        if style < 0.2:
            line = rng.choice(LURES).format(c=contact)
        else:
            body = rng.choice(rng.choice(pools))
            sep = rng.choice([", ", ". ", " - ", "! ", " 👉 ", ", ", " "])
            line = rng.choice(OPENERS) + body + sep + contact
            if rng.random() < 0.3:
                line += rng.choice([" !!!", ".", " 🔥🔥", " uy tín 100%", " hotline " + p,
                                    " ib ngay", ". Số lượng có hạn", " nhé cả nhà"])
        r = rng.random()
        if r < 0.3:
            line = strip_marks(line)
        elif r < 0.38:
            line = line.upper()
        elif r < 0.45:
            line = line.lower()
        out.append(line)
    return out


def clean_lines(rng: random.Random) -> list[str]:
    out = []
    for line in CLEAN + CLEAN_TEEN:
        out.append(line)
        if rng.random() < 0.45:
            out.append(strip_marks(line))
        if rng.random() < 0.15:
            out.append(line.lower().rstrip("."))
    return out


def main() -> None:
    rng = random.Random(SEED)
    rows = [(t, "spam") for t in spam_lines(rng, 420)] + [(t, "clean") for t in clean_lines(rng)]
    seen = set()
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["text", "label"])
    for t, y in rows:
        if t not in seen:
            seen.add(t)
            w.writerow([t, y])


if __name__ == "__main__":
    main()
