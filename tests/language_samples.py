"""Hand-written comments for the language check (tests/test_language.py and
benchmarks/language.py): how readers of Vietnamese news sites write when they do not write
Vietnamese, when they mix, and when they type without marks. Written for vimod, not taken
from any dataset; all clean except ENGLISH_SPAM."""

# Clean comments in English: thanks, questions to the editor, expats, tourists.
ENGLISH_CLEAN = [
    "Thanks for the update. Stay safe everyone in Hue!",
    "Great article, thank you for covering this story.",
    "Could the editor please add the source for these numbers?",
    "I have lived in Da Nang for five years and the traffic has really got worse.",
    "Is there an English version of this article? I would like to share it with my colleagues.",
    "My wife is Vietnamese and we are moving to Hanoi next year. Any advice on schools?",
    "Very sad news. My thoughts are with the families of the victims.",
    "When will the new metro line in Ho Chi Minh City open to the public?",
    "Does anyone know if foreigners need a visa extension after the new rules?",
    "Beautiful photos of Ha Long Bay, I hope to visit again soon.",
    "I don't understand why the prices keep going up every month.",
    "Please correct the date in the second paragraph, it should be March not May.",
    "As an expat teacher here, I think this policy will help a lot of students.",
    "Well written and balanced report. Keep up the good work!",
    "Where can I find the full list of the new regulations?",
    "Happy new year to all the readers and the team at the paper!",
    "We were in Hoi An during the flood, the local people were so kind to us.",
    "Very good",
    "Good job, reporters!",
]

# English spam: caught by the rules (phone number, link), not by the classifier.
ENGLISH_SPAM = [
    "Fast loan approval in 24 hours, no credit check! Call 0912 345 678 now",
    "Earn $500 a day from home, join here https://bit.ly/easy-money-vn",
]

# Code-switching: Vietnamese with English words; stays Vietnamese and is scored.
MIXED = [
    "Bài này hay quá, thanks ad",
    "deadline dự án này là khi nào vậy ad?",
    "Thanks tác giả, bài viết rất hữu ích cho mình",
    "Cái app này update xong bị lag quá, admin check giúp với",
    "Ok, good job team phóng viên",
    "mình đang làm remote cho công ty nước ngoài, thấy bài này very true",
    "Sorry mọi người, cho em hỏi thủ tục làm passport ở đâu ạ?",
    "Nice, cuối tuần này đi check in Đà Lạt thôi",
]

# Vietnamese typed without marks: must not be taken for English.
UNACCENTED = [
    "bai viet hay qua",
    "Con toi hoc lop 9 ma mon Ngu van kho qua",
    "lon bia vo hop vut day duong",
    "cam on tac gia nhe",
    "gia xang cu tang hoai the nay thi dan song sao noi",
    "ko biet bao gio moi sua xong con duong nay",
    "the thi chiu roi, to cung khong biet noi sao",
    "an toan la tren het, mong moi nguoi can than",
    "me em noi to chuc dam cuoi o que vui lam",
]
