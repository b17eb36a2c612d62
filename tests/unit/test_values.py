"""Numbers as CloudWatch reads and prints them."""

from __future__ import annotations

import pytest

from pipeline.patterns.values import canonical_number_text, has_huge_exponent, parse_number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (1.0, "1.0"),
        (1000.0, "1000.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (1.5e-4, "1.5E-4"),
        (-2.5e-10, "-2.5E-10"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_canonical_text_follows_java_double_to_string(value: float, text: str) -> None:
    assert canonical_number_text(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("+1", 1),
        ("-1.5", -1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1e+3", 1000.0),
        ("10e-3", 0.01),
        ("1e-999", 0.0),
    ],
)
def test_numbers_parse(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "e3", "1e", "abc", "1_0", "inf", "nan", " 1", "١٢", "--1"])
def test_non_numbers_do_not_parse(text: str) -> None:
    assert parse_number(text) is None


def test_integers_stay_exact() -> None:
    assert parse_number("9007199254740993") == 9007199254740993


def test_exponent_beyond_32_bits_is_huge() -> None:
    assert has_huge_exponent("1e2147483648")
    assert not has_huge_exponent("1e2147483647")
    assert parse_number("1e2147483648") is None
