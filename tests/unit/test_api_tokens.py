"""Pagination tokens and pages: exact positions, bound to their request, refused when foreign."""

from __future__ import annotations

import pytest

from consumers.api.errors import ApiError
from consumers.api.paging import page_after
from consumers.api.tokens import decode_token, encode_token, fingerprint


def test_a_token_gives_back_its_position() -> None:
    token = encode_token("filter", "abc", [True, [1700000000000, "0042"]])
    assert decode_token(token, "filter", "abc") == [True, [1700000000000, "0042"]]


def test_a_prefixed_token_keeps_the_prefix_clients_see() -> None:
    token = encode_token("get", "abc", None, prefix="f/")
    assert token.startswith("f/")
    assert decode_token(token, "get", "abc", prefix="f/") is None


@pytest.mark.parametrize(
    ("kind", "bound"), [("groups", "abc"), ("filter", "another request")], ids=["kind", "request"]
)
def test_a_token_of_another_listing_is_refused(kind: str, bound: str) -> None:
    token = encode_token("filter", "abc", [1])
    with pytest.raises(ApiError) as raised:
        decode_token(token, kind, bound)
    assert raised.value.type == "InvalidParameterException"
    assert raised.value.message == "The specified nextToken is invalid."


@pytest.mark.parametrize("token", ["", "%%%", "bm90IGpzb24", "WzFd", "f/WzFd"])
def test_garbage_is_an_invalid_token_not_a_crash(token: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_token(token, "filter", "abc")
    assert raised.value.status == 400


def test_fingerprints_differ_with_any_member() -> None:
    assert fingerprint("/g", None, "ERROR") != fingerprint("/g", None, "WARN")
    assert fingerprint("/g", None) == fingerprint("/g", None)


@pytest.mark.parametrize("descending", [False, True])
def test_pages_walk_every_item_once(descending: bool) -> None:
    items = [f"group-{n:02d}" for n in range(23)]
    seen: list[str] = []
    token = None
    while True:
        page, token = page_after(
            items,
            lambda name: (name,),
            descending=descending,
            limit=5,
            token=token,
            kind="groups",
            bound_to="b",
        )
        seen += page
        if token is None:
            break
    assert seen == sorted(items, reverse=descending)


def test_an_item_added_before_the_cursor_does_not_shift_the_next_page() -> None:
    items = ["b", "d", "f", "h"]
    first, token = page_after(
        items, lambda n: (n,), descending=False, limit=2, token=None, kind="k", bound_to="b"
    )
    assert first == ["b", "d"]
    rest, _ = page_after(
        ["a", "c", *items],
        lambda n: (n,),
        descending=False,
        limit=10,
        token=token,
        kind="k",
        bound_to="b",
    )
    assert rest == ["f", "h"]
