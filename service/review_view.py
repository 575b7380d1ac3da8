"""Where a moderator is in the queue — tab, filters, order, page — carried in every URL of
the workspace: from the list to each card, through every decision, and back. A decision
moves on to the next comment *of that view* (a filtered, sorted tab stays filtered and
sorted), never to one outside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, request, url_for

from service.params import parse_id, parse_page

ORDERS = ("priority", "oldest", "uncertain")


@dataclass
class QueueView:
    tab: str = "pending"
    order: str = "priority"
    page: int = 1
    filters: Any = field(default=None)  # service.review.Filters

    @classmethod
    def from_args(cls) -> QueueView:
        from service.review import TABS, Filters

        tab = request.args.get("tab", "pending")
        if tab not in TABS:
            abort(404)
        order = request.args.get("order", "priority")
        return cls(tab=tab, order=order if order in ORDERS else "priority",
                   page=parse_page(request.args.get("page")), filters=Filters.from_args())

    def args(self, **changes: Any) -> dict[str, Any]:
        """The view as URL arguments (the defaults left out, so URLs stay short)."""
        out: dict[str, Any] = {}
        if self.tab != "pending":
            out["tab"] = self.tab
        if self.order != "priority":
            out["order"] = self.order
        if self.page != 1:
            out["page"] = self.page
        out.update(self.filters.args())
        out.update(changes)
        return {k: v for k, v in out.items() if v is not None}

    def queue_url(self, comment_id: int | None = None, **changes: Any) -> str:
        """The two-pane queue of this view, with this comment open beside it."""
        return url_for("review.queue", **self.args(c=comment_id, **changes))

    def in_view(self, action: str, comment_id: int, **changes: Any) -> str:
        """A card's action (approve, reject, …) that keeps the view."""
        return url_for(f"review.{action}", comment_id=comment_id, **self.args(**changes))


def current_comment_arg() -> int | None:
    """The comment open beside the list (`c=`)."""
    return parse_id(request.args.get("c"))
