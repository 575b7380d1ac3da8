"""A key for "the same comment again": equal for texts that differ only in case, marks,
spacing, punctuation, emoji or tone placement."""

from __future__ import annotations

import hashlib
import re

from models.normalize import normalize, strip_marks

_NOT_ALNUM = re.compile(r"[\W_]+")


def comparable(text: str) -> str:
    return _NOT_ALNUM.sub(" ", strip_marks(normalize(text)).lower()).strip()


def text_key(text: str) -> str:
    return hashlib.sha1(comparable(text).encode("utf-8")).hexdigest()


# Words that carry no topic of their own in a news comment: function words, pronouns and
# forms of address, and the vocabulary of generic praise, thanks and agreement ("Bài viết
# rất hay, cảm ơn tác giả", "Đồng ý với bạn"). Unmarked and lower case, as comparable()
# writes them (so "hay", "tin", "viet" also stand for their homographs: a little leniency).
_FILLER = """
a ah ak ai anh ay ba bac ban bao be bi biet bo bon cac cai cam cho chi chia chinh chuan
chuc cm co con cu cua cung da dang day de den di do dong du duoc em gi gia gio ha hay het
hieu hoan hu huu ich it ko k khong kg la lam lan lang lay len luon ly ma minh moi mot mong
na nao nay nen nghe ngay nguoi nha nhe nhi nhieu nhu nhung noi nua o oi on phai qua rang
rat roi sao se tac tai thank thanks that the thi thich thiet thong thu tin toan toi tot
tra trong tuyet u uh ung ho va van ve vi viet voi vo vui y yes ok oke okay hihi haha
like cmt comment bai hop ly dung chinh xac sau sac hoi ad admin
"""
# ("vay" is not filler: "vậy" and "vay tiền" write the same unmarked.)
FILLER_WORDS = frozenset(_FILLER.split())


def content_words(text: str) -> int:
    """How many words of `text` are not filler (FILLER_WORDS, single letters, numbers)."""
    return sum(1 for w in comparable(text).split()
               if len(w) > 1 and not w.isdigit() and w not in FILLER_WORDS)
