"""Pagination tokens: opaque to clients, exact for us.

A token holds the sort key of the last item a page returned (never an
offset), so the next page starts strictly after it whatever was written in
between: no item is skipped or repeated. It also holds a fingerprint of the
request it belongs to, so a token passed with other parameters (another
group, another filter pattern) is refused instead of silently paging
something else. ``GetLogEvents``' tokens keep AWS's visible ``f/`` and ``b/``
prefixes for the direction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson

from consumers.api.errors import ApiError, invalid_parameter

__all__ = ["decode_token", "encode_token", "fingerprint", "invalid_token"]

_VERSION = 1


def fingerprint(*parts: Any) -> str:
    """A short digest of the request members that decide which items a listing holds."""
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


def encode_token(kind: str, bound_to: str, position: Any, prefix: str = "") -> str:
    raw = orjson.dumps([_VERSION, kind, bound_to, position])
    return prefix + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def invalid_token() -> ApiError:
    return invalid_parameter("The specified nextToken is invalid.")


def decode_token(token: str, kind: str, bound_to: str, prefix: str = "") -> Any:
    """The position ``encode_token`` stored; InvalidParameterException for anything else."""
    if not token.startswith(prefix):
        raise invalid_token()
    text = token[len(prefix) :]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, found_kind, found_bound, position = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise invalid_token() from None
    if version != _VERSION or found_kind != kind or found_bound != bound_to:
        raise invalid_token()
    return position
