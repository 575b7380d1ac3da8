"""Runs the phases in order and hands their results to the policy."""

from __future__ import annotations

from collections.abc import Callable

from workers.pipeline import contacts, diacritics, length, normalize, policy, repeats, wordlists
from workers.pipeline.context import CommentContext, Outcome, PhaseResult

Phase = Callable[[CommentContext, str], PhaseResult]

# The order of DESIGN.md: cheap rules first; each phase sees the normalized text.
PHASES: list[Phase] = [
    normalize.run,
    length.run,
    contacts.run,
    wordlists.run,
    repeats.run,
    diacritics.run,
]


def run_pipeline(ctx: CommentContext, phases: list[Phase] | None = None) -> Outcome:
    text = ctx.body
    results: list[PhaseResult] = []
    for phase in phases if phases is not None else PHASES:
        result = phase(ctx, text)
        results.append(result)
        if result.text is not None:
            text = result.text
    return policy.decide(ctx, results, text)
