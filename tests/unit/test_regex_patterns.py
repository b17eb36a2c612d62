"""Regular expressions ``%...%``: reference/filter-patterns.md §3."""

from __future__ import annotations

import pytest

from pipeline.patterns import PatternError, compile_pattern


def matches(pattern: str, message: str) -> bool:
    return compile_pattern(pattern).match(message) is not None


def test_regex_searches_anywhere_unanchored() -> None:
    assert matches("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST")


def test_anchors_bind_to_the_whole_message() -> None:
    assert matches("%^start%", "starting")
    assert not matches("%^start%", "line\nstarting")


def test_dot_does_not_match_newline_but_backslash_s_does() -> None:
    assert not matches("%a.b%", "a\nb")
    assert matches(r"%a\sb%", "a\nb")


def test_lazy_quantifier_and_escaped_symbol_are_accepted() -> None:
    assert matches("%a+?%", "caa")
    assert matches(r"%a\-b%", "xa-b")


def test_hex_escape_stands_for_parentheses() -> None:
    assert matches(r"%\x28x\x29%", "f(x)")


def test_backslash_w_is_ascii_only() -> None:
    assert not matches(r"%^\w$%", "é")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("%(ab)+%", "Invalid character(s) in term '('"),
        (r"%\(ab\)%", "Invalid character(s) in term '('"),
        ("%café%", "Invalid character(s) in term 'é'"),
        ("%!%", "Invalid character(s) in term '!'"),
        ("%[a&&b]%", "Invalid character(s) in term '&'"),
        ("%%", "Invalid character(s) in term '%%'"),
        (r"%\p%", "Failed to compile regular expression."),
        ("%[z-a]%", "Failed to compile regular expression."),
        ("%a++%", "Failed to compile regular expression."),
        ("%ERROR% %WARN%", "Invalid character(s) in term ' '"),
        ("%abc", "If a filter pattern starts with '%' it must end with '%'"),
        ("%", "If a filter pattern starts with '%' it must end with '%'"),
    ],
)
def test_rejected_regexes_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.reason == reason


def test_invalid_character_position_points_at_it() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("%ab(c%")
    assert caught.value.position == 3
    assert caught.value.caret().splitlines()[1] == "   ^"


def test_at_most_two_regexes_per_pattern() -> None:
    compile_pattern("[a=%x%, b=%y%]")
    with pytest.raises(PatternError) as caught:
        compile_pattern("[a=%x%, b=%y%, c=%z%]")
    assert caught.value.reason == (
        "Your input has exceeded the maximum of 2 regular expressions per filter pattern."
    )
    assert caught.value.position == 17  # the third regex's opening %


def test_regex_is_linear_time_on_hostile_input() -> None:
    # Nested-quantifier blow-ups cannot happen: RE2 has no backtracking, so a pattern
    # that is exponential for a backtracking engine still answers; no timing is asserted.
    assert not matches("%^[ab]*[ab]*[ab]*[ab]*c$%", "ab" * 50_000)
