"""What the phases read (the comment and its site's settings) and what they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CommentContext:
    comment_id: int
    site_id: int
    body: str  # as submitted
    author_name: str
    author_email: str
    client_ip: str | None
    site_settings: dict[str, Any]


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
    # A phase may rewrite the text later phases see (normalization does).
    text: str | None = None
    decision: Decision | None = None


@dataclass
class Outcome:
    status: str
    priority: float
    normalized: str
    analysis: dict[str, Any]
    decided_by: str  # "system:<phase>" for the audit row
    reason: str
    model_version: str | None = None
