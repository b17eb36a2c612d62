"""Regular expressions of a query, compiled once with RE2 (linear time, like the engine
CloudWatch documents), with ``(?<name>...)`` groups as Insights writes them."""

from __future__ import annotations

import functools
import re
from typing import Any

import re2

__all__ = ["compile_regex", "glob_regex"]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Any:
    """The compiled pattern (``search`` finds it anywhere); ``ValueError`` with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        raise ValueError(str(error) or "not a valid regular expression") from None


@functools.lru_cache(maxsize=256)
def glob_regex(glob: str) -> Any:
    """``parse``'s glob as a regex: each ``*`` captures the shortest text up to what follows
    it, a trailing ``*`` the rest of the text; the glob may start anywhere in the text."""
    parts = glob.split("*")
    body = ""
    for index, part in enumerate(parts):
        body += re.escape(part)
        if index < len(parts) - 1:
            last = index == len(parts) - 2 and parts[-1] == ""
            body += "(.*)" if last else "(.*?)"
    return compile_regex("(?s)" + body)
