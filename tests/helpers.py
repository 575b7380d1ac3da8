"""Small helpers shared by the tests."""

from __future__ import annotations

import copy
from typing import Any

VALID: dict[str, Any] = {
    "article": {
        "id": "tin-123",
        "url": "https://baothu.vn/thoi-su/tin-123.html",
        "title": "Tỉnh triển khai chuyển đổi số năm 2026",
    },
    "author": {"name": "Nguyễn Thị Lan", "email": "lan.nguyen@example.vn"},
    "body": "Bài viết rất hữu ích, cảm ơn tác giả. Mong tỉnh sớm hoàn thành!",
}


def payload(**changes: Any) -> dict[str, Any]:
    """VALID with dotted-path changes, e.g. payload(**{"author.email": "x"}); None deletes."""
    data = copy.deepcopy(VALID)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return data


def headers(api_key: str, **extra: str) -> dict[str, str]:
    return {"X-Api-Key": api_key, **extra}


def set_settings(sessions, site_id: int, **changes: Any) -> None:  # noqa: ANN001
    """Change a site's settings in the database."""
    from service.storage import Site

    with sessions() as s:
        row = s.get(Site, site_id)
        row.settings = {**row.settings, **changes}
        s.commit()
