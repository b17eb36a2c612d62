"""JSON patterns: selectors, the value semantics table and the rejects (reference §4)."""

from __future__ import annotations

import pytest

from pipeline.patterns import PatternError, compile_pattern


def matching(pattern: str, messages: list[str]) -> list[str]:
    compiled = compile_pattern(pattern)
    return [message for message in messages if compiled.match(message) is not None]


VALUES = ["{}", '{"a":null}', '{"a":2}', '{"a":1}', '{"a":"2"}', '{"a":[1,2]}', '{"a":{"b":2}}']


def test_number_literal_equals_numbers_numerically_and_strings_by_text() -> None:
    assert matching("{ $.a = 1 }", ['{"a":1}', '{"a":1.0}', '{"a":1e0}', '{"a":"1"}']) == [
        '{"a":1}',
        '{"a":1.0}',
        '{"a":1e0}',
        '{"a":"1"}',
    ]
    assert matching("{ $.a = 1 }", ['{"a":"01"}', '{"a":"1.0"}', '{"a":true}']) == []
    assert matching("{ $.a = 1e3 }", ['{"a":"1e3"}', '{"a":1000}']) == ['{"a":"1e3"}', '{"a":1000}']


def test_integers_compare_exactly() -> None:
    assert matching("{ $.a = 9007199254740993 }", ['{"a":9007199254740992}']) == []
    assert matching("{ $.a = 9007199254740993 }", ['{"a":9007199254740993}']) != []


def test_underflow_is_zero_and_overflow_is_never_equal() -> None:
    assert matching("{ $.a = 0 }", ['{"a":1e-999}', '{"a":-0.0}']) == ['{"a":1e-999}', '{"a":-0.0}']
    assert matching("{ $.a = 1 }", ['{"a":1e309}']) == []
    assert matching("{ $.a = * }", ['{"a":1e309}']) == ['{"a":1e309}']


def test_string_literal_compares_a_number_by_its_canonical_text() -> None:
    assert matching('{ $.a = "1" }', ['{"a":1}']) == ['{"a":1}']
    assert matching('{ $.a = "1.0" }', ['{"a":1e0}', '{"a":1}']) == ['{"a":1e0}']
    assert matching('{ $.a = "1e0" }', ['{"a":1e0}', '{"a":1}']) == []


def test_booleans_match_only_their_string_spelling_with_equals() -> None:
    assert matching("{ $.a = true }", ['{"a":true}', '{"a":"true"}']) == ['{"a":"true"}']


def test_regex_value_searches_the_canonical_text_of_numbers() -> None:
    assert matching("{ $.a = %1% }", ['{"a":1e3}', '{"a":1e309}', '{"a":1e-999}']) == ['{"a":1e3}']


def test_not_equals_needs_a_comparable_value() -> None:
    assert matching("{ $.a != 2 }", VALUES) == ['{"a":1}']


def test_not_equals_numeric_is_false_for_overflow_but_string_is_true() -> None:
    assert matching("{ $.a != 1 }", ['{"a":1e309}']) == []
    assert matching('{ $.a != "x" }', ['{"a":1e309}']) == ['{"a":1e309}']


def test_not_equals_with_wildcard_needs_prefix_and_no_equal_candidate() -> None:
    messages = [*VALUES, '{"a":[]}', '{"a":[1]}', '{"a":{}}', '{"a":[[1,2]]}']
    assert matching("{ $.a[*] != 2 }", messages) == [
        '{"a":null}',
        '{"a":2}',
        '{"a":1}',
        '{"a":"2"}',
        '{"a":[]}',
        '{"a":[1]}',
        '{"a":{}}',
        '{"a":[[1,2]]}',
    ]


def test_not_equals_regex() -> None:
    assert matching("{ $.a != %x% }", ['{"a":"y"}', '{"a":"x"}', '{"a":null}']) == ['{"a":"y"}']


def test_ordering_only_for_finite_json_numbers() -> None:
    messages = ['{"a":1}', '{"a":1.0}', '{"a":1e3}', '{"a":9007199254740993}', '{"a":"1"}']
    messages += ['{"a":"1e3"}', '{"a":1e309}', '{"a":true}']
    assert matching("{ $.a > 0 }", messages) == messages[:4]
    assert (
        matching("{ $.a > 1e-999 }", ['{"a":0}', '{"a":0.0}', '{"a":-0.0}', '{"a":1e-999}']) == []
    )


def test_is_null_includes_arrays_with_a_direct_null() -> None:
    messages = [
        '{"a":null}',
        '{"a":[null,2]}',
        '{"a":[null]}',
        '{"a":[[null]]}',
        '{"a":[{"b":null}]}',
    ]
    assert matching("{ $.a IS NULL }", [*messages, "{}"]) == messages[:3]


def test_keywords_are_case_insensitive() -> None:
    assert matching("{ $.a is null }", ['{"a":null}']) == ['{"a":null}']
    assert matching("{ $.a Not Exists }", ["{}"]) == ["{}"]


def test_is_true_does_not_look_into_arrays() -> None:
    assert matching("{ $.a IS TRUE }", ['{"a":true}', '{"a":[true]}', '{"a":1}']) == ['{"a":true}']


def test_not_exists_only_for_missing_paths() -> None:
    assert matching("{ $.a NOT EXISTS }", ["{}", '{"a":null}']) == ["{}"]


def test_not_exists_with_wildcard_when_it_yields_nothing() -> None:
    messages = ["{}", '{"a":null}', '{"a":2}', '{"a":"2"}', '{"a":[]}', '{"a":{}}', '{"a":[1]}']
    assert matching("{ $.a[*] NOT EXISTS }", messages) == messages[:6]


def test_both_wildcards_iterate_arrays_and_objects() -> None:
    messages = ['{"a":[1,2]}', '{"a":{"x":1,"y":2}}', '{"a":[1]}']
    assert matching("{ $.a[*] = 2 }", messages) == messages[:2]
    assert matching("{ $.a.* = 2 }", messages) == messages[:2]


def test_no_implicit_array_traversal() -> None:
    assert matching("{ $.a.b = 2 }", ['{"a":[{"b":2}]}']) == []


def test_only_a_json_object_can_match() -> None:
    assert matching("{ $.a NOT EXISTS }", ["[1,2]", '{"a":2} trailing', "plain", "{"]) == []


def test_hyphenated_and_quoted_keys() -> None:
    assert matching("{ $.a-b = 1 }", ['{"a-b":1}']) == ['{"a-b":1}']
    assert matching("{ $.['a.b'] = 1 }", ['{"a.b":1}', '{"a":{"b":1}}']) == ['{"a.b":1}']


def test_string_wildcards_at_either_end_only() -> None:
    assert matching("{ $.a = foo* }", ['{"a":"foo"}', '{"a":"foobar"}', '{"a":"FOO"}']) == [
        '{"a":"foo"}',
        '{"a":"foobar"}',
    ]
    assert matching('{ $.a = "Ev*ent" }', ['{"a":"EvXent"}', '{"a":"Ev*ent"}']) == [
        '{"a":"Ev*ent"}'
    ]
    assert matching("{ $.a = *mid* }", ['{"a":"amidb"}', '{"a":"mi"}']) == ['{"a":"amidb"}']


def test_and_binds_tighter_than_or() -> None:
    message = '{"a":1,"b":2,"c":3}'
    assert matching("{ $.a = 1 || $.b = 9 && $.c = 9 }", [message]) == [message]
    assert matching("{ ($.a = 1 || $.b = 9) && $.c = 9 }", [message]) == []


def test_large_messages_parse_once_for_many_patterns() -> None:
    from pipeline.patterns import ParsedMessage

    view = ParsedMessage('{"a": 1, "b": "x"}')
    first = view.json_object
    assert compile_pattern("{ $.a = 1 }").match(view) is not None
    assert compile_pattern('{ $.b = "x" }').match(view) is not None
    assert view.json_object is first


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("{ $.a == 1 }", "Invalid character(s) in term '=='"),
        ("{ $.a = 1 AND $.b = 2 }", "Invalid character(s) in term 'AND'"),
        ("{ $.a = 1 } x", "If a filter pattern starts with '{' it must end with '}'"),
        ("{ $ = 2 }", "Invalid JSON selector '$'"),
        ("{ $[1] = 2 }", "Invalid JSON selector '$[1]'"),
        ("{ $['a.b'] = 2 }", "Invalid JSON selector '$['a.b']'"),
        ('{ $.["a.b"] = 2 }', "Invalid JSON selector '$.['"),
        ("{ $.a[-1] = 2 }", "Invalid JSON selector '$.a[-1]'"),
        (
            "{ $.a[*].* = 2 }",
            "Your filter pattern has a JSON path selector that exceeds the maximum of 1 "
            "wildcard allowed per json selector.",
        ),
        ('{ $.a > "0" }', "Invalid character(s) in term '\"0\"'"),
        ("{ $.a > foo }", "Invalid character(s) in term 'foo'"),
        ("{ $.a = null }", "Invalid character(s) in term 'null'"),
        ("{ $.a IS NOT NULL }", "Invalid character(s) in term 'NOT'"),
        ("{ $.a = a:b }", "Invalid character(s) in term ':'"),
        ("{ $.a = 1e2147483648 }", "Invalid character(s) in term '1e2147483648'"),
        ("{ $.a = }", "Invalid metric filter pattern"),
        ("{ }", "Invalid metric filter pattern"),
        ("{ ($.a = 1 }", "Invalid metric filter pattern"),
        (
            "{ $.a = %x% && $.b = %y% && $.c = %z% }",
            ("Your input has exceeded the maximum of 2 regular expressions per filter pattern."),
        ),
    ],
)
def test_rejects_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.reason.startswith(reason)


def test_error_position_points_at_the_offending_token() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("{ $.a = 1 AND $.b = 2 }")
    assert caught.value.position == 10


def test_at_most_three_wildcard_selectors() -> None:
    compile_pattern("{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 }")
    with pytest.raises(PatternError):
        compile_pattern("{ $.a[*] = 1 || $.b[*] = 1 || $.c.* = 1 || $.d[*] = 1 }")


def test_json_patterns_extract_nothing() -> None:
    match = compile_pattern("{ $.a = 1 }").match('{"a":1}')
    assert match is not None and match.extracted_values == {}


def test_selectors_compile_on_their_own_for_metric_values() -> None:
    from pipeline.patterns import MISSING, compile_selector

    selector = compile_selector("$.a[1].b")
    assert selector.resolve({"a": [{}, {"b": 3}]}) == 3
    assert selector.resolve({"a": []}) is MISSING
    with pytest.raises(PatternError):
        compile_selector("$.a[*].*")
