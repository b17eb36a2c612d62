"""The prefilter never loses a match: what patterns need, checked against what they match.

A pattern's needs (pipeline.patterns.needs) may only rule out messages the
pattern cannot match. The properties here generate messages built from the
very texts patterns look for, spelled the ways JSON and CloudWatch allow
(escapes, number spellings, quotes and brackets), and require every match to
survive both the per-pattern check and the many-pattern index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import PatternError
from pipeline.patterns import ParsedMessage, compile_pattern
from pipeline.patterns.message import split_fields
from pipeline.patterns.needs import Atom
from pipeline.patterns.prefilter import PatternIndex, may_match
from pipeline.patterns.regex import required_texts
from tests.conftest import SHARED

# -- what each kind needs -----------------------------------------------------------------


def texts(pattern: str) -> list[set[str]]:
    """The needs of ``pattern`` as sets of texts, kinds left out."""
    return [{atom.text for atom in clause} for clause in compile_pattern(pattern).needs]


def test_terms_need_every_plain_term_and_one_of_the_optional_ones() -> None:
    assert texts('ERROR "two words"') == [{"ERROR"}, {"two words"}]
    assert texts("?ERROR ?WARN") == [{"ERROR", "WARN"}]
    assert texts("?ERROR timeout") == [{"timeout"}]  # AWS ignores '?' terms beside others
    assert texts("-DEBUG") == []
    assert texts("ERROR -DEBUG") == [{"ERROR"}]
    assert texts("") == []


def test_json_needs_its_keys_quoted_and_string_values_with_the_quotes_wildcards_leave() -> None:
    assert texts('{ $.level = "ERROR" }') == [{'"level"'}, {'"ERROR"'}, {"{"}]
    assert texts("{ $.a.b = x* }") == [{'"a"'}, {'"b"'}, {'"x'}, {"{"}]
    assert texts("{ $.a = *x }") == [{'"a"'}, {'x"'}, {"{"}]
    assert texts("{ $.a = *x* }") == [{'"a"'}, {"x"}, {"{"}]
    assert texts('{ $.a = "x" || $.b = "y" }') == [{'"x"', '"y"'}, {"{"}]


def test_json_values_with_other_spellings_need_only_their_keys() -> None:
    assert texts("{ $.a = 1 }") == [{'"a"'}, {"{"}]  # 1.0, 1e0 equal it
    assert texts('{ $.a = "1000.0" }') == [{'"a"'}, {"{"}]  # the text of the number 1e3
    assert texts("{ $.a = Inf* }") == [{'"a"'}, {"{"}]  # 1e400 reads as Infinity
    assert texts('{ $.a = "x\\"y" }') == [{'"a"'}, {"{"}]  # JSON writes the quote escaped
    assert texts("{ $.a = %ERR.R% }") == [{'"a"'}, {"ERR"}, {"R"}, {"{"}]  # only a string


def test_json_conditions_that_hold_for_absent_values_need_no_key() -> None:
    assert texts("{ $.a NOT EXISTS }") == [{"{"}]
    assert texts("{ $.a[*] != 2 }") == [{'"a"'}, {"{"}]  # the path before the wildcard
    assert texts("{ $.a[*].b != 2 }") == [{'"a"'}, {"{"}]
    assert texts('{ $.a != "x" }') == [{'"a"'}, {"{"}]


def test_delimited_string_values_are_needed_at_a_field_edge() -> None:
    (starts,) = compile_pattern("[a, status = 4*, b]").needs
    assert starts == {Atom(c + "4") for c in ' \t"[]'} | {Atom("4", "text-start")}
    (ends,) = compile_pattern("[a = *.html, b]").needs
    assert ends == {Atom(".html" + c) for c in ' \t"]'} | {Atom(".html", "text-end")}
    assert texts("[a = *x*, b]") == [{"x"}]
    assert texts("[a, status = 404, b]") == []  # 404.0 and +404 equal it
    assert texts("[a != x, b]") == []
    assert texts("[a = %ERR+OR%, b]") == [{"ERR"}, {"OR"}]


@pytest.mark.parametrize(
    ("body", "runs"),
    [
        ("Task timed out after [0-9.]+ seconds", [["Task timed out after ", " seconds"]]),
        ("ab+c", [["ab", "c"]]),
        ("colou?r", [["colo", "r"]]),
        ("a{0,3}bc{2}d", [["bc", "d"]]),
        (r"10\.10\.0\.1", [["10.10.0.1"]]),
        ("^starting|^shutting down", [["starting"], ["shutting down"]]),
        (r"\x3Aab", [["ab"]]),
        (r"a\?b", [["a", "b"]]),  # a lone surrogate is searched as '?'
        ("x{,3}y", [["x", ",3}y"]]),  # RE2 reads that brace as itself
        ("ab*?c", [["a", "c"]]),
        (r"111\.1[0-9]{1,2}x", [["111.1", "x"]]),  # the class's quantifier is read as one
        ("[ab]?c[d]*e", [["c", "e"]]),
        (r"a\Qb", None),
        ("[[:alpha:]]x", None),
    ],
)
def test_required_texts_of_a_regex(body: str, runs: list[list[str]] | None) -> None:
    assert required_texts(body) == runs


# -- the property: no match is ever lost ---------------------------------------------------

PATTERNS = [
    # terms
    "ERROR",
    '"two words"',
    "ERROR -WARN",
    "?ERROR ?WARN",
    "-x",
    "a-b",
    '?a ?"b c"',
    "café",
    "Token=",
    # JSON
    '{ $.level = "ERROR" }',
    "{ $.a = 1 }",
    '{ $.a = "1" }',
    '{ $.a = "1000.0" }',
    "{ $.a = *E* }",
    "{ $.a = Inf* }",
    "{ $.a = -Inf* }",
    "{ $.a = %ERR% }",
    "{ $.a = %1.0% }",
    "{ $.a = %^x|y$% }",
    '{ $.a != "x" }',
    "{ $.a[*] != 2 }",
    '{ $.a[*] = "x" }',
    "{ $.a.* = x* }",
    "{ $.a NOT EXISTS }",
    "{ $.a IS NULL }",
    "{ $.a IS TRUE }",
    "{ $.a.b > 1 }",
    '{ ($.a = "x" || $.b = "y") && $.c NOT EXISTS }',
    "{ $.['k.d'] = \"v\" }",
    '{ $.a = "a/b" }',
    '{ $.é = "ü" }',
    "{ $.a = *x }",
    "{ $.a = x* }",
    '{ $.a = "*" }',
    '{ $.a = "" }',
    '{ $.a = "ERROR" && $.b = 1 }',
    # space-delimited
    "[a, b = x*]",
    "[a = *x, b]",
    "[a = x, ...]",
    "[..., b = 4*, c]",
    "[a, b]",
    "[a = %x+y%, b]",
    '[a = "x y", b]',
    "[a, b = 404 || b = x*]",
    "[a != x, b]",
    "[]",
    "[a = x && a = x*, b]",
    "[w1 = %^ab%, w2]",
    "[a, b = *]",
    "[a, rest = x*]",
    "[a, rest = *y]",
    # regular expressions
    "%ab+c%",
    "%colou?r%",
    "%^start|end$%",
    "%a{0,2}b%",
    r"%\x41B%",
    "%[xy]z%",
    r"%a\?b%",
    r"%10\.0%",
    "%x y%",
]
COMPILED = [compile_pattern(text) for text in PATTERNS]
CHECKS = [may_match(pattern.needs) for pattern in COMPILED]
INDEX = PatternIndex((pattern.needs, index, None) for index, pattern in enumerate(COMPILED))

FRAGMENTS = [
    *list(' \t"[]{}:,xyzabc/é\n'),
    *["ERROR", "WARN", "two words", "Token=", "café", "a-b", "b c", "k.d", "v", "ü"],
    *["404", "4", "1", "1.0", "1e0", "1e3", "1000.0", "Infinity", "-Infinity", "E", "x y"],
    *["start", "end", "colour", "color", "AB", "abbc", "10.0", "a?b", "\ud800", ".html"],
    *['"a":', '"b":', '"c":', '"level":', '"ERROR"', "\\u0045", "\\/", "\\", "null", "true"],
]
plain_messages = st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)

KEYS = st.sampled_from(["a", "b", "c", "level", "k.d", "é", "x/y"])
STRINGS = st.sampled_from(["x", "y", "ERROR", "WARN", "1", "1000.0", "a/b", "ü", "v", "", "xx"])
NUMBER_SPELLINGS: dict[str, Callable[[int], str]] = {
    "plain": str,
    "fraction": lambda n: f"{n}.0",
    "exponent": lambda n: f"{n}e0",
    "scaled": lambda n: f"{n}0E-1",
}


@st.composite
def json_messages(draw: st.DrawFn) -> str:
    """A JSON object written the ways producers write them: escapes, spellings, spacing."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        STRINGS,
        st.integers(-2, 2000),
        st.sampled_from([1.0, 1000.0, 0.5, 1e400, -1e400]),
    )
    document = draw(
        st.dictionaries(
            KEYS,
            st.recursive(
                leaves,
                lambda inner: (
                    st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3)
                ),
                max_leaves=6,
            ),
            max_size=4,
        )
    )
    return _write(draw, document)


def _write(draw: st.DrawFn, value: Any) -> str:
    space = draw(st.sampled_from(["", " "]))
    if isinstance(value, dict):
        items = [f"{_string(draw, k)}:{space}{_write(draw, v)}" for k, v in value.items()]
        return "{" + f",{space}".join(items) + "}"
    if isinstance(value, list):
        return "[" + f",{space}".join(_write(draw, item) for item in value) + "]"
    if isinstance(value, str):
        return _string(draw, value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return {1e400: "1e400", -1e400: "-1e400"}.get(value, repr(value))
    return NUMBER_SPELLINGS[draw(st.sampled_from(sorted(NUMBER_SPELLINGS)))](value)


def _string(draw: st.DrawFn, text: str) -> str:
    out = []
    for char in text:
        escape = draw(st.sampled_from(["none", "none", "unicode", "solidus"]))
        if escape == "unicode" or char in '"\\' or ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        elif escape == "solidus" and char == "/":
            out.append("\\/")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


messages = st.one_of(plain_messages, json_messages())


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_no_pattern_loses_a_match_to_its_needs(message: str) -> None:
    candidates = set(INDEX.candidates(message))
    view = ParsedMessage(message)
    for index, (pattern, check) in enumerate(zip(COMPILED, CHECKS, strict=True)):
        if pattern.match(view) is not None:
            assert check is None or check(message), PATTERNS[index]
            assert index in candidates, PATTERNS[index]


# Patterns built from a small grammar, so most of them compile.
_VALUES = st.sampled_from(["x", "x*", "*x", "*x*", '"x y"', "1", "4*", "%x+%", "%^a|b$%", "*"])
_KEY_PATHS = st.sampled_from(["$.a", "$.b", "$.a.b", "$.a[0]", "$.a[*]", "$.*", "$.['k.d']"])
_json_conditions = st.one_of(
    st.builds(
        lambda path, op, value: f"{path} {op} {value}",
        _KEY_PATHS,
        st.sampled_from(["=", "!="]),
        _VALUES,
    ),
    st.builds(lambda path, n: f"{path} > {n}", _KEY_PATHS, st.sampled_from(["0", "1.5", "-1"])),
    st.builds(
        lambda path, tail: f"{path} {tail}",
        _KEY_PATHS,
        st.sampled_from(["IS NULL", "IS TRUE", "NOT EXISTS"]),
    ),
)
_json_patterns = st.lists(
    st.tuples(_json_conditions, st.sampled_from(["&&", "||"])), min_size=1, max_size=3
).map(lambda parts: "{ " + " ".join(f"{c} {j}" for c, j in parts)[:-3] + " }")
_delimited_patterns = st.lists(
    st.one_of(
        st.sampled_from(["", "...", "f"]),
        st.builds(
            lambda op, value, more: f"f {op} {value}{more}",
            st.sampled_from(["=", "!="]),
            _VALUES,
            st.sampled_from(["", " || f = y*", " && f != z"]),
        ),
    ),
    max_size=4,
).map(lambda slots: "[" + ", ".join(s.replace("f", f"f{n}", 1) for n, s in enumerate(slots)) + "]")
_term_patterns = st.lists(
    st.tuples(st.sampled_from(["", "-", "?"]), st.sampled_from(["x", "ERROR", '"b c"', "1.0"])),
    min_size=1,
    max_size=3,
).map(lambda terms: " ".join(prefix + term for prefix, term in terms))
_regex_patterns = st.lists(
    st.sampled_from(["x", "y", "z", "+", "?", "*", "|", ".", "^", "$", "[xy]", r"\.", "{1,2}"]),
    min_size=1,
    max_size=6,
).map(lambda parts: "%" + "".join(parts) + "%")
generated_patterns = st.one_of(_json_patterns, _delimited_patterns, _term_patterns, _regex_patterns)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_patterns, st.data())
def test_generated_patterns_lose_no_match_either(text: str, data: st.DataObject) -> None:
    try:
        pattern = compile_pattern(text)
    except PatternError:
        return
    check = may_match(pattern.needs)
    index = PatternIndex([(pattern.needs, pattern, None)])
    # Messages made of the pattern's own pieces match it far more often than others.
    pieces = [*re.findall(r"[A-Za-z0-9.]+", text), *FRAGMENTS]
    own = st.lists(st.sampled_from(pieces), max_size=10).map("".join)
    for message in data.draw(st.lists(st.one_of(own, messages), min_size=1, max_size=4)):
        if pattern.match(message) is not None:
            assert check is None or check(message)
            assert index.candidates(message) == (pattern,)


def test_corpus_matches_survive_the_prefilter() -> None:
    if SHARED is None:
        pytest.skip("the shared corpus is not beside the project")
    path = SHARED / "reference" / "filter-pattern-corpus.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    kept = [row for row in rows if "error" not in row and row["match"]]
    assert kept
    for row in kept:
        pattern = compile_pattern(row["pattern"])
        check = may_match(pattern.needs)
        assert check is None or check(row["message"]), row
        assert PatternIndex([(pattern.needs, 1, None)]).candidates(row["message"]) == (1,), row


# -- the index itself -----------------------------------------------------------------------


def _index(*patterns: str) -> PatternIndex[str]:
    return PatternIndex((compile_pattern(p).needs, p, None) for p in patterns)


def test_index_hands_back_only_what_may_match_in_entry_order() -> None:
    index = _index("ERROR", "[a, b]", "WARN", '{ $.level = "ERROR" }')
    assert index.candidates("WARN and ERROR") == ("ERROR", "[a, b]", "WARN")
    assert index.candidates('{"level":"ERROR"}') == ("ERROR", "[a, b]", '{ $.level = "ERROR" }')
    assert index.candidates("nothing here") == ("[a, b]",)


def test_otherwise_values_come_back_for_ruled_out_patterns() -> None:
    index = PatternIndex([(compile_pattern("ERROR").needs, "run", "default")])
    assert index.candidates("an ERROR") == ("run",)
    assert index.candidates("fine") == ("default",)


def test_an_escaped_json_text_keeps_its_pattern() -> None:
    index = _index('{ $.level = "ERROR" }')
    assert index.candidates('{"level":"\\u0045RROR"}') == ('{ $.level = "ERROR" }',)
    assert compile_pattern('{ $.level = "ERROR" }').match('{"level":"\\u0045RROR"}') is not None
    assert index.candidates('{"level":"INFO"}') == ()


def test_a_text_re2_cannot_read_keeps_every_pattern() -> None:
    index = _index("ERROR", "WARN")
    assert index.candidates("lone \ud800 surrogate") == ("ERROR", "WARN")


def test_a_failed_pass_keeps_every_pattern() -> None:
    class Failing:
        def Match(self, text: str) -> None:
            return None  # what RE2 answers when its automaton runs out of memory

    index = _index("ERROR", "WARN")
    index._set = Failing()  # type: ignore[assignment]
    assert index.candidates("fine") == ("ERROR", "WARN")


# -- fields split in C where that gives the loop's answer ----------------------------------


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(list(' \t"[]ab{\n')), max_size=14).map("".join))
def test_fast_field_split_agrees_with_the_loop(text: str) -> None:
    values, starts = split_fields(text)
    view = ParsedMessage(text)
    assert view.field_values == values
    assert [ParsedMessage(text).has_fewer_fields(n) for n in range(9)] == [
        len(values) < n for n in range(9)
    ]
    assert [view.field_start(n) for n in range(len(values))] == starts
    assert ParsedMessage(text).field_starts == starts
