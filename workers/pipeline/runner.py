"""Runs the phases in order over a batch of comments and hands each comment's results to
the policy. Most phases work on one comment; a phase marked `batch = True` (the classifier)
gets the whole batch at once, which is where batching pays."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import redis
from sqlalchemy.exc import OperationalError

from workers.pipeline import (
    bans,
    classifier,
    contacts,
    diacritics,
    length,
    normalize,
    policy,
    repeats,
    wordlists,
)
from workers.pipeline.context import CommentContext, Outcome, PhaseResult

log = logging.getLogger(__name__)

Phase = Callable[..., Any]
# Errors worth a retry of the whole task rather than a verdict of "analysis failed".
TRANSIENT = (OperationalError, redis.ConnectionError, redis.TimeoutError)

# The order of DESIGN.md: cheap rules first; each phase sees the normalized text. The
# diacritics phase comes before the word lists: they read its reading of unmarked text.
PHASES: list[Phase] = [
    normalize.run,
    bans.run,
    length.run,
    contacts.run,
    diacritics.run,
    wordlists.run,
    repeats.run,
    classifier.run,
]


def batch_phase(fn: Phase) -> Phase:
    fn.batch = True  # type: ignore[attr-defined]
    return fn


def run_pipeline(ctx: CommentContext, phases: list[Phase] | None = None) -> Outcome:
    return run_pipeline_many([ctx], phases)[0]


def run_pipeline_many(
    ctxs: list[CommentContext], phases: list[Phase] | None = None
) -> list[Outcome]:
    """One outcome per context, in order. A phase failing on one comment sends that comment
    to the moderators flagged `analysis_failed`; transient errors propagate (the task retries)."""
    texts = [c.body for c in ctxs]
    results: list[list[PhaseResult]] = [[] for _ in ctxs]
    failed: dict[int, Exception] = {}
    for phase in phases if phases is not None else PHASES:
        live = [i for i in range(len(ctxs)) if i not in failed]
        if not live:
            break
        if any(results[i] for i in live):
            ctxs = [replace(c, earlier=MappingProxyType(
                {r.name: MappingProxyType(r.data) for r in results[i]}))
                if results[i] else c for i, c in enumerate(ctxs)]
        outs: dict[int, PhaseResult] = {}
        if getattr(phase, "batch", False):
            try:
                batch = phase([ctxs[i] for i in live], [texts[i] for i in live])
                outs = dict(zip(live, batch, strict=True))
            except TRANSIENT:
                raise
            except Exception:  # noqa: BLE001 - find the comment that breaks it
                log.exception("batch phase %s failed; retrying one by one", phase.__name__)
                for i in live:
                    try:
                        outs[i] = phase([ctxs[i]], [texts[i]])[0]
                    except TRANSIENT:
                        raise
                    except Exception as exc:  # noqa: BLE001
                        failed[i] = exc
        else:
            for i in live:
                try:
                    outs[i] = phase(ctxs[i], texts[i])
                except TRANSIENT:
                    raise
                except Exception as exc:  # noqa: BLE001
                    log.exception("phase %s failed on comment %s", phase.__name__,
                                  ctxs[i].comment_id)
                    failed[i] = exc
        for i, result in outs.items():
            results[i].append(result)
            if result.text is not None:
                texts[i] = result.text
    return [
        policy.failed_outcome(ctx, failed[i]) if i in failed
        else policy.decide(ctx, results[i], texts[i])
        for i, ctx in enumerate(ctxs)
    ]
