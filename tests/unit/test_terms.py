"""Unstructured term patterns: the rules in reference/filter-patterns.md §2."""

from __future__ import annotations

import pytest

from pipeline.patterns import PatternError, compile_pattern


def matches(pattern: str, message: str) -> bool:
    return compile_pattern(pattern).match(message) is not None


def test_term_is_a_case_sensitive_substring() -> None:
    assert matches("ERROR", "xERRORS")
    assert not matches("error", "ERROR")


def test_blank_pattern_matches_everything() -> None:
    assert matches("", "anything")
    assert matches(" \t ", "x")


def test_quoted_space_matches_only_messages_with_a_space() -> None:
    assert matches('" "', "two words")
    assert not matches('" "', "x")


def test_phrase_keeps_its_inner_spacing() -> None:
    assert matches('"two words"', "say two words")
    assert not matches('"two words"', "two  words")


def test_asterisk_inside_quotes_is_literal() -> None:
    assert not matches('"ERR*"', "ERROR")
    assert matches('"ERR*"', "an ERR* here")


def test_optional_terms_are_ignored_beside_plain_terms() -> None:
    assert matches("?ERROR timeout", "timeout only")
    assert not matches("?ERROR timeout", "ERROR only")


def test_optional_terms_are_ignored_beside_excluded_terms() -> None:
    assert matches("?ERROR -timeout", "nothing relevant")
    assert not matches("?ERROR -timeout", "ERROR timeout")


def test_only_optional_terms_match_any_of_them() -> None:
    assert matches("?ERROR ?WARN", "a WARN")
    assert not matches("?ERROR ?WARN", "INFO")


def test_only_excluded_terms_match_what_lacks_them() -> None:
    assert matches("-DEBUG -TRACE", "INFO started")
    assert not matches("-DEBUG -TRACE", "TRACE x")


def test_minus_inside_a_bare_word_excludes() -> None:
    pattern = compile_pattern("a-b")
    assert pattern.match("a") is not None
    for message in ("b", "a-b", "ab", "a b"):
        assert pattern.match(message) is None, message


def test_question_mark_inside_a_bare_word_is_optional() -> None:
    # "a?b" is "a ?b": the ? term is ignored beside the plain one.
    assert matches("a?b", "a?b")
    assert matches("a?b", "a b")
    assert matches("a?b", "a")


def test_quoted_hyphenated_term_is_literal() -> None:
    assert matches('"a-b"', "x a-b y")
    assert not matches('"a-b"', "a b")


def test_excluded_and_optional_phrases() -> None:
    assert not matches('ERROR -"two words"', "ERROR two words")
    assert matches('?"two words" ?other', "two words")


def test_escaped_quote_inside_phrase() -> None:
    assert matches(r'"say \"hi\""', 'they say "hi" loudly')


def test_non_ascii_letters_are_bare_word_characters() -> None:
    assert matches("café", "un café noir")
    assert matches("a_b a.b", "a_b and a.b")


def test_equals_sign_is_a_literal_bare_word_character() -> None:
    # AWS accepts FilterLogEvents(filterPattern="Token=") and returns events; the
    # "=" is read as part of the term, not as a separator (see pipeline/patterns/terms.py).
    assert matches("Token=", "refresh Token=abc expired")
    assert not matches("Token=", "refresh Token abc expired")


def test_equals_sign_inside_excluded_and_optional_words() -> None:
    assert matches("user -status=failed", "user x status=ok")
    assert not matches("user -status=failed", "user x status=failed")
    assert matches("?a=1 ?b=2", "b=2")


def test_punctuation_never_seen_accepted_by_aws_is_still_refused() -> None:
    for pattern in ("a#b", "a,b", "a;b", "a+b", "a$b", "a<b", "a>b", "a'b"):
        with pytest.raises(PatternError) as caught:
            compile_pattern(pattern)
        assert caught.value.reason == f"Invalid character(s) in term '{pattern[1]}'"


@pytest.mark.parametrize(
    ("pattern", "reason", "position"),
    [
        ("ERR*", "Invalid character(s) in term '*'", 3),
        ("ERROR!", "Invalid character(s) in term '!'", 5),
        ("ERROR:", "Invalid character(s) in term ':'", 5),
        ("a/b", "Invalid character(s) in term '/'", 1),
        ("a@b", "Invalid character(s) in term '@'", 1),
        ("ERROR %WARN%", "Invalid character(s) in term '%'", 6),
        ("?%WARN%", "Invalid character(s) in term '%'", 1),
        ('""', "Invalid metric filter pattern", 0),
        ('"ERROR', "Invalid metric filter pattern", 0),
        ('"ERROR"WARN', "Invalid metric filter pattern", 7),
        ("ERROR -", "Invalid metric filter pattern", 6),
        ("a--b", "Invalid metric filter pattern", 2),
    ],
)
def test_invalid_terms_are_reported_with_reason_and_position(
    pattern: str, reason: str, position: int
) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.reason == reason
    assert caught.value.position == position


def test_terms_extract_nothing() -> None:
    match = compile_pattern("ERROR").match("ERROR here")
    assert match is not None
    assert match.extracted_values == {}
