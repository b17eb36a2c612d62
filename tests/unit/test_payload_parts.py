"""``parts``: a file's gzip members one at a time, so a big Firehose object is never decoded
whole."""

from __future__ import annotations

import gzip
import random

import orjson
import pytest

from pipeline.payload import PayloadError, decode, parts
from tests.payloads import data_message


def deliveries(n: int) -> list[bytes]:
    return [
        data_message([f"delivery {d} line {i}" for i in range(3)], start_ms=1_795_000_000_000 + d)
        for d in range(n)
    ]


def test_each_member_comes_inflated_with_its_offset_and_decodes_as_the_whole_file_does() -> None:
    members = deliveries(3)
    found = list(parts(b"".join(members)))
    starts = [0, len(members[0]), len(members[0]) + len(members[1])]
    assert [offset for offset, _ in found] == starts
    assert [text for _, text in found] == [gzip.decompress(m) for m in members]
    assert [b for _, text in found for b in decode(text)] == decode(b"".join(members))


def test_anything_but_gzip_is_one_part_as_it_is() -> None:
    text = b'{"messageType": "CONTROL_MESSAGE", "logEvents": []}'
    assert list(parts(text)) == [(0, text)]


def test_zero_padding_after_the_last_member_ends_the_file() -> None:
    members = deliveries(2)
    assert len(list(parts(b"".join(members) + b"\x00" * 512))) == 2


def test_trailing_garbage_is_refused_after_the_members_before_it() -> None:
    members = deliveries(2)
    found = parts(b"".join(members) + b"not gzip")
    assert len([next(found), next(found)]) == 2
    with pytest.raises(PayloadError, match="8 bytes of trailing garbage after gzip data"):
        next(found)


def test_a_truncated_member_is_refused_where_it_starts() -> None:
    members = deliveries(2)
    found = parts(members[0] + members[1][:30])
    assert next(found)[0] == 0
    with pytest.raises(PayloadError, match=f"gzip member at byte {len(members[0])}: truncated"):
        next(found)


def test_a_first_member_refused_says_what_decoding_the_file_says() -> None:
    broken = deliveries(1)[0][:30]
    with pytest.raises(PayloadError) as whole:
        decode(broken)
    with pytest.raises(PayloadError) as first:
        list(parts(broken))
    assert str(first.value) == str(whole.value)


def test_a_corrupt_member_is_refused() -> None:
    member = bytearray(deliveries(1)[0])
    member[12:20] = b"\xff" * 8
    with pytest.raises(PayloadError, match="corrupt gzip data"):
        list(parts(bytes(member)))


def test_each_member_has_the_inflation_budget_of_its_own() -> None:
    members = deliveries(4)
    limit = max(len(gzip.decompress(m)) for m in members)
    with pytest.raises(PayloadError, match="exceeds the limit"):
        decode(b"".join(members), max_inflated_bytes=limit)
    assert len(list(parts(b"".join(members), max_inflated_bytes=limit))) == 4
    with pytest.raises(PayloadError, match="exceeds the limit"):
        list(parts(b"".join(members), max_inflated_bytes=limit - 1))


def test_a_member_larger_than_the_input_window_is_inflated_whole() -> None:
    noise = random.Random(9).randbytes(700_000).hex()  # incompressible: a large member
    document = orjson.loads(gzip.decompress(deliveries(1)[0]))
    document["logEvents"][0]["message"] = noise
    big = gzip.compress(orjson.dumps(document), compresslevel=1)
    assert len(big) > 3 * 256 * 1024 and len(gzip.decompress(big)) > 1024 * 1024
    small = deliveries(1)[0]
    found = list(parts(big + small))
    assert [offset for offset, _ in found] == [0, len(big)]
    assert found[0][1] == gzip.decompress(big)


def test_empty_members_add_nothing_and_a_file_of_only_them_is_refused() -> None:
    members = deliveries(2)
    empty = gzip.compress(b"")
    assert len(list(parts(members[0] + empty + members[1]))) == 2
    with pytest.raises(PayloadError, match="empty JSON document"):
        list(parts(empty + empty))
