"""Whatever a site sends, the intake answers 202 or a 4xx in the API's error shape, never a
500, and stores the comment only on 202. Hypothesis mutates a valid comment field by field
with values of every JSON type: huge integers, NaN, NFD and control characters, lone
surrogates, nested structures. Run on SQLite and PostgreSQL, through the Flask view and,
once a first comment has warmed the caches, the fast path. (With its fix reverted, it
finds the 500s that an NFD name at the limit and a parent_id beyond INTEGER were on
PostgreSQL; the long IPv6 zone has its own case in tests/test_intake.py.)"""

from __future__ import annotations

import copy
import json
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from service.storage import Comment
from tests.helpers import VALID, headers

PATHS = ["article", "article.id", "article.url", "article.title", "author", "author.name",
         "author.email", "body", "parent_id", "client", "client.ip", "client.user_agent",
         "extra"]
# Vietnamese letters precomposed and as base + combining marks, whitespace, controls.
_VIETNAMESE = st.text(
    alphabet=st.sampled_from(list("aăâeêioôơuưyđAĐ ệếữỗạ\u0300\u0301\u0303\u0309\u0323"
                                  "\n\t\r\x00\x07\x7f\u200b\ufeff👍@.:/%")),
    max_size=260,
)
# Text of exactly n characters after NFC, sent in NFD (1 + 2 code points each): at and just
# past every length limit (name 100, id 200, title 500, body 2000).
_AT_LIMITS = st.builds(
    lambda n: unicodedata.normalize("NFD", "ệ" * n),
    st.sampled_from([45, 46, 100, 101, 200, 201, 500, 501, 2000, 2001]),
)
# Integers at the edges of the database's INTEGER and BIGINT.
_EDGE_INTS = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),  # any code point, lone surrogates included
    _VIETNAMESE,
    st.sampled_from(["fe80::1%eth0", "fe80::1%" + "e" * 60, "2402:0800::0001", "999.1.1.1",
                     "lan@", "a@b.vn", "javascript:alert(1)", "https://baothu.vn/a", "ệ" * 2001]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=6,
)
_DELETE = object()
# Mostly one change at a time: with several, the first bad one hides what the others would
# have reached.
_MUTATIONS = st.lists(st.tuples(st.sampled_from(PATHS),
                                st.one_of(_AT_LIMITS, _EDGE_INTS, _VALUES, st.just(_DELETE))),
                      min_size=1, max_size=2)


def _mutated(changes: list[tuple[str, object]]) -> dict:
    data = copy.deepcopy(VALID)
    for path, value in changes:
        *parents, leaf = path.split(".")
        node = data
        for p in parents:
            child = node.get(p)
            if not isinstance(child, dict):
                child = node[p] = {}
            node = child
        if value is _DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return data


def _count(sessions) -> int:  # noqa: ANN001
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Comment))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=_MUTATIONS)
def test_no_input_is_a_500_and_only_202_stores(client, site, sessions, changes) -> None:  # noqa: ANN001
    _, key = site
    before = _count(sessions)
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as a careless client sends them.
    r = client.post("/api/v1/comments", data=json.dumps(_mutated(changes)),
                    content_type="application/json", headers=headers(key))
    assert r.status_code in (202, 400, 413, 422), (r.status_code, r.get_data(as_text=True))
    if r.status_code == 202:
        assert _count(sessions) == before + 1
    else:
        error = r.get_json()["error"]
        assert error["code"] and error["message"] and isinstance(error["fields"], dict)
        assert _count(sessions) == before
