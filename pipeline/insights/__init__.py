"""CloudWatch Logs Insights queries over the documents the pipeline indexes.

Stable API: :func:`parse_query`, :func:`run_query` (the reference evaluator)
and :class:`InsightsError` (with the position of the error).
"""

from __future__ import annotations

from pipeline.errors import InsightsError
from pipeline.insights.evaluate import Result, evaluate, run_query
from pipeline.insights.parser import parse_query
from pipeline.insights.syntax import Query

__all__ = ["InsightsError", "Query", "Result", "evaluate", "parse_query", "run_query"]
