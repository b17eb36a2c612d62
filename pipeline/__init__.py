"""The pure core of cwl-pipeline: bytes and config in, values out; no I/O, no asyncio."""

from __future__ import annotations

__all__ = ["compiled"]


def compiled() -> bool:
    """Whether the per-event modules run compiled by mypyc (see ``setup.py``), so a report
    or a benchmark can say which build it measured."""
    from pipeline import process

    return not (process.__file__ or "").endswith(".py")
