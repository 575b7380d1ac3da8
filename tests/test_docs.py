"""The README repeats snippets from docs/: they must stay the same text."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_webhook_check_is_the_documented_one() -> None:
    """docs/webhooks.md's snippet is the one the end-to-end test verifies deliveries with."""
    doc = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    snippet = re.findall(r"```python\n(.*?)```", doc, re.S)[0]
    assert "def verify_vimod_webhook" in snippet
    assert f"```python\n{snippet}```" in (ROOT / "README.md").read_text(encoding="utf-8")
