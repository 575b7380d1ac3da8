"""Phase: the author is banned on this site (by e-mail or IP): auto-reject."""

from __future__ import annotations

from service.storage.tables import CommentStatus
from workers.pipeline.context import CommentContext, Decision, PhaseResult


def run(ctx: CommentContext, text: str) -> PhaseResult:
    result = PhaseResult(name="bans")
    if ctx.resources is None:
        return result
    emails, ips = ctx.resources.bans(ctx.site_id)
    by = []
    if ctx.author_email.lower() in emails:
        by.append("email")
    if ctx.client_ip and ctx.client_ip in ips:
        by.append("ip")
    if by:
        result.flags.append("banned_author")
        result.data = {"banned_by": by}
        result.decision = Decision(status=CommentStatus.auto_rejected, phase="bans",
                                   reason="author banned by " + " and ".join(by))
    return result
