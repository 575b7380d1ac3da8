"""The moderation pipeline: plain functions over a comment, no Celery here.

Each phase takes the `CommentContext` and returns a `PhaseResult`; `run_pipeline`
merges the results and the policy turns them into a status and a priority.
Adding a check means adding one phase module and listing it in `PHASES`.
"""

from workers.pipeline.context import CommentContext, Decision, PhaseResult
from workers.pipeline.runner import PHASES, run_pipeline

__all__ = ["PHASES", "CommentContext", "Decision", "PhaseResult", "run_pipeline"]
