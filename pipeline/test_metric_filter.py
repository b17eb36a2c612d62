"""CloudWatch's TestMetricFilter, locally: which messages a pattern matches and what it extracts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.patterns import compile_pattern

__all__ = ["test_metric_filter"]


def test_metric_filter(pattern: str, messages: Iterable[str]) -> dict[str, Any]:
    """The TestMetricFilter response: ``{"matches": [...]}`` with 1-based event numbers.

    Raises :class:`~pipeline.errors.PatternError` for an invalid pattern, as the
    API answers InvalidParameterException.
    """
    compiled = compile_pattern(pattern)
    matches = []
    for number, message in enumerate(messages, start=1):
        match = compiled.match(message)
        if match is not None:
            matches.append(
                {
                    "eventNumber": number,
                    "eventMessage": message,
                    "extractedValues": match.extracted_values,
                }
            )
    return {"matches": matches}


test_metric_filter.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
