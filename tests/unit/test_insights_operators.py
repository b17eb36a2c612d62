"""Logs Insights operators: comparison, arithmetic (``^`` and ``%``), ``and``/``or``/``not``,
``like``/``not like`` with strings and ``/regex/``, ``=~``, ``in``/``not in`` and ``(?i)``.

Sources: the operations-and-functions page ("2 ^ 3 returns 8", "10 % 3 returns 1"), the
2022 archived syntax page's "Matches and regular expressions in the filter command"
(awsdocs/amazon-cloudwatch-logs-user-guide @10ee522), the issue's everyday query
(``like "[INFO]"``), gopherstack insights_test.go (FilterRegex, SplitPipesEdgeCases),
floci CloudWatchLogsInsightsQueryTest.java (operators inside quoted values) and
vorpalstacks query_engine_test.go (TestExpressionLikeRegexAndIn, dotted-field division).
Every expectation is also computed in Python over the same inputs.
"""

from __future__ import annotations

import operator
import re

import pytest

from pipeline.insights import run_query
from tests.insights_events import column, docs, json_docs

NUMBERS = [{"n": n, "s": s} for n, s in [(1, "a"), (5, "b"), (10, "c"), (20, "d"), (7.5, "e")]]


def _kept(query: str, objects: list[dict], key: str = "s") -> list:
    rows = run_query(f"{query} | fields {key} | sort @timestamp asc", json_docs(*objects))
    return column(rows, key)


@pytest.mark.parametrize(
    ("op", "function"),
    [
        ("=", operator.eq),
        ("!=", operator.ne),
        ("<", operator.lt),
        ("<=", operator.le),
        (">", operator.gt),
        (">=", operator.ge),
    ],
)
@pytest.mark.parametrize("bound", [5, 7.5, 0])
def test_comparison_operators_on_numbers(op: str, function, bound: float) -> None:
    assert _kept(f"filter n {op} {bound}", NUMBERS) == [
        d["s"] for d in NUMBERS if function(d["n"], bound)
    ]


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ('filter s = "c"', lambda d: d["s"] == "c"),
        ("filter s = 'c'", lambda d: d["s"] == "c"),  # single quotes are strings too
        ('filter s != "c"', lambda d: d["s"] != "c"),
        ("filter n > 4 and n < 15", lambda d: 4 < d["n"] < 15),
        ("filter n < 4 or n > 15", lambda d: d["n"] < 4 or d["n"] > 15),
        ("filter not n > 4", lambda d: not d["n"] > 4),
        ("filter not (n > 4 and n < 15)", lambda d: not (4 < d["n"] < 15)),
        # and binds tighter than or
        ("filter n = 1 or n = 10 and s = 'x'", lambda d: d["n"] == 1),
        ("filter (n = 1 or n = 10) and s = 'c'", lambda d: d["s"] == "c"),
    ],
)
def test_string_comparison_and_boolean_operators(query: str, predicate) -> None:
    assert _kept(query, NUMBERS) == [d["s"] for d in NUMBERS if predicate(d)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 ^ 3", 8),  # "2 ^ 3 returns 8"
        ("10 % 3", 1),  # "10 % 3 returns 1"
        ("7 + 2", 9),
        ("7 - 2", 5),
        ("7 * 2", 14),
        ("7 / 2", 3.5),
        ("2 + 3 * 4", 2 + 3 * 4),
        ("(2 + 3) * 4", (2 + 3) * 4),
        ("10 - 4 - 3", 10 - 4 - 3),
        ("100 / 10 / 2", 100 / 10 / 2),
        ("2 * 3 ^ 2", 2 * 3**2),
        ("n * 2 + 1", 10 * 2 + 1),
        ("n % 4", 10 % 4),
        ("n ^ 2", 10**2),
        ("-n + 3", -10 + 3),
        ("half / 2", 7.5 / 2),
    ],
)
def test_arithmetic(expression: str, expected: float) -> None:
    rows = run_query(f"fields {expression} as v", json_docs({"n": 10, "half": 7.5}))
    assert rows == [{"v": pytest.approx(expected)}]


def test_arithmetic_in_a_filter() -> None:
    # vorpalstacks TestDivisionOnDottedFieldReference: "filter dur.ms / 2 > 1 and kind like /a/"
    events = json_docs({"dur": {"ms": 8}, "kind": "a"}, {"dur": {"ms": 1}, "kind": "a"})
    rows = run_query("filter dur.ms / 2 > 1 and kind like /a/ | fields dur.ms", events)
    assert rows == [{"dur.ms": 8}]


MESSAGES = [
    "ERROR: disk full",
    "INFO: startup complete",
    "ERROR: connection refused",
    "[INFO] request served",
    "java.lang.RuntimeException: boom",
    "an exception was caught",
]


@pytest.mark.parametrize(
    ("condition", "predicate"),
    [
        # gopherstack TestInsightsQuery_FilterRegex / SplitPipesEdgeCases
        ("@message like /ERROR/", lambda m: "ERROR" in m),
        ("@message like /CRITICAL/", lambda m: False),
        ('@message like "INFO"', lambda m: "INFO" in m),
        ("@message like /./", lambda m: True),
        ("@message like /ERROR|INFO/", lambda m: "ERROR" in m or "INFO" in m),
        ("@message like /[EI]N?/", lambda m: re.search("[EI]N?", m) is not None),
        # the everyday query: a string is a substring, its brackets are literal
        ('@message like "[INFO]"', lambda m: "[INFO]" in m),
        ("@message like '[INFO]'", lambda m: "[INFO]" in m),
        # the 2022 syntax page's three case-sensitive forms and its exclusion
        ('@message like "Exception"', lambda m: "Exception" in m),
        ("@message like /Exception/", lambda m: "Exception" in m),
        ("@message =~ /Exception/", lambda m: "Exception" in m),
        ('@message not like "Exception"', lambda m: "Exception" not in m),
        ("@message not like /Exception/", lambda m: "Exception" not in m),
        # (?i): "Exception" or "exception"
        ("@message like /(?i)Exception/", lambda m: "exception" in m.lower()),
        ("@message not like /(?i)exception/", lambda m: "exception" not in m.lower()),
        ("@message like /(?i)(error|failure)/", lambda m: "error" in m.lower()),
        # regexes search, they are not anchored; anchors work
        ("@message like /^ERROR/", lambda m: m.startswith("ERROR")),
        ("@message like /complete$/", lambda m: m.endswith("complete")),
        (r"@message like /\d/", lambda m: re.search(r"\d", m) is not None),
        (r"@message like /\[INFO\]/", lambda m: "[INFO]" in m),
        (
            "@message like /refused/ or @message like /full/",
            lambda m: "refused" in m or "full" in m,
        ),
        (
            '@message like "ERROR" and @message not like "disk"',
            lambda m: "ERROR" in m and "disk" not in m,
        ),
    ],
)
def test_like_regex_and_match_operator(condition: str, predicate) -> None:
    rows = run_query(f"fields @message | filter {condition} | sort @timestamp asc", docs(*MESSAGES))
    assert column(rows, "@message") == [m for m in MESSAGES if predicate(m)]


def test_like_is_case_sensitive() -> None:
    rows = run_query('filter @message like "exception" | fields @message', docs(*MESSAGES))
    assert column(rows, "@message") == ["an exception was caught"]


def test_regex_on_a_parsed_field() -> None:
    # vorpalstacks TestExpressionLikeRegexAndIn: msg like /error \d+/ and =~
    events = json_docs({"msg": "Request failed with error 503"}, {"msg": "Request ok"})
    like = run_query(r"filter msg like /error \d+/ | fields msg", events)
    match = run_query(r"filter msg =~ /error \d+/ | fields msg", events)
    negated = run_query('filter msg not like "Request" | fields msg', events)
    assert like == match == [{"msg": "Request failed with error 503"}]
    assert negated == []


TYPES = [
    {"k": 1, "Type": "foo", "code": 300, "logGroup": "example_group"},
    {"k": 2, "Type": "bar", "code": 404, "logGroup": "example_group_2"},
    {"k": 3, "Type": "1", "code": 500, "logGroup": "other"},
    {"k": 4, "Type": "baz", "code": 200, "logGroup": "example"},
]


@pytest.mark.parametrize(
    ("condition", "predicate"),
    [
        ("code in [300, 400, 500]", lambda d: d["code"] in (300, 400, 500)),
        ("code not in [300, 400, 500]", lambda d: d["code"] not in (300, 400, 500)),
        ('Type in ["foo", "baz"]', lambda d: d["Type"] in ("foo", "baz")),
        ("Type in ['foo', 'baz']", lambda d: d["Type"] in ("foo", "baz")),
        ('Type not in ["foo", "bar", 1]', lambda d: d["Type"] not in ("foo", "bar", "1")),
        # "The fields must be complete strings": in is no substring match
        ('logGroup in ["example_group"]', lambda d: d["logGroup"] == "example_group"),
        ('logGroup not in ["example_group"]', lambda d: d["logGroup"] != "example_group"),
        ("code in [404]", lambda d: d["code"] == 404),
    ],
)
def test_in_and_not_in(condition: str, predicate) -> None:
    assert _kept(f"filter {condition}", TYPES, key="k") == [d["k"] for d in TYPES if predicate(d)]


def test_in_checks_elements_of_an_array() -> None:
    # "You can use the keyword in to test for set membership and check for elements in
    # an array" (2022 syntax page); Grafana CloudTrail sample tlsDetails.tlsVersion in [...]
    events = json_docs(
        {"k": 1, "tlsDetails": {"tlsVersion": "TLSv1"}},
        {"k": 2, "tlsDetails": {"tlsVersion": "TLSv1.2"}},
        {"k": 3, "tlsDetails": {"tlsVersion": "TLSv1.1"}},
    )
    rows = run_query(
        'filter tlsDetails.tlsVersion in [ "TLSv1", "TLSv1.1" ] | fields k | sort k asc', events
    )
    assert column(rows, "k") == [1, 3]


def test_comparison_of_a_parsed_string_with_a_number() -> None:
    rows = run_query(
        'parse @message "took * ms" as took | filter took > 100 | display took | sort @timestamp asc',
        docs("took 50 ms", "took 150 ms", "took 1000 ms", "took 99 ms"),
    )
    assert column(rows, "took") == ["150", "1000"]
