"""What the phases read (the comment, its site's settings, shared resources) and return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.pipeline.resources import Resources


@dataclass(frozen=True)
class CommentContext:
    comment_id: int
    site_id: int
    body: str  # as submitted
    author_name: str
    author_email: str
    client_ip: str | None
    site_settings: dict[str, Any]
    received_at: datetime | None = None
    text_key: str | None = None
    resources: Resources | None = None
    article_id: int | None = None
    # What the phases before this one found (phase name → its result's data), read-only:
    # the runner hands each phase a copy of the context with it filled in (the word lists
    # read the diacritics phase's reading of unmarked text).
    earlier: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass
class Decision:
    status: str
    phase: str
    reason: str


@dataclass
class PhaseResult:
    name: str
    flags: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # Character spans in the normalized text that the moderator UI highlights.
    spans: list[dict[str, Any]] = field(default_factory=list)
    # A phase may rewrite the text later phases see (normalization does).
    text: str | None = None
    decision: Decision | None = None
    # Category probabilities from a classifier, and the model version that made them.
    scores: dict[str, float] | None = None
    model_version: str | None = None


@dataclass
class Outcome:
    status: str
    priority: float
    normalized: str
    analysis: dict[str, Any]
    decided_by: str  # "system:<phase>" for the audit row
    reason: str
    model_version: str | None = None
    # Distance of the classifier's scores to the nearest boundary that matters (policy.py);
    # None when nothing was scored.
    certainty: float | None = None
