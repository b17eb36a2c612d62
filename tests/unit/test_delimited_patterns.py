"""Space-delimited patterns: field splitting, binding, conditions, extraction (reference §5)."""

from __future__ import annotations

import pytest

from pipeline.patterns import PatternError, compile_pattern
from pipeline.patterns.message import split_fields


def extracted(pattern: str, message: str) -> dict[str, str] | None:
    match = compile_pattern(pattern).match(message)
    return None if match is None else match.extracted_values


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        ("a\tb\tc", ["a", "b", "c"]),
        ('a "b"c d', ["a", "b", "c", "d"]),
        ('x "y z', ["x", '"y', "z"]),
        ("a [unclosed", ["a", "[unclosed"]),
        ('a "" [] b', ["a", "", "", "b"]),
        ("  lead  and trail  ", ["lead", "and", "trail"]),
        (
            '[10/Oct/2000:13:25:15 -0700] "GET / HTTP/1.0"',
            ["10/Oct/2000:13:25:15 -0700", "GET / HTTP/1.0"],
        ),
        ('ab"cd ef"', ['ab"cd', 'ef"']),
    ],
)
def test_message_splits_into_fields(message: str, fields: list[str]) -> None:
    assert split_fields(message)[0] == fields


def test_last_entry_takes_the_raw_remainder() -> None:
    assert extracted("[a, rest]", "a  b   c ") == {"$a": "a", "$rest": "b   c "}
    assert extracted("[a, rest]", 'a "two words" c') == {"$a": "a", "$rest": '"two words" c'}
    assert extracted("[a, rest]", 'a "two words"') == {"$a": "a", "$rest": "two words"}


def test_single_entry_binds_the_whole_line() -> None:
    assert extracted("[a]", "ERROR one two") == {"$a": "ERROR one two"}
    assert extracted("[w1=ERROR]", "ERROR one") is None
    assert extracted("[w1=ERROR]", "ERROR") == {"$w1": "ERROR"}


def test_too_few_fields_do_not_match() -> None:
    assert extracted("[a, b, c]", "ERROR one") is None


def test_ellipsis_binds_first_and_last_fields_without_remainder() -> None:
    assert extracted("[..., last]", "ERROR") == {"$last": "ERROR"}
    assert extracted("[first, ..., last]", "ERROR") is None
    assert extracted("[first, ..., last]", "a b c d") == {
        "$first": "a",
        "$2": "b",
        "$3": "c",
        "$last": "d",
    }


def test_empty_pattern_extracts_every_field_positionally() -> None:
    assert extracted("[]", 'a "b c" d') == {"$1": "a", "$2": "b c", "$3": "d"}
    assert extracted("[]", "") == {}


def test_unnamed_entries_are_extracted_by_position() -> None:
    assert extracted("[, b,]", "x y z") == {"$1": "x", "$b": "y", "$3": "z"}


def test_numeric_literal_compares_numerically() -> None:
    assert extracted("[a=1, rest]", "1.0 2") is not None
    assert extracted("[a=1, rest]", "x 2") is None
    assert extracted("[a!=1, rest]", "x 2") is not None  # "!=" is the negation of "="


def test_quoted_literal_compares_as_text() -> None:
    assert extracted('[a="1", rest]', "1 2") is not None
    assert extracted('[a="1", rest]', "1.0 2") is None


def test_bare_words_with_wildcards() -> None:
    assert extracted("[a, code=4*]", "x 404") is not None
    assert extracted("[a, code=4*]", "x 500") is None
    assert extracted("[a, url=*.html*]", "x /index.html?q=1") is not None


def test_regex_condition_searches_the_field() -> None:
    assert extracted("[a=%ERR%, rest]", "ERROR one") is not None
    assert extracted("[a=%^ERR$%, rest]", "ERROR one") is None


def test_chained_conditions_with_and_binding_tighter() -> None:
    pattern = "[a, code >= 400 && code < 500 || code = 200, rest]"
    assert extracted(pattern, "x 404 y") is not None
    assert extracted(pattern, "x 200 y") is not None
    assert extracted(pattern, "x 500 y") is None


def test_extracted_fields_use_bare_names_for_payloads() -> None:
    match = compile_pattern("[ip, user]").match("1.2.3.4 bob")
    assert match is not None
    assert match.extracted_fields == {"ip": "1.2.3.4", "user": "bob"}


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[a, a]", "Duplicate field 'a'"),
        ("[a, ..., b, ...]", "Duplicate field '...'"),
        ("[a=ERROR || b=one, b]", "Multiple variables used in a single filter. Var1 : a, Var2 : b"),
        ("[1a]", "Invalid field name '1a'"),
        ("[a == 1]", "Invalid character(s) in term '=='"),
        ('[a>"1", b]', "Invalid character(s) in term '\"1\"'"),
        ("[a = ]", "Invalid metric filter pattern"),
        ("[a = 1 ||]", "Invalid metric filter pattern"),
        ("[a, b", "If a filter pattern starts with '[' it must end with ']'"),
        ("[a, b] trailing", "If a filter pattern starts with '[' it must end with ']'"),
        ("[a b]", "Invalid character(s) in term 'b'"),
    ],
)
def test_rejects_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.reason == reason


def test_duplicate_position_points_at_the_second_field() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("[a, b, a]")
    assert caught.value.position == 7


def test_many_unclosed_openers_split_as_ordinary_fields() -> None:
    # Each opener lacks a closer: every one is an ordinary character (the split stays linear).
    values, starts = split_fields("[a " * 2_000 + '"b c')
    assert values == [*(["[a"] * 2_000), '"b', "c"]
    assert starts[:3] == [0, 3, 6]


def test_quotes_pair_up_left_to_right() -> None:
    assert split_fields('"b "b "b')[0] == ["b ", "b", '"b']
