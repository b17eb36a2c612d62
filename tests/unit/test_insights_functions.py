"""Logs Insights functions, group by group: string, numeric, datetime, IP address, general
and JSON (the aggregations are in test_insights_aggregations.py).

Sources: the operations-and-functions page (its examples: ``substr("xyZfooxyZ",3, 3)``
is "foo", ``ltrim("xyZxyfooxyZ","xyZ")`` is "fooxyZ", ``rtrim("xyZfooxyxyZ","xyZ")`` is
"xyZfoo", ``trim("xyZxyfooxyxyZ","xyZ")`` is "foo", ``replace(logGroup,"smoke_test",
"Smoke")``, ``toMillis(@timestamp)`` of 2022-01-14T13:18:31-08:00 is 1642195111000, the bin
units, the structure types' ``json_message.users[1].action`` and backquoted keys), the
2022 archived syntax page (isempty/isblank/strcontains return 1 or 0), and
vorpalstacks query_engine_test.go (TestExpressionFunctions, TestTimestampFunctionResults).
Expectations are computed a second way in Python (str methods, math, ipaddress, json).
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter

import orjson
import pytest

from pipeline.insights import run_query
from tests.insights_events import T0, Event, column, docs, documents, json_docs, stamp

SAMPLE = {
    "s": "hello",
    "mixed": "MiXeD Case",
    "pad": "  hi  ",
    "empty": "",
    "blank": "   ",
    "word": "xyZxyfooxyZ",
    "accented": "héllo",
    "cjk": "日本語テキスト",
    "Operation": "GetItem",
    "StatusCode": "200",
    "logGroup": "smoke_test_group",
    "n": -5.5,
    "big": 16,
}


def _value(expression: str, sample: dict | None = None):
    rows = run_query(f"fields {expression} as v", json_docs(sample or SAMPLE))
    assert len(rows) == 1
    return rows[0].get("v")


# --- string functions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # the documentation's examples
        ('substr("xyZfooxyZ", 3, 3)', "foo"),
        ('substr("xyZfooxyZ",3, 3)', "foo"),
        ('ltrim("xyZxyfooxyZ", "xyZ")', "fooxyZ"),
        ('rtrim("xyZfooxyxyZ", "xyZ")', "xyZfoo"),
        ('trim("xyZxyfooxyxyZ", "xyZ")', "foo"),
        ('replace(logGroup, "smoke_test", "Smoke")', "Smoke_group"),
        ("concat(Operation, '-', StatusCode)", "GetItem-200"),
        # the same computed by Python
        ('substr("xyZfooxyZ", 3)', "xyZfooxyZ"[3:]),
        ("substr(s, 1, 2)", SAMPLE["s"][1:3]),  # vorpalstacks: substr(name, 1, 2) = "el"
        ("ltrim(word, 'xyZ')", SAMPLE["word"].lstrip("xyZ")),
        ("rtrim(word, 'xyZ')", SAMPLE["word"].rstrip("xyZ")),
        ("trim(word, 'xyZ')", SAMPLE["word"].strip("xyZ")),
        ("ltrim(pad)", SAMPLE["pad"].lstrip()),
        ("rtrim(pad)", SAMPLE["pad"].rstrip()),
        ("trim(pad)", SAMPLE["pad"].strip()),
        ("toupper(s)", SAMPLE["s"].upper()),
        ("tolower(mixed)", SAMPLE["mixed"].lower()),
        ("toupper(accented)", SAMPLE["accented"].upper()),
        ("concat(s, ' ', mixed)", SAMPLE["s"] + " " + SAMPLE["mixed"]),
        ("replace(s, 'l', 'L')", SAMPLE["s"].replace("l", "L")),
        ('replace("a.b.c", ".", "-")', "a.b.c".replace(".", "-")),
        ("toupper(substr(s, 0, 1))", SAMPLE["s"][:1].upper()),
    ],
)
def test_string_functions(expression: str, expected: str) -> None:
    assert _value(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("strlen(s)", len(SAMPLE["s"])),
        ("strlen(accented)", len(SAMPLE["accented"])),  # Unicode code points, not bytes
        ("strlen(cjk)", len(SAMPLE["cjk"])),
        ("strlen(pad)", len(SAMPLE["pad"])),
        ('strcontains(s, "ell")', 1),
        ('strcontains(s, "xyz")', 0),
        ('strcontains(cjk, "テキ")', 1),
        ("isempty(empty)", 1),
        ("isempty(missing)", 1),
        ("isempty(s)", 0),
        ("isempty(blank)", 0),
        ("isblank(blank)", 1),
        ("isblank(empty)", 1),
        ("isblank(missing)", 1),
        ("isblank(pad)", 0),
        ("isblank(s)", 0),
    ],
)
def test_string_functions_returning_numbers(expression: str, expected: int) -> None:
    # strlen: "the length of the string in Unicode code points"; strcontains, isempty and
    # isblank return 1 or 0 (Number) per the functions tables
    assert _value(expression) == expected


def test_string_functions_in_a_filter() -> None:
    events = json_docs({"k": 1, "u": "Alice"}, {"k": 2, "u": ""}, {"k": 3}, {"k": 4, "u": " "})
    rows = run_query("filter isblank(u) | fields k | sort k asc", events)
    empty = run_query("filter isempty(u) | fields k | sort k asc", events)
    long = run_query("filter strlen(u) > 3 | fields k", events)
    assert column(rows, "k") == [2, 3, 4]
    assert column(empty, "k") == [2, 3]
    assert column(long, "k") == [1]


# --- numeric functions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("abs(-5)", 5),
        ("abs(n)", abs(SAMPLE["n"])),
        ("ceil(4.2)", math.ceil(4.2)),
        ("ceil(-4.2)", math.ceil(-4.2)),
        ("floor(4.8)", math.floor(4.8)),
        ("floor(-4.2)", math.floor(-4.2)),
        ("floor(n)", math.floor(SAMPLE["n"])),
        ("greatest(1, 7, 3)", max(1, 7, 3)),
        ("greatest(n, big)", max(SAMPLE["n"], SAMPLE["big"])),
        ("least(4, 2, 9)", min(4, 2, 9)),
        ("least(n, big, 0)", min(SAMPLE["n"], SAMPLE["big"], 0)),
        ("log(100)", math.log(100)),  # natural log
        ("log(1)", 0),
        ("sqrt(16)", 4),
        ("sqrt(big)", math.sqrt(SAMPLE["big"])),
        ("sqrt(2)", math.sqrt(2)),
        ("abs(floor(n))", abs(math.floor(SAMPLE["n"]))),
    ],
)
def test_numeric_functions(expression: str, expected: float) -> None:
    assert _value(expression) == pytest.approx(expected)


# --- datetime functions -------------------------------------------------------------

# "toMillis(@timestamp) converts the timestamp 2022-01-14T13:18:031.000-08:00 to
# 1642195111000" (functions table); the event's milliseconds .530 make floors visible.
DOC_MS = 1_642_195_111_000
EVENT_MS = DOC_MS + 530


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("toMillis(@timestamp)", EVENT_MS),
        ("fromMillis(1642195111000)", stamp(DOC_MS)),
        ("fromMillis(toMillis(@timestamp))", stamp(EVENT_MS)),
        ("toMillis(fromMillis(1700000000000))", 1_700_000_000_000),
        ("datefloor(@timestamp, 1h)", stamp(EVENT_MS // 3_600_000 * 3_600_000)),
        ("dateceil(@timestamp, 1h)", stamp(math.ceil(EVENT_MS / 3_600_000) * 3_600_000)),
        ("datefloor(@timestamp, 15m)", stamp(EVENT_MS // 900_000 * 900_000)),
        ("dateceil(@timestamp, 15m)", stamp(math.ceil(EVENT_MS / 900_000) * 900_000)),
        ("datefloor(@timestamp, 1s)", stamp(EVENT_MS // 1000 * 1000)),
        ("dateceil(@timestamp, 1s)", stamp(math.ceil(EVENT_MS / 1000) * 1000)),
        ("datefloor(@timestamp, 1d)", stamp(EVENT_MS // 86_400_000 * 86_400_000)),
        # vorpalstacks TestTimestampFunctionResults
        ("datefloor(fromMillis(1700000000000), 1h)", "2023-11-14 22:00:00.000"),
        ("dateceil(fromMillis(1700000000000), 1h)", "2023-11-14 23:00:00.000"),
        ("fromMillis(1700000000000)", "2023-11-14 22:13:20.000"),
    ],
)
def test_datetime_functions(expression: str, expected) -> None:
    rows = run_query(f"fields {expression} as v", documents([Event("x", EVENT_MS)]))
    assert rows == [{"v": expected}]


def test_the_documented_to_millis_example() -> None:
    # 2022-01-14T13:18:31-08:00, computed a second way
    from datetime import datetime, timedelta, timezone

    moment = datetime(2022, 1, 14, 13, 18, 31, tzinfo=timezone(timedelta(hours=-8)))
    assert int(moment.timestamp() * 1000) == DOC_MS
    rows = run_query("fields toMillis(@timestamp) as ms", documents([Event("x", DOC_MS)]))
    assert rows == [{"ms": DOC_MS}]


def test_filter_on_to_millis() -> None:
    # the functions table's now() examples filter on toMillis(@timestamp)
    events = documents(Event(f"m{i}", T0 + i * 1000) for i in range(5))
    rows = run_query(f"filter toMillis(@timestamp) >= {T0 + 2000} | fields @message", events)
    assert column(rows, "@message") == ["m4", "m3", "m2"]


# bin(): "millisecond ms msec, second s sec, minute m min, hour h hr, day d ... adding s
# to pluralize is supported" (stats page). Buckets start on multiples of the period.
BIN_UNITS = [
    ("100ms", 100),
    ("250msec", 250),
    ("100milliseconds", 100),
    ("1s", 1000),
    ("1sec", 1000),
    ("30secs", 30_000),
    ("10second", 10_000),
    ("10seconds", 10_000),
    ("1m", 60_000),
    ("5min", 300_000),
    ("5mins", 300_000),
    ("1minute", 60_000),
    ("15minutes", 900_000),
    ("1h", 3_600_000),
    ("1hr", 3_600_000),
    ("2hrs", 7_200_000),
    ("1hour", 3_600_000),
    ("6hours", 21_600_000),
    ("1d", 86_400_000),
    ("1day", 86_400_000),
    ("2days", 172_800_000),
]
OFFSETS = [0, 7, 99, 100, 1_234, 29_999, 30_000, 61_000, 299_999, 300_000, 3_599_999, 3_600_000,
           7_300_000, 86_399_999, 86_400_000, 200_000_000]  # fmt: skip


@pytest.mark.parametrize(("unit", "period"), BIN_UNITS)
def test_bin_units(unit: str, period: int) -> None:
    events = documents(Event("x", T0 + o) for o in OFFSETS)
    rows = run_query(f"stats count(*) as n by bin({unit}) as b", events)
    expected = Counter(stamp((T0 + o) // period * period) for o in OFFSETS)
    assert {r["b"]: r["n"] for r in rows} == dict(expected)


@pytest.mark.parametrize("unit", ["5m", "1h", "30s"])
def test_an_unaliased_bin_is_named_by_its_text(unit: str) -> None:
    rows = run_query(f"stats count(*) by bin({unit})", docs("a", "b"))
    assert all(set(row) == {f"bin({unit})", "count(*)"} for row in rows)


def test_bin_in_seconds_is_capped_at_sixty() -> None:
    # functions page, datetime note: "if you specify bin(300s), CloudWatch Logs actually
    # implements this as 60 seconds ... The cap for ms is 1000, the caps for s and m are
    # 60, and the cap for h is 24."
    events = documents(Event("x", T0 + o) for o in OFFSETS)
    rows = run_query("stats count(*) as n by bin(300s) as b", events)
    expected = Counter(stamp((T0 + o) // 60_000 * 60_000) for o in OFFSETS)
    assert {r["b"]: r["n"] for r in rows} == dict(expected)


# --- IP address functions -----------------------------------------------------------

ADDRESSES = [
    "192.0.2.10",
    "198.51.100.7",
    "203.0.113.255",
    "2001:db8::1",
    "2001:db9::1",
    "::1",
    "10.0.0.256",
    "not-an-ip",
    "192.0.2",
]


def _address(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _in(text: str, network: str) -> bool:
    address = _address(text)
    net = ipaddress.ip_network(network)
    return address is not None and address.version == net.version and address in net


@pytest.mark.parametrize(
    ("condition", "predicate"),
    [
        ("isValidIp(ip)", lambda a: _address(a) is not None),
        ("isValidIpV4(ip)", lambda a: _address(a) is not None and _address(a).version == 4),
        ("isValidIpV6(ip)", lambda a: _address(a) is not None and _address(a).version == 6),
        ("not isValidIp(ip)", lambda a: _address(a) is None),
        ('isIpInSubnet(ip, "192.0.2.0/24")', lambda a: _in(a, "192.0.2.0/24")),
        ('isIpInSubnet(ip, "2001:db8::/32")', lambda a: _in(a, "2001:db8::/32")),
        ('isIpInSubnet(ip, "198.51.100.0/30")', lambda a: _in(a, "198.51.100.0/30")),
        ('isIpv4InSubnet(ip, "203.0.113.0/24")', lambda a: _in(a, "203.0.113.0/24")),
        ('isIpv4InSubnet(ip, "0.0.0.0/0")', lambda a: _in(a, "0.0.0.0/0")),
        ('isIpv6InSubnet(ip, "2001:db8::/32")', lambda a: _in(a, "2001:db8::/32")),
        ('isIpv6InSubnet(ip, "::/0")', lambda a: _in(a, "::/0")),
    ],
)
def test_ip_address_functions(condition: str, predicate) -> None:
    rows = run_query(
        f"filter {condition} | fields ip | sort @timestamp asc",
        json_docs(*({"ip": a} for a in ADDRESSES)),
    )
    assert column(rows, "ip") == [a for a in ADDRESSES if predicate(a)]


# --- general functions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("ispresent(errorCode)", [2, 3]),
        ("not ispresent(errorCode)", [1]),
        ("ispresent(errorCode) and errorCode = 'AccessDenied'", [2]),
        ("ispresent(@message)", [1, 2, 3]),
        ("ispresent(nothere)", []),
    ],
)
def test_ispresent(condition: str, expected: list[int]) -> None:
    # Grafana's CloudTrail sample: filter eventName="UpdateTrail" and ispresent(errorCode)
    events = json_docs(
        {"k": 1}, {"k": 2, "errorCode": "AccessDenied"}, {"k": 3, "errorCode": "Throttling"}
    )
    rows = run_query(f"filter {condition} | fields k | sort k asc", events)
    assert column(rows, "k") == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("coalesce(a, b)", "first"),
        ("coalesce(missing, b)", "second"),
        ("coalesce(missing, other, b, a)", "second"),
        ("coalesce(missing, n)", 3),
    ],
)
def test_coalesce(expression: str, expected) -> None:
    # "Returns the first non-null value from the list"; vorpalstacks coalesce(missing, name)
    assert _value(expression, {"a": "first", "b": "second", "n": 3}) == expected


def test_coalesce_of_nothing_present_is_absent() -> None:
    assert _value("coalesce(missing, other)", {"a": 1}) is None


# --- JSON functions and structure types ---------------------------------------------

USERS = {
    "status_code": 200,
    "users": [{"action": "GetData"}, {"action": "PutData"}],
    "user.id": "123",
    "nested": {"deep": {"x": [1, 2, {"y": "z"}]}},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("json_message.status_code", 200),
        ("json_message.users[1].action", "PutData"),
        ("json_message.users[0].action", "GetData"),
        ("json_message.`user.id`", "123"),
        ("json_message.nested.deep.x[2].y", "z"),
        ("json_message.nested.deep.x[0]", 1),
    ],
)
def test_json_parse_and_access(expression: str, expected) -> None:
    # functions page, structure types: dot access, bracket access, backquoted keys
    rows = run_query(
        f"fields jsonParse(@message) as json_message | fields {expression} as v | display v",
        docs(orjson.dumps(USERS).decode()),
    )
    assert rows == [{"v": expected}]


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ('json_message.users[1].action = "PutData"', True),  # the page's filter example
        ('json_message.users[1].action = "GetData"', False),
        ('json_message.`user.id` = "123"', True),
        (
            'json_message = "x"',
            False,
        ),  # "Comparing map and list to any other fields result in false"
    ],
)
def test_json_filters(condition: str, kept: bool) -> None:
    rows = run_query(
        f"fields jsonParse(@message) as json_message | filter {condition} | fields @message",
        docs(orjson.dumps(USERS).decode()),
    )
    assert len(rows) == (1 if kept else 0)


def test_json_parse_then_count_by_an_attribute() -> None:
    # functions page: fields jsonParse(@message) as json_message
    #   | stats count() by json_message.status_code
    codes = [200, 404, 200, 500, 200]
    rows = run_query(
        "fields jsonParse(@message) as json_message"
        " | stats count() as n by json_message.status_code",
        json_docs(*({"status_code": c} for c in codes)),
    )
    assert {r["json_message.status_code"]: r["n"] for r in rows} == dict(Counter(codes))


def test_json_stringify_round_trips() -> None:
    rows = run_query(
        "fields jsonStringify(jsonParse(@message)) as s", docs(orjson.dumps(USERS).decode())
    )
    assert orjson.loads(rows[0]["s"]) == USERS


def test_json_stringify_of_a_list() -> None:
    rows = run_query(
        "fields jsonParse(@message) as j | fields jsonStringify(j.users) as s",
        docs(orjson.dumps(USERS).decode()),
    )
    assert orjson.loads(rows[0]["s"]) == USERS["users"]


def test_json_parse_of_a_top_level_array() -> None:
    rows = run_query(
        "fields jsonParse(@message) as j | fields j[1].k as v | display v",
        docs('[{"k": "a"}, {"k": "b"}]'),
    )
    assert rows == [{"v": "b"}]


def test_json_parse_of_text_that_is_not_json_is_empty() -> None:
    # "Returns an empty value, if the input is not one of the representation."
    rows = run_query(
        "fields jsonParse(@message) as j | filter ispresent(j) | fields @message"
        " | sort @timestamp asc",
        docs('{"a": 1}', "plain text", "[1, 2]", '"a string"', "{broken"),
    )
    assert column(rows, "@message") == ['{"a": 1}', "[1, 2]"]


def test_string_functions_over_a_map_are_null() -> None:
    # "Maps and lists are treated as null for string, number, and datetime functions."
    rows = run_query(
        "fields jsonParse(@message) as json_message | fields toupper(json_message) as u"
        " | display u, @message",
        docs('{"a": "b"}'),
    )
    assert rows == [{"@message": '{"a": "b"}'}]
