"""Pages of a sorted listing, resumed strictly after the last key a page returned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from consumers.api.tokens import decode_token, encode_token, invalid_token

__all__ = ["page_after"]

T = TypeVar("T")


def page_after(
    items: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    *,
    descending: bool,
    limit: int,
    token: str | None,
    kind: str,
    bound_to: str,
) -> tuple[list[T], str | None]:
    """``limit`` items after the token's key in ``key`` order, and the next token (None at the
    end). Keys are compared, not positions counted, so items added or gone in between never
    shift a page."""
    ordered = sorted(items, key=key, reverse=descending)
    start = 0
    if token is not None:
        raw = decode_token(token, kind, bound_to)
        if not isinstance(raw, list):
            raise invalid_token()
        position = tuple(raw)
        try:
            start = next(
                (
                    index
                    for index, item in enumerate(ordered)
                    if (key(item) < position if descending else key(item) > position)
                ),
                len(ordered),
            )
        except TypeError:  # a key of another shape than this listing's
            raise invalid_token() from None
    page = ordered[start : start + limit]
    more = start + limit < len(ordered)
    next_token = encode_token(kind, bound_to, list(key(page[-1]))) if more and page else None
    return page, next_token
