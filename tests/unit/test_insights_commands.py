"""Logs Insights commands over documents as the pipeline indexes them: fields, display,
filter, stats (several aggregations, bin, arithmetic on aggregates, two stats), sort,
limit, parse, dedup, unnest, SOURCE, comments, backquoted names, case-insensitive
keywords, the time range and the defaults (sort @timestamp desc, 10,000 rows).

Sources: the CloudWatch Logs Insights query syntax pages (fields, display, filter,
stats, sort, limit, parse, dedup, unnest, SOURCE; the 2022 archived syntax page of
awsdocs/amazon-cloudwatch-logs-user-guide @10ee522 for display/fields/comments), and
the emulators' query suites: getmoto/moto tests/test_logs/test_logs_query,
BlackbirdWorks/gopherstack services/cloudwatchlogs/insights_test.go,
floci-io/floci CloudWatchLogsInsightsQueryTest.java, tagumasa/vorpalstacks
query_commands_test.go / query_engine_test.go. Where an emulator differs from AWS's
documented behaviour the case follows AWS and says so.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter, defaultdict

import orjson
import pytest

from pipeline.insights import run_query
from tests.insights_events import (
    ACCOUNT,
    GROUP,
    STREAM,
    T0,
    Event,
    column,
    docs,
    documents,
    json_docs,
    natural_key,
    spaced,
    stamp,
)

# --- fields -------------------------------------------------------------------------


def test_fields_projects_in_the_order_written_and_formats_the_timestamp() -> None:
    # moto's DEFAULT_QUERY: fields @timestamp, @message, @logStream, @log
    rows = run_query("fields @timestamp, @message, @logStream, @log", docs("hello"))
    assert rows == [
        {
            "@timestamp": "2019-07-02 04:35:21.530",
            "@message": "hello",
            "@logStream": STREAM,
            "@log": f"{ACCOUNT}:{GROUP}",
        }
    ]
    assert list(rows[0]) == ["@timestamp", "@message", "@logStream", "@log"]


def test_fields_alias_and_function_from_the_documentation() -> None:
    # "fields concat(Operation, '-', StatusCode) as opStatus" (2022 syntax page)
    rows = run_query(
        "fields concat(Operation, '-', StatusCode) as opStatus",
        json_docs({"Operation": "PutItem", "StatusCode": "OK"}),
    )
    assert rows == [{"opStatus": "PutItem-OK"}]


def test_fields_backquoted_name_and_expression() -> None:
    # "fields `foo-bar`, action, abs(f3-f4)" (2022 syntax page); the expression aliased
    rows = run_query(
        "fields `foo-bar`, action, abs(f3-f4) as d",
        json_docs({"foo-bar": "x", "action": "Allow", "f3": 2, "f4": 7.5}),
    )
    assert rows == [{"foo-bar": "x", "action": "Allow", "d": 5.5}]


def test_a_missing_field_is_absent_from_the_row() -> None:
    # floci projects an absent field as "": Insights omits empty fields from a result row.
    rows = run_query("fields @message, params.absent", docs('{"params": {"id": "x"}}'))
    assert rows == [{"@message": '{"params": {"id": "x"}}'}]


def test_several_fields_commands_show_all_their_fields() -> None:
    # "If your query contains multiple fields commands and doesn't include a display
    # command, you'll display all of the fields that are specified" (2022 syntax page)
    rows = run_query("fields a | fields b", json_docs({"a": 1, "b": 2, "c": 3}))
    assert rows == [{"a": 1, "b": 2}]


def test_a_fields_alias_is_usable_later_in_the_query() -> None:
    rows = run_query(
        "fields ispresent(resolverArn) as isRes | filter isRes | fields resolverArn",
        json_docs({"resolverArn": "arn:r1"}, {"other": 1}),
    )
    assert column(rows, "resolverArn") == ["arn:r1"]


def test_a_query_without_fields_shows_timestamp_and_message() -> None:
    # floci: "No 'fields' stage -> the engine defaults to @timestamp, @message"
    rows = run_query("filter params.job_id = 'JOB-1'", docs('{"params": {"job_id": "JOB-1"}}'))
    assert len(rows) == 1
    assert rows[0]["@timestamp"] == stamp(T0)
    assert rows[0]["@message"] == '{"params": {"job_id": "JOB-1"}}'


# --- display ------------------------------------------------------------------------


def test_display_after_parse_from_the_documentation() -> None:
    # 2022 syntax page, display: parse "[*] *" as loggingType, loggingMessage | filter | display
    query = """fields @message
    | parse @message "[*] *" as loggingType, loggingMessage
    | filter loggingType = "ERROR"
    | display loggingMessage"""
    rows = run_query(query, docs("[ERROR] disk full", "[INFO] started", "[ERROR] no route"))
    assert rows == [{"loggingMessage": "no route"}, {"loggingMessage": "disk full"}]


def test_only_the_last_display_counts() -> None:
    # "If your query contains multiple display commands, the query results show only the
    # field or fields that you specified in the final display command" (2022 syntax page)
    rows = run_query("display a, b | display c", json_docs({"a": 1, "b": 2, "c": 3}))
    assert rows == [{"c": 3}]


def test_display_limits_the_columns_fields_would_show() -> None:
    rows = run_query("fields a, b, c | display b", json_docs({"a": 1, "b": 2, "c": 3}))
    assert rows == [{"b": 2}]


# --- filter -------------------------------------------------------------------------

DURATIONS = [{"f1": i, "f2": f"v{i}", "f3": 10 * i, "duration": 700 * i} for i in range(1, 6)]


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        # the 2022 syntax page's filter examples
        ("fields f1, f2, f3 | filter (duration>2000)", lambda d: d["duration"] > 2000),
        ("filter (duration>2000)", lambda d: d["duration"] > 2000),
        ("fields f1, f2 | filter (f1=10 or f3>25)", lambda d: d["f1"] == 10 or d["f3"] > 25),
        ("filter f1 >= 2 and f1 <= 4", lambda d: 2 <= d["f1"] <= 4),
        ("filter not (f1 = 3)", lambda d: d["f1"] != 3),
        ("filter f1 != 3 and not f3 > 40", lambda d: d["f1"] != 3 and not d["f3"] > 40),
        ("where f1 < 3", lambda d: d["f1"] < 3),  # where: the documented alias of filter
    ],
)
def test_filter_examples(query: str, keep) -> None:
    rows = run_query(query + " | fields f1 | sort f1 asc", json_docs(*DURATIONS))
    assert column(rows, "f1") == [d["f1"] for d in DURATIONS if keep(d)]


def test_status_code_regex_from_the_documentation() -> None:
    # "fields f1 | filter statusCode like /2\d\d/" and its "not like" (2022 syntax page)
    events = json_docs(*({"f1": code, "statusCode": code} for code in (200, 204, 301, 404, 500)))
    ok = run_query(r"fields f1 | filter statusCode like /2\d\d/ | sort f1 asc", events)
    other = run_query(r"fields f1 | filter statusCode not like /2\d\d/ | sort f1 asc", events)
    assert column(ok, "f1") == [200, 204]
    assert column(other, "f1") == [301, 404, 500]


def test_in_and_not_in_from_the_documentation() -> None:
    # "filter statusCode in [300,400,500]" and 'filter Type not in ["foo","bar",1]'
    events = json_docs(
        {"n": 1, "statusCode": 300, "Type": "foo"},
        {"n": 2, "statusCode": 404, "Type": "bar"},
        {"n": 3, "statusCode": 500, "Type": "baz"},
        {"n": 4, "statusCode": 200, "Type": "qux"},
    )
    codes = run_query("fields n | filter statusCode in [300,400,500] | sort n asc", events)
    types = run_query('fields n | filter Type not in ["foo","bar",1] | sort n asc', events)
    assert column(codes, "n") == [1, 3]
    assert column(types, "n") == [3, 4]


def test_filter_on_a_missing_field_keeps_nothing() -> None:
    rows = run_query('filter nothere = "x"', docs("a", "b"))
    assert rows == []


def test_filter_on_nested_json_fields() -> None:
    # floci: filter on a deep path, project a deep scalar
    events = json_docs(
        {
            "params": {
                "job_id": "JOB-7",
                "coords": {"group": "com.example.tools", "version": "1.2.3"},
            }
        },
        {
            "params": {
                "job_id": "JOB-8",
                "coords": {"group": "com.example.other", "version": "4.5.6"},
            }
        },
    )
    rows = run_query(
        "fields params.coords.version | filter params.coords.group = 'com.example.tools'", events
    )
    assert rows == [{"params.coords.version": "1.2.3"}]


def test_filter_values_holding_operators_and_pipes() -> None:
    # floci: '|' and '==' and '>=' inside a quoted value are not syntax
    events = json_docs(
        {"params": {"id": "REQ|42"}}, {"params": {"id": "REQ==42"}}, {"params": {"id": "REQ>=42"}}
    )
    for value in ("REQ|42", "REQ==42", "REQ>=42"):
        rows = run_query(f"fields params.id | filter params.id = '{value}'", events)
        assert rows == [{"params.id": value}]


def test_multi_group_filter_sorted_across_groups() -> None:
    # floci startQueryFindsParamAcrossMultipleGroups: rows of several log groups merge and sort
    events = documents(
        [
            Event('{"params": {"id": "REQ-42"}, "m": "spark"}', T0 + 2000, "reporting/spark"),
            Event('{"params": {"id": "REQ-42"}, "m": "mysql"}', T0 + 5000, "reporting/mysql"),
            Event('{"params": {"id": "REQ-42"}, "m": "render"}', T0 + 3000, "dashboard/mysql"),
            Event('{"params": {"id": "REQ-99"}, "m": "other"}', T0 + 1000, "reporting/mysql"),
        ]
    )
    rows = run_query(
        "fields @timestamp, m, @log | filter params.id = 'REQ-42' | sort @timestamp desc", events
    )
    assert column(rows, "m") == ["mysql", "render", "spark"]
    assert column(rows, "@log") == [
        f"{ACCOUNT}:reporting/mysql",
        f"{ACCOUNT}:dashboard/mysql",
        f"{ACCOUNT}:reporting/spark",
    ]


# --- stats --------------------------------------------------------------------------


def test_count_by_bin_one_minute_from_the_issue() -> None:
    offsets = [0, 10_000, 38_000, 60_000, 95_000, 200_000]
    events = documents(Event(f"[INFO] request {i}", T0 + o) for i, o in enumerate(offsets))
    events += documents([Event("[ERROR] not counted", T0 + 5_000)])
    rows = run_query(
        'fields @timestamp, @message | filter @message like "[INFO]" | stats count(*) by bin(1m)',
        events,
    )
    expected = Counter(stamp((T0 + o) // 60_000 * 60_000) for o in offsets)
    assert {row["bin(1m)"]: row["count(*)"] for row in rows} == dict(expected)
    assert all(set(row) == {"bin(1m)", "count(*)"} for row in rows)
    assert all(type(row["count(*)"]) is int for row in rows)


def test_count_by_field_names_its_columns() -> None:
    # gopherstack TestInsightsQuery_StatsCountBy: one row per distinct @message
    rows = run_query(
        "stats count(*) by @message",
        docs("ERROR: disk full", "INFO: startup complete", "ERROR: disk full"),
    )
    assert sorted((r["@message"], r["count(*)"]) for r in rows) == [
        ("ERROR: disk full", 2),
        ("INFO: startup complete", 1),
    ]


def test_stats_without_by_gives_one_row() -> None:
    # gopherstack TestInsightsQuery_StatsCountNoBy
    rows = run_query("stats count(*)", docs("a", "b", "c"))
    assert rows == [{"count(*)": 3}]


def test_stats_avg_with_a_space_before_the_parenthesis() -> None:
    # "stats avg (f1) by f2" (2022 syntax page)
    values = [("x", 1), ("x", 4), ("y", 10), ("x", 7), ("y", 11)]
    rows = run_query(
        "stats avg (f1) as a by f2", json_docs(*({"f1": v, "f2": k} for k, v in values))
    )
    groups: dict[str, list[int]] = defaultdict(list)
    for key, value in values:
        groups[key].append(value)
    assert {r["f2"]: r["a"] for r in rows} == pytest.approx(
        {k: statistics.mean(v) for k, v in groups.items()}
    )


def test_stats_by_two_fields_sorted_and_limited() -> None:
    # VPC flow logs example: top packet transfers across hosts (sort page)
    flows = [
        ("10.0.0.1", "10.0.0.2", 10),
        ("10.0.0.1", "10.0.0.2", 5),
        ("10.0.0.3", "10.0.0.2", 40),
        ("10.0.0.1", "10.0.0.4", 1),
        ("10.0.0.5", "10.0.0.6", 7),
    ]
    rows = run_query(
        "stats sum(packets) as packetsTransferred by srcAddr, dstAddr"
        " | sort packetsTransferred desc | limit 2",
        json_docs(*({"srcAddr": s, "dstAddr": d, "packets": p} for s, d, p in flows)),
    )
    totals: Counter[tuple[str, str]] = Counter()
    for s, d, p in flows:
        totals[(s, d)] += p
    expected = [
        {"srcAddr": s, "dstAddr": d, "packetsTransferred": n} for (s, d), n in totals.most_common(2)
    ]
    assert rows == expected


def test_exceptions_per_hour_sorted_by_count() -> None:
    # "filter @message like /Exception/ | stats count(*) as exceptionCount by bin(1h)
    #  | sort exceptionCount desc" (2022 syntax page, Grafana's general samples)
    hour = 3_600_000
    base = T0 // hour * hour
    offsets = [0, 1, 2, hour, hour + 5, 2 * hour]
    events = documents(Event(f"java.lang.NullPointerException {o}", base + o) for o in offsets)
    events += documents([Event("all fine", base + 3)])
    rows = run_query(
        "filter @message like /Exception/ | stats count(*) as exceptionCount by bin(1h)"
        " | sort exceptionCount desc",
        events,
    )
    assert column(rows, "exceptionCount") == [3, 2, 1]
    assert column(rows, "bin(1h)") == [stamp(base), stamp(base + hour), stamp(base + 2 * hour)]


def test_arithmetic_on_aggregates() -> None:
    values = [3, 1, 4, 1, 5, 9, 2, 6]
    rows = run_query(
        "stats sum(v) / count(*) as meanV, max(v) - min(v) as spread",
        json_docs(*({"v": v} for v in values)),
    )
    assert rows == [
        {"meanV": pytest.approx(statistics.mean(values)), "spread": max(values) - min(values)}
    ]


def test_two_stats_total_traffic_then_peak() -> None:
    # "Use multiple stats commands in a single query", first example (stats page)
    five = 300_000
    base = T0 // five * five
    offsets = [0, 1_000, 299_999, 300_000, 650_000, 651_000, 652_000]
    messages = [("x" * (100 * (i + 1))) for i in range(len(offsets))]
    events = documents(Event(m, base + o) for m, o in zip(messages, offsets, strict=True))
    query = """FIELDS strlen(@message) AS message_length
| STATS sum(message_length)/1024/1024 as logs_mb BY bin(5m)
| STATS max(logs_mb) AS peak_ingest_mb,
        min(logs_mb) AS min_ingest_mb,
        avg(logs_mb) AS avg_ingest_mb"""
    per_bin: Counter[int] = Counter()
    for message, offset in zip(messages, offsets, strict=True):
        per_bin[(base + offset) // five] += len(message)
    mb = [total / 1024 / 1024 for total in per_bin.values()]
    assert run_query(query, events) == [
        {
            "peak_ingest_mb": pytest.approx(max(mb)),
            "min_ingest_mb": pytest.approx(min(mb)),
            "avg_ingest_mb": pytest.approx(statistics.mean(mb)),
        }
    ]


def test_two_stats_with_a_filter_between() -> None:
    # the stats page's sessions example: count_distinct per session, filter, stats again
    sessions = [
        ("s1", "ios", "1.1.1.1"),
        ("s1", "ios", "1.1.1.2"),
        ("s1", "ios", "1.1.1.2"),
        ("s2", "ios", "2.2.2.2"),
        ("s3", "android", "3.3.3.3"),
        ("s3", "android", "3.3.3.4"),
        ("s4", "ios", "4.4.4.4"),
        ("s4", "ios", "4.4.4.5"),
        ("s4", "ios", "4.4.4.6"),
        ("s4", "ios", "4.4.4.6"),
    ]
    query = """STATS count_distinct(client_ip) AS session_ips,
      count(*) AS requests BY session_id, client_platform
| FILTER session_ips > 1
| STATS count(*) AS multiple_ip_sessions,
        sum(requests) / count(*) AS avg_session_requests BY client_platform"""
    rows = run_query(
        query,
        json_docs(
            *({"session_id": s, "client_platform": p, "client_ip": ip} for s, p, ip in sessions)
        ),
    )
    ips: dict[tuple[str, str], set[str]] = defaultdict(set)
    requests: Counter[tuple[str, str]] = Counter()
    for s, p, ip in sessions:
        ips[(s, p)].add(ip)
        requests[(s, p)] += 1
    by_platform: dict[str, list[int]] = defaultdict(list)
    for key, seen in ips.items():
        if len(seen) > 1:
            by_platform[key[1]].append(requests[key])
    expected = {
        p: {
            "client_platform": p,
            "multiple_ip_sessions": len(r),
            "avg_session_requests": pytest.approx(sum(r) / len(r)),
        }
        for p, r in by_platform.items()
    }
    assert {row["client_platform"]: row for row in rows} == expected


def test_two_stats_with_bin_then_dateceil() -> None:
    # the stats page: "BY BIN(5m) as @t | STATS ... BY dateceil(@t, 10m)"
    five, ten = 300_000, 600_000
    base = T0 // ten * ten
    # only 5-minute bins that are not on a 10-minute boundary: whether dateceil moves a
    # value already on the boundary is not documented
    offsets = [301_000, 302_000, 599_000, 901_000, 1_500_500, 2_100_000, 2_399_999]
    messages = ["a" * (1000 * (i + 1)) for i in range(len(offsets))]
    events = documents(Event(m, base + o) for m, o in zip(messages, offsets, strict=True))
    query = """FIELDS strlen(@message) AS message_length
| STATS sum(message_length) / 1024 / 1024 AS logs_mb BY BIN(5m) as @t
| STATS max(logs_mb) AS peak_ingest_mb,
        min(logs_mb) AS min_ingest_mb,
        avg(logs_mb) AS avg_ingest_mb BY dateceil(@t, 10m)"""
    per_five: Counter[int] = Counter()
    for message, offset in zip(messages, offsets, strict=True):
        per_five[(base + offset) // five * five] += len(message)
    per_ten: dict[int, list[float]] = defaultdict(list)
    for start, total in per_five.items():
        per_ten[math.ceil(start / ten) * ten].append(total / 1024 / 1024)
    rows = run_query(query, events)
    names = {"peak_ingest_mb", "min_ingest_mb", "avg_ingest_mb"}
    got = {}
    for row in rows:
        (key,) = [v for k, v in row.items() if k not in names]
        got[key] = (row["peak_ingest_mb"], row["min_ingest_mb"], row["avg_ingest_mb"])
    assert got == {
        stamp(ceil): pytest.approx((max(mb), min(mb), statistics.mean(mb)))
        for ceil, mb in per_ten.items()
    }


def test_two_stats_with_the_timestamp_propagated() -> None:
    # the stats page: "max(@timestamp) as @t BY @logStream | STATS avg(...) BY dateceil(@t, 5m)"
    five = 300_000
    base = T0 // five * five
    streams = {
        "s1": [(1_000, "aa"), (2_000, "bbbb")],
        "s2": [(4_000, "c")],
        "s3": [(400_000, "dd")],
    }
    events = documents(
        Event(m, base + o, log_stream=s) for s, lines in streams.items() for o, m in lines
    )
    query = """FIELDS strlen(@message) AS message_length
 | STATS sum(message_length) AS ingested_bytes, max(@timestamp) as @t BY @logStream
 | STATS avg(ingested_bytes) as avgBytes BY dateceil(@t, 5m)"""
    per_bucket: dict[int, list[int]] = defaultdict(list)
    for lines in streams.values():
        newest = max(base + o for o, _ in lines)
        per_bucket[math.ceil(newest / five) * five].append(sum(len(m) for _, m in lines))
    got = {}
    for row in run_query(query, events):
        (key,) = [v for k, v in row.items() if k != "avgBytes"]
        got[key] = row["avgBytes"]
    assert got == {stamp(k): pytest.approx(statistics.mean(v)) for k, v in per_bucket.items()}


def test_stats_then_sort_on_the_bin_column() -> None:
    # vorpalstacks: "stats count(*) by bin(1m) | sort @timestamp desc" is valid; here the
    # bin column is aliased and sorted explicitly
    offsets = [0, 61_000, 122_000, 123_000]
    events = documents(Event("x", T0 + o) for o in offsets)
    rows = run_query("stats count(*) as n by bin(1m) as minute | sort minute asc", events)
    buckets = sorted(Counter((T0 + o) // 60_000 * 60_000 for o in offsets).items())
    assert rows == [{"minute": stamp(b), "n": n} for b, n in buckets]


# --- sort ---------------------------------------------------------------------------

# The sort page's example of an ascending sort (the "updated natural sort").
SORT_PAGE_ORDER = [
    "!:",
    "#",
    "*%04",
    "0#",
    "5A",
    "111A",
    "2345_",
    "@",
    "@_",
    "A",
    "A9876fghj",
    "a12345hfh",
    "0",
    "01",
    "1",
    "2",
    "3",
]


def _natural_events(seed: int) -> list[dict]:
    shuffled = SORT_PAGE_ORDER[:]
    random.Random(seed).shuffle(shuffled)
    return json_docs(*({"v": v} for v in shuffled))


def test_the_sort_pages_example_is_the_documented_order() -> None:
    # the expectation itself, computed a second way from the algorithm's description
    assert sorted(SORT_PAGE_ORDER[::-1], key=natural_key) == SORT_PAGE_ORDER


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sort_ascending_is_the_natural_order_of_the_sort_page(seed: int) -> None:
    rows = run_query("fields v | sort v asc", _natural_events(seed))
    assert column(rows, "v") == SORT_PAGE_ORDER


@pytest.mark.parametrize("seed", [4, 5])
def test_sort_descending_is_the_reverse(seed: int) -> None:
    # "If you sort in descending order, the sort results are the reverse."
    rows = run_query("fields v | sort v desc", _natural_events(seed))
    assert column(rows, "v") == SORT_PAGE_ORDER[::-1]


def test_sort_numbers_by_value() -> None:
    rows = run_query(
        "fields n | sort n asc", json_docs({"n": 20}, {"n": 3}, {"n": 100}, {"n": 7.5})
    )
    assert column(rows, "n") == [3, 7.5, 20, 100]


def test_sort_strings_with_numbers_naturally() -> None:
    # floci sorts "REQ-A" < "REQ-B" < "REQ-C"; natural sort also puts item9 before item10
    rows = run_query(
        "fields id | sort id asc",
        json_docs({"id": "item10"}, {"id": "REQ-C"}, {"id": "item9"}, {"id": "REQ-A"}),
    )
    assert column(rows, "id") == ["REQ-A", "REQ-C", "item9", "item10"]


def test_sort_by_timestamp_ascending_and_descending() -> None:
    # gopherstack TestInsightsQuery_Sort
    events = docs("ERROR: disk full", "INFO: startup complete", "ERROR: connection refused")
    asc = run_query("fields @message | sort @timestamp asc", events)
    desc = run_query("fields @message | sort @timestamp desc", events)
    by_message = run_query("fields @message | sort @message asc", events)
    assert column(asc, "@message") == [
        "ERROR: disk full",
        "INFO: startup complete",
        "ERROR: connection refused",
    ]
    assert column(desc, "@message") == column(asc, "@message")[::-1]
    assert column(by_message, "@message") == [
        "ERROR: connection refused",
        "ERROR: disk full",
        "INFO: startup complete",
    ]


def test_sort_on_several_keys() -> None:
    rows = run_query(
        "fields k, n | sort k asc, n desc",
        json_docs({"k": "b", "n": 1}, {"k": "a", "n": 1}, {"k": "b", "n": 3}, {"k": "a", "n": 2}),
    )
    assert [(r["k"], r["n"]) for r in rows] == [("a", 2), ("a", 1), ("b", 3), ("b", 1)]


def test_sort_by_form_of_the_lambda_console() -> None:
    # "sort by @billedDuration desc" (the Lambda console's most expensive requests)
    rows = run_query("fields n | sort by n desc", json_docs({"n": 2}, {"n": 9}, {"n": 5}))
    assert column(rows, "n") == [9, 5, 2]


def test_no_sort_means_timestamp_descending() -> None:
    events = documents([Event("b", T0 + 2000), Event("a", T0), Event("c", T0 + 5000)])
    rows = run_query("fields @timestamp, @message", events)
    assert rows == [
        {"@timestamp": stamp(T0 + 5000), "@message": "c"},
        {"@timestamp": stamp(T0 + 2000), "@message": "b"},
        {"@timestamp": stamp(T0), "@message": "a"},
    ]


# --- limit --------------------------------------------------------------------------


def test_limit_after_sort_keeps_the_first_rows() -> None:
    # floci limitTruncatesResultsAfterSort; Grafana "the 25 most recently added log events"
    events = docs("one", "two", "three", "four")
    rows = run_query("fields @timestamp, @message | sort @timestamp desc | limit 2", events)
    assert column(rows, "@message") == ["four", "three"]


def test_sort_limit_display_from_the_documentation() -> None:
    # "sort @timestamp desc | limit 25 | display f1, f2" (2022 syntax page)
    events = json_docs(*({"f1": i, "f2": -i, "f3": 0} for i in range(30)))
    rows = run_query("sort @timestamp desc | limit 25 | display f1, f2", events)
    assert rows == [{"f1": i, "f2": -i} for i in range(29, 4, -1)]


def test_no_limit_means_ten_thousand_rows() -> None:
    events = documents(Event(f"m{i}", T0 + i) for i in range(10_001))
    rows = run_query("fields @message", events)
    assert len(rows) == 10_000
    assert rows[0] == {"@message": "m10000"}
    assert rows[-1] == {"@message": "m1"}


def test_stats_see_every_event_past_ten_thousand() -> None:
    events = documents(Event("x", T0 + i) for i in range(10_001))
    assert run_query("stats count(*) as n", events) == [{"n": 10_001}]


# --- the time range -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (T0 + 1000, T0 + 2000, ["c", "b"]),  # both ends inclusive
        (T0 + 1001, T0 + 1999, []),
        (T0 + 1, None, ["c", "b"]),
        (None, T0, ["a"]),
        (None, None, ["c", "b", "a"]),
    ],
)
def test_time_range_is_inclusive(start: int | None, end: int | None, expected: list[str]) -> None:
    # gopherstack TestInsightsQuery_TimeRange, floci startQueryRespectsTimeWindow
    rows = run_query("fields @message", docs("a", "b", "c"), start_ms=start, end_ms=end)
    assert column(rows, "@message") == expected


# --- parse --------------------------------------------------------------------------

ERROR_LINE = (
    "25 May 2019 10:24:39,474 [ERROR] {foo=2, bar=data} The error was: DataIntegrityException"
)


@pytest.mark.parametrize(
    "query",
    [
        'parse @message "[*] * The error was: *" as level, config, exception',
        r"parse @message /\[(?<level>\S+)\]\s+(?<config>\{.*\})\s+The error was: (?<exception>\S+)/",
    ],
    ids=["glob", "regex"],
)
def test_parse_the_documentations_error_line(query: str) -> None:
    rows = run_query(query + " | display level, config, exception", docs(ERROR_LINE))
    assert rows == [
        {"level": "ERROR", "config": "{foo=2, bar=data}", "exception": "DataIntegrityException"}
    ]


def test_parse_keeps_events_that_do_not_match() -> None:
    # "If a log event doesn't match the specified pattern, you still see it in the results,
    # but without the extracted fields." (parse page); vorpalstacks TestParseGlobExtraction
    rows = run_query(
        'parse @message "GET * *" as path, status | fields @message, path, status | sort @timestamp asc',
        docs("GET /index.html 200", "POST /other", "GET /missing 404"),
    )
    assert rows == [
        {"@message": "GET /index.html 200", "path": "/index.html", "status": "200"},
        {"@message": "POST /other"},
        {"@message": "GET /missing 404", "path": "/missing", "status": "404"},
    ]


def test_parse_regex_named_group_vpc_eni() -> None:
    # parse page: parse @message /(?<NetworkInterface>eni-.*?) / | display NetworkInterface, @message
    line = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
    rows = run_query(
        "parse @message /(?<NetworkInterface>eni-.*?) / | display NetworkInterface, @message",
        docs(line),
    )
    assert rows == [{"NetworkInterface": "eni-1235b8ca123456789", "@message": line}]


def test_parse_glob_then_average_by_two_fields() -> None:
    # parse page: parse @message "user=*, method:*, latency := *" as @user, @method, @latency
    #   | stats avg(@latency) by @method, @user
    lines = [("u1", "GET", 216), ("u1", "GET", 100), ("u2", "PUT", 30), ("u1", "PUT", 7)]
    rows = run_query(
        'parse @message "user=*, method:*, latency := *" as @user, @method, @latency'
        " | stats avg(@latency) as a by @method, @user",
        docs(
            *(f"25 May 2019 10:24:39,474 user={u}, method:{m}, latency := {n}" for u, m, n in lines)
        ),
    )
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for u, m, n in lines:
        groups[(m, u)].append(n)
    assert {(r["@method"], r["@user"]): r["a"] for r in rows} == pytest.approx(
        {k: statistics.mean(v) for k, v in groups.items()}
    )


def test_parse_regex_then_average() -> None:
    # the parse page's regex variant; its last group made greedy-safe (\d+) since a lazy
    # group at the end of a pattern matches the empty string
    lines = [("alice", "GET", 12), ("bob", "POST", 34), ("alice", "GET", 20)]
    rows = run_query(
        r"parse @message /user=(?<user2>.*?), method:(?<method2>.*?), latency := (?<latency2>\d+)/"
        " | stats avg(latency2) as a by method2, user2",
        docs(*(f"user={u}, method:{m}, latency := {n}" for u, m, n in lines)),
    )
    assert {(r["method2"], r["user2"]): r["a"] for r in rows} == pytest.approx(
        {("GET", "alice"): statistics.mean([12, 20]), ("POST", "bob"): 34}
    )


def test_chained_parse() -> None:
    # parse page: parse @message "url=*" as url | parse url "/api/*/users/*" as apiVersion, userId
    rows = run_query(
        'parse @message "url=*" as url | parse url "/api/*/users/*" as apiVersion, userId'
        " | display apiVersion, userId",
        docs("url=/api/v2/users/1234"),
    )
    assert rows == [{"apiVersion": "v2", "userId": "1234"}]


def test_parse_the_log_stream() -> None:
    # parse page: parse @logStream "*/*/*/*" as env, service, instance, shard
    #   | stats count(*) by env, service
    events = documents(
        [
            Event("a", T0, log_stream="prod/api/i-1/0"),
            Event("b", T0 + 1, log_stream="prod/api/i-2/1"),
            Event("c", T0 + 2, log_stream="dev/api/i-3/0"),
            Event("d", T0 + 3, log_stream="prod/web/i-4/0"),
        ]
    )
    rows = run_query(
        'parse @logStream "*/*/*/*" as env, service, instance, shard'
        " | stats count(*) as n by env, service",
        events,
    )
    assert {(r["env"], r["service"]): r["n"] for r in rows} == {
        ("prod", "api"): 2,
        ("dev", "api"): 1,
        ("prod", "web"): 1,
    }


def test_parse_without_a_field_reads_the_message() -> None:
    # parse page (current): "If fieldName is omitted, @message is used by default."
    rows = run_query('parse "user=*;" as u | display u', docs("user=ann;"))
    assert rows == [{"u": "ann"}]


def test_parsed_status_compares_as_a_number() -> None:
    # datetime functions table, now(): parse "Status Code: *;" as statusCode
    #   | filter statusCode >= 400 and statusCode <= 499
    events = docs(*(f"GET /x Status Code: {c}; done" for c in (200, 404, 499, 500, 401)))
    rows = run_query(
        'parse @message "Status Code: *;" as statusCode'
        " | filter statusCode >= 400 and statusCode <= 499 | display statusCode | sort @timestamp asc",
        events,
    )
    assert rows == [{"statusCode": "404"}, {"statusCode": "499"}, {"statusCode": "401"}]


# --- dedup --------------------------------------------------------------------------

SERVERS = [
    # (offset ms, server, severity, message)
    (0, "a", "INFO", "a-old"),
    (1000, "b", "WARN", "b-old"),
    (2000, "a", "WARN", "a-mid"),
    (3000, None, "INFO", "no-server-1"),
    (4000, "a", "INFO", "a-new"),
    (5000, "b", "WARN", "b-new"),
    (6000, None, "INFO", "no-server-2"),
]


def _server_events() -> list[dict]:
    order = [3, 0, 6, 2, 5, 1, 4]  # not in time order
    events = []
    for i in order:
        offset, server, severity, message = SERVERS[i]
        body = {"severity": severity, "message": message}
        if server is not None:
            body["server"] = server
        events.append(Event(orjson.dumps(body).decode(), T0 + offset))
    return documents(events)


def test_dedup_keeps_the_first_in_sort_order_and_every_null() -> None:
    # dedup page: "fields @timestamp, server, severity, message | sort @timestamp desc
    # | dedup server"; "Log events with null values for any of the specified fields are
    # retained."
    rows = run_query(
        "fields @timestamp, server, severity, message | sort @timestamp desc | dedup server",
        _server_events(),
    )
    assert column(rows, "message") == ["no-server-2", "b-new", "a-new", "no-server-1"]


def test_dedup_without_sort_uses_timestamp_descending() -> None:
    # "If the results are not sorted before being run through dedup, then the default
    # descending sort order using @timestamp is used." (floci dedupWithoutSortKeepsNewest)
    rows = run_query("fields server, message | dedup server", _server_events())
    assert column(rows, "message") == ["no-server-2", "b-new", "a-new", "no-server-1"]


def test_dedup_after_an_ascending_sort_keeps_the_oldest() -> None:
    # Grafana's cheat sheet titles "sort @timestamp asc | dedup server" the most recent
    # event per server; by the dedup page the first in sort order is kept: the oldest.
    rows = run_query(
        "fields @timestamp, server, severity, message | sort @timestamp asc | dedup server",
        _server_events(),
    )
    assert column(rows, "message") == ["a-old", "b-old", "no-server-1", "no-server-2"]


def test_dedup_on_several_fields() -> None:
    rows = run_query(
        "fields server, severity, message | sort @timestamp desc | dedup server, severity",
        _server_events(),
    )
    assert column(rows, "message") == [
        "no-server-2",
        "b-new",
        "a-new",
        "no-server-1",
        "a-mid",
    ]


def test_dedup_then_limit() -> None:
    # "The only query command that you can use in a query after the dedup command is limit."
    rows = run_query(
        "fields message | sort @timestamp desc | dedup server | limit 2", _server_events()
    )
    assert column(rows, "message") == ["no-server-2", "b-new"]


def test_dedup_with_filter_before_it() -> None:
    # floci APP_QUERY: filter, filter, sort, dedup @timestamp, @message
    events = documents(
        [
            Event('{"level":"INFO","message":"alpha","params":{"job_id":"JOB-1"}}', T0 + 2000),
            Event('{"level":"TRACE","message":"trace","params":{"job_id":"JOB-1"}}', T0 + 3000),
            Event('{"level":"INFO","message":"other","params":{"job_id":"JOB-2"}}', T0 + 4000),
            Event('{"level":"INFO","message":"alpha","params":{"job_id":"JOB-1"}}', T0 + 2000),
            Event('{"level":"DEBUG","message":"delta","params":{"job_id":"JOB-1"}}', T0 + 5000),
        ]
    )
    query = """fields @timestamp, @message
            | filter params.job_id = 'JOB-1'
            | filter level != 'TRACE'
            | sort @timestamp desc
            | dedup @timestamp, @message"""
    rows = run_query(query, events)
    assert [orjson.loads(m)["message"] for m in column(rows, "@message")] == ["delta", "alpha"]


# --- unnest -------------------------------------------------------------------------


def test_unnest_the_documentations_events() -> None:
    # unnest page: fields jsonParse(@message) as json_message
    #   | unnest json_message.events into event | display event.name
    rows = run_query(
        "fields jsonParse(@message) as json_message | unnest json_message.events into event"
        " | display event.name",
        docs('{"events": [{"name": "exception"}, {"name": "user action"}]}'),
    )
    assert sorted(column(rows, "event.name")) == ["exception", "user action"]
    assert all(list(row) == ["event.name"] for row in rows)


def test_unnest_then_filter_items() -> None:
    # unnest page: unnest js.accounts into account | filter account.type = "internal"
    message = orjson.dumps(
        {
            "accounts": [
                {"id": "1", "type": "internal"},
                {"id": "2", "type": "external"},
                {"id": "3", "type": "internal"},
            ]
        }
    ).decode()
    rows = run_query(
        "fields jsonParse(@message) as js | unnest js.accounts into account"
        ' | filter account.type = "internal" | display account.id',
        docs(message),
    )
    assert sorted(column(rows, "account.id")) == ["1", "3"]


def test_unnest_then_aggregate() -> None:
    # unnest page: unnest accounts into account | stats sum(account.droppedSpans) as n
    #   by account.accountId | sort n desc | limit 10
    batches = [
        [{"accountId": "a", "droppedSpans": 2}, {"accountId": "b", "droppedSpans": 5}],
        [{"accountId": "a", "droppedSpans": 4}, {"accountId": "c", "droppedSpans": 1}],
    ]
    rows = run_query(
        "fields jsonParse(@message) as accounts | unnest accounts into account"
        " | stats sum(account.droppedSpans) as n by account.accountId | sort n desc | limit 10",
        docs(*(orjson.dumps(b).decode() for b in batches)),
    )
    totals: Counter[str] = Counter()
    for batch in batches:
        for item in batch:
            totals[item["accountId"]] += item["droppedSpans"]
    assert [(r["account.accountId"], r["n"]) for r in rows] == totals.most_common()


def test_unnest_copies_the_other_fields() -> None:
    # "Each record includes the unnested_field ... All other fields come from the original record."
    rows = run_query(
        "fields host, jsonParse(@message) as j | unnest j.items into item | display host, item",
        docs('{"host": "web", "items": ["apple", "banana", "cherry"]}'),
    )
    assert sorted((r["host"], r["item"]) for r in rows) == [
        ("web", "apple"),
        ("web", "banana"),
        ("web", "cherry"),
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('{"events": {"name": "solo"}}', [{"event.name": "solo"}]),  # a MAP: one item
        ('{"events": "text"}', [{"event": "text"}]),  # a String: one item
        ('{"events": 7}', [{"event": 7}]),  # a number: one item
    ],
)
def test_unnest_treats_other_types_as_one_item(message: str, expected: list[dict]) -> None:
    # "Any other types, such as MAP, String and numbers, are treated as a list with one item"
    (name,) = expected[0]
    rows = run_query(
        f"fields jsonParse(@message) as j | unnest j.events into event | display {name}",
        docs(message),
    )
    assert rows == expected


# --- SOURCE -------------------------------------------------------------------------


def test_source_log_groups_by_name_prefix() -> None:
    # SOURCE page: SOURCE logGroups(namePrefix: [...]) selects the log groups
    events = documents(
        [
            Event("o1", T0, "/aws/lambda/orders"),
            Event("p1", T0 + 1, "/aws/lambda/payments"),
            Event("o2", T0 + 2, "/aws/lambda/orders-eu"),
            Event("x1", T0 + 3, "/ecs/orders"),
        ]
    )
    rows = run_query(
        "SOURCE logGroups(namePrefix: ['/aws/lambda/ord', '/ecs/']) | fields @message"
        " | sort @timestamp asc",
        events,
    )
    assert column(rows, "@message") == ["o1", "o2", "x1"]


# --- comments, backquotes, keywords -------------------------------------------------


def test_a_commented_line_is_ignored() -> None:
    # the 2022 syntax page's comment example: the second line is ignored
    query = """fields @timestamp, @message
    # | filter @message like /delay/
    | limit 20"""
    rows = run_query(query, docs("delay 1", "fine", "delay 2"))
    assert column(rows, "@message") == ["delay 2", "fine", "delay 1"]


def test_comments_at_the_start_and_the_end_of_lines() -> None:
    # vorpalstacks: "fields @message # trailing comment | limit 3" keeps the limit out
    query = "# top comment\nfields @message # trailing comment | limit 1\n| sort @timestamp asc"
    rows = run_query(query, docs("a", "b", "c"))
    assert column(rows, "@message") == ["a", "b", "c"]


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    rows = run_query('filter @message like "#1" | fields @message', docs("item #1", "item #2"))
    assert rows == [{"@message": "item #1"}]


def test_backquoted_field_in_a_filter() -> None:
    # pfeilbr/aws-cloudwatch-logs-insights-playground: fields `detail-type` | filter source = ...
    events = json_docs(
        {"detail-type": "CodePipeline Stage Execution State Change", "source": "aws.codepipeline"},
        {"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"},
    )
    rows = run_query("fields `detail-type` | filter source = 'aws.codepipeline'", events)
    assert rows == [{"detail-type": "CodePipeline Stage Execution State Change"}]


def test_keywords_are_case_insensitive() -> None:
    # parse page: FIELDS @message | PARSE @message "* [*] *" as ... | FILTER loggingType IN [...]
    query = """FIELDS @message
| PARSE @message "* [*] *" AS loggingTime, loggingType, loggingMessage
| FILTER loggingType IN ["ERROR", "INFO"] AND loggingMessage NOT LIKE "skip"
| SORT @timestamp ASC
| LIMIT 5
| DISPLAY loggingMessage, loggingType"""
    rows = run_query(
        query,
        docs(
            "10:00 [ERROR] disk full",
            "10:01 [DEBUG] noise",
            "10:02 [INFO] started",
            "10:03 [INFO] skip me",
        ),
    )
    assert rows == [
        {"loggingMessage": "disk full", "loggingType": "ERROR"},
        {"loggingMessage": "started", "loggingType": "INFO"},
    ]


def test_keywords_of_stats_are_case_insensitive() -> None:
    rows = run_query("STATS count(*) AS n BY level", json_docs({"level": "a"}, {"level": "a"}))
    assert rows == [{"level": "a", "n": 2}]  # a dict comparison: column order aside


def test_a_query_over_no_events() -> None:
    assert run_query("fields @message | sort @timestamp desc | limit 5", []) == []


def test_the_events_are_not_changed() -> None:
    events = spaced("a", "b")
    indexed = documents(events)
    before = orjson.dumps(indexed)
    run_query("fields toupper(@message) as m | sort m desc", indexed)
    assert orjson.dumps(indexed) == before
