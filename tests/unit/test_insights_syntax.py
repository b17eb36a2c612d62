"""Logs Insights syntax: every documented example query parses, and an invalid query
raises ``InsightsError`` with the 0-based position of the fault and a message naming
what was expected.

Sources of the valid queries: the query syntax pages (fields, display, filter, stats
with two stats commands, sort, limit, parse, dedup, unnest, SOURCE, comments, aliases),
the operations-and-functions page, the 2022 archived syntax page (awsdocs/amazon-
cloudwatch-logs-user-guide @10ee522), Grafana's cheat sheet samples (general, Lambda,
VPC, Route 53, CloudTrail, AppSync, IoT; grafana/grafana-cloudwatch-datasource
sampleQueries.ts) and moto test_query_parser.py. Sources of the invalid ones: the stats
page's "Notes and limitations" (at most two stats; sort/limit only after the second;
the second sees only the first's fields), the dedup page (only limit after dedup), the
parse page (as many aliases as wildcards) and vorpalstacks query_engine_test.go
(TestValidateQueryPipelineRules, TestLikeWithoutPatternOffset, unknown command offsets).
"""

from __future__ import annotations

import pytest

from pipeline.insights import InsightsError, parse_query, run_query
from tests.insights_events import docs

VALID = [
    # the 2022 syntax page and the current command pages
    'fields @message\n    | parse @message "[*] *" as loggingType, loggingMessage\n    | filter loggingType = "ERROR"\n    | display loggingMessage',
    "fields `foo-bar`, action, abs(f3-f4)",
    "fields concat(Operation, '-', StatusCode) as opStatus",
    "fields f1, f2, f3 | filter (duration>2000)",
    "filter (duration>2000)",
    "fields f1, f2 | filter (f1=10 or f3>25)",
    r"fields f1 | filter statusCode like /2\d\d/",
    r"fields f1 | filter statusCode not like /2\d\d/",
    "fields @timestamp, @message\n    | filter statusCode in [300,400,500]",
    'fields @timestamp, @message\n    | filter Type not in ["foo","bar",1]',
    "stats avg (f1) by f2",
    "filter @message like /Exception/\n| stats count(*) as exceptionCount by bin(1h)\n| sort exceptionCount desc",
    "fields f1, f2, f3 | sort f1 desc",
    "sort @timestamp desc | limit 25 | display f1, f2",
    'parse @message "[*] * The error was: *" as level, config, exception',
    r"parse @message /\[(?<level>\S+)\]\s+(?<config>\{.*\})\s+The error was: (?<exception>\S+)/",
    "parse @message /user=(?<user2>.*?), method:(?<method2>.*?), latency := (?<latency2>.*?)/ \n    | stats avg(latency2) by method2, user2",
    "parse @message \"'fieldsA': '*', 'fieldsB': ['*']\" as fld, array",
    "parse @message /(?<NetworkInterface>eni-.*?) / | display NetworkInterface, @message",
    'parse @logStream "*/*/*/*" as env, service, instance, shard\n| stats count(*) by env, service',
    'fields @timestamp, @message\n| filter logGroup in ["example_group"]',
    'fields f1, f2, f3 \n| filter f1 like "Exception"',
    "fields f1, f2, f3 \n| filter f1 =~ /Exception/",
    "fields f1, f2, f3\n| filter f3 like /E*/",
    "fields f1, f2, f3 \n| filter f1 like /(?i)Exception/",
    "fields abs(myField) as AbsoluteValuemyField, myField2",
    "stats avg(f1) as myAvgF1 | sort myAvgF1 desc",
    "fields @timestamp, @message\n    # | filter @message like /delay/\n    | limit 20",
    "fields @timestamp, server, severity, message \n| sort @timestamp desc \n| dedup server",
    "fields jsonParse(@message) as json_message \n| unnest json_message.events into event\n| display event.name",
    'fields jsonParse(@message) as js | unnest js.accounts into account | filter account.type = "internal"',
    "fields jsonParse(trimmedData) as accounts | unnest accounts into account | stats sum(account.droppedSpans) as n by account.accountId | sort n desc | limit 10",
    "fields jsonParse(@message) as json_message\n| stats count() by json_message.status_code",
    'fields jsonParse(@message) as json_message\n| filter json_message.users[1].action = "PutData"',
    'fields jsonParse(@message) as json_message\n| filter json_message.`user.id` = "123"',
    "fields jsonParse(@message) as json_message\n| display toupper(json_message)",
    "SOURCE logGroups(namePrefix: ['/aws/lambda/my-function']) | fields @message",
    "stats count(*) by queryType, bin(1h)",
    "stats avg(myfield1), min(myfield2), max(myfield3) by bin(5m)",
    "stats avg(bytes), max(bytes) by dstAddr",
    "FIELDS strlen(@message) AS message_length\n| STATS sum(message_length)/1024/1024 as logs_mb BY bin(5m)\n| STATS max(logs_mb) AS peak_ingest_mb,\n        min(logs_mb) AS min_ingest_mb,\n        avg(logs_mb) AS avg_ingest_mb",
    "STATS count_distinct(client_ip) AS session_ips,\n      count(*) AS requests BY session_id, client_platform\n| FILTER session_ips > 1\n| STATS count(*) AS multiple_ip_sessions,\n        sum(requests) / count(*) AS avg_session_requests BY client_platform",
    "FIELDS strlen(@message) AS message_length\n| STATS sum(message_length) / 1024 / 1024 AS logs_mb BY BIN(5m) as @t\n| STATS max(logs_mb) AS peak_ingest_mb,\n        min(logs_mb) AS min_ingest_mb,\n        avg(logs_mb) AS avg_ingest_mb BY dateceil(@t, 10m)",
    "STATS sum(x) as sum_x by y, z\n| STATS max(sum_x) as max_x by z",
    "FIELDS strlen(@message) AS message_length\n | STATS sum(message_length) AS ingested_bytes, max(@timestamp) as @t BY @logStream\n | STATS avg(ingested_bytes) BY dateceil(@t, 5m)",
    'parse @message "Status Code: *;" as statusCode\n| filter statusCode >= 400 and statusCode <= 499  \n| filter toMillis(@timestamp) >= (now() * 1000 - 7200000)',
    "fields @timestamp, @message\n| filter @message like /(?i)(error|failure)/\n| filter toMillis(@timestamp) >= (now() * 1000 - 18000000)",
    'parse @message "url=*" as url\n| parse url "/api/*/users/*" as apiVersion, userId\n| display apiVersion, userId',
    # Grafana's cheat sheet (general, Lambda, VPC, Route 53, CloudTrail, AppSync, IoT)
    "fields @timestamp, @message | sort @timestamp desc | limit 25",
    "fields @message | filter @message not like /Exception/",
    "fields @timestamp, server, severity, message\n| sort @timestamp desc\n| dedup server, severity",
    'filter @type = "REPORT" |\n stats avg(@duration), max(@duration), min(@duration) by bin(5m)',
    'filter @type = "REPORT"\n| fields @requestId, @billedDuration\n| sort by @billedDuration desc',
    "filter protocol=17 | stats count(*) by srcAddr",
    'filter logStatus="SKIPDATA"\n| stats count(*) by bin(1h) as t\n| sort t',
    'filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20',
    'filter responseCode="SERVFAIL" | stats count(*) by queryName',
    "stats count(*) by queryType, bin(10m)",
    "stats count(*) by eventSource, eventName, awsRegion",
    'filter eventName="UpdateTrail" and ispresent(errorCode)\n| stats count(*) by userIdentity.arn',
    'filter tlsDetails.tlsVersion in [ "TLSv1", "TLSv1.1" ]\n| stats count(*) as numOutdatedTlsCalls by userIdentity.accountId, recipientAccountId, eventSource, eventName, awsRegion, tlsDetails.tlsVersion, tlsDetails.cipherSuite, userAgent\n| sort eventSource, eventName, awsRegion, tlsDetails.tlsVersion',
    "filter (dstAddr like 'x.x.x.x' and srcAddr like 'y.y.')",
    'fields ispresent(graphQLAPIId) as isApi | filter isApi | filter logType = "RequestSummary" | stats count() as statusCount by statusCode | sort statusCount desc',
    "stats min(duration), max(duration), avg(duration) as avgDur by concat(parentType, '/', fieldName) as fieldKey | filter logType = \"Tracing\" | sort avgDur desc | limit 10",
    "fields @timestamp, eventType, reason, clientId | filter clientId like /sampleClientID/ | filter eventType like /Connect|Disconnect/ | sort @timestamp desc | limit 20",
    # moto test_query_parser.py
    "fields @timestamp",
    "limit 42",
    "sort @timestamp asc",
    "limit 42 | fields @timestamp",
    "sort @fld asc | fields @fld | limit 42",
]


@pytest.mark.parametrize("query", VALID)
def test_documented_queries_parse(query: str) -> None:
    assert parse_query(query) is not None


END = object()


# (query, where the error is: see _position)
INVALID = [
    ("fields @message | frobnicate", "frobnicate"),  # not a command
    ("fields @message\n| frobnicate x", "frobnicate"),  # offsets count the newline
    ('parse @message "zz * zzz" as p | bogus p', "bogus"),  # vorpalstacks: not the literal
    ("FIELDS @message | FROB", "FROB"),
    ("fields @message |", END),  # a command expected
    ("fields @message | | limit 1", ("| limit",)),
    ("fields", END),  # a field expected
    ("fields a,, b", ", b"),  # the second comma
    ("display", END),
    ("filter @message like", END),  # vorpalstacks TestLikeWithoutPatternOffset
    ('filter @message like "abc', '"abc'),  # an unterminated string
    ("filter @message like 'abc", "'abc"),
    ("filter @message like /abc", "/abc"),  # an unterminated regex
    ("filter (duration > 2000", END),  # a ) expected
    ("filter a = 1 )", ")"),
    ("filter a =", END),
    ('filter @message like "a" and', END),
    ("filter a in [1, 2", END),
    ("filter a in 1, 2", "1, 2"),  # a [ expected
    ("fields `unterminated", "`unterminated"),
    ("limit abc", "abc"),  # a number expected
    ("limit", END),
    ("fields @message | limit 5 extra", "extra"),
    ("sort @timestamp sideways", "sideways"),
    ("stats count(*) by", END),
    ("stats", END),
    ("stats count(*) by bin(5x)", ("5x", "bin(5x)")),  # not a bin unit
    ("stats count(* by bin(5m)", "by"),
    ("fields frob(@message)", "frob"),  # not a function
    ("fields substr(@message)", ("substr", ")")),  # substr takes two or three arguments
    ("unnest j.events", END),  # into expected
    ("unnest j.events into", END),
    ('parse @message "[*] *" as level', ('"[*] *"', "level")),  # two * for one alias
    ("parse @message /(?<x>abc/", "/(?<x>abc/"),  # not a valid regex
    # dedup: "The only query command that you can use in a query after the dedup command
    # is limit."
    ("fields @message | dedup server | filter server = 'a'", "filter"),
    ("fields @message | dedup server | sort @timestamp desc", "sort @timestamp"),
    ("fields @message | dedup", END),  # vorpalstacks: field-less dedup rejected
    # stats page: "A query can have a maximum of two stats commands."
    ("stats count(*) as c by bin(5m) | stats max(c) as m | stats count(*)", ("stats count(*)",)),
    # "If you use a sort or limit command, it must appear after the second stats command."
    ("stats count(*) as c by bin(5m) | sort c desc | stats max(c)", ("sort c", "stats max")),
    ("stats count(*) as c by bin(5m) | limit 3 | stats max(c)", ("limit 3", "stats max")),
    # "In the second stats command ... you can refer only to fields that are defined in
    # the first stats command."
    (
        "FIELDS @message | STATS SUM(Fault) by Operation | STATS MAX(strlen(@message)) AS MaxMessageSize",
        ("@message)) AS",),
    ),
    ("STATS sum(x) as sum_x by y, z | STATS max(sum_x) as max_x by y2", ("y2",)),
    # "you can't use bin in the second stats command without using the first stats command
    # to propagate the timestamp field"
    (
        "FIELDS strlen(@message) AS message_length | STATS sum(message_length) AS ingested_bytes BY @logStream | STATS avg(ingested_bytes) BY bin(5m)",
        ("bin(5m)",),
    ),
]


def _position(query: str, where) -> tuple[int, ...]:
    """The acceptable positions: the end, the first index of a substring, or the last
    index of any of a tuple's substrings."""
    if where is END:
        return (len(query),)
    if isinstance(where, str):
        return (query.index(where),)
    return tuple(query.rindex(w) for w in where)


@pytest.mark.parametrize(("query", "where"), INVALID)
def test_invalid_queries_raise_with_the_position(query: str, where) -> None:
    with pytest.raises(InsightsError) as caught:
        parse_query(query)
    error = caught.value
    assert error.position in _position(query, where), (error.position, str(error))
    assert "expected" in str(error).lower() or "expect" in str(error).lower(), str(error)


@pytest.mark.parametrize(
    "query", ["fields @message | frobnicate", "filter @message like", "limit abc"]
)
def test_run_query_refuses_an_invalid_query(query: str) -> None:
    with pytest.raises(InsightsError):
        run_query(query, docs("a"))


def test_the_position_is_within_the_query() -> None:
    query = "fields @message, @timestamp | filter (a = 1 or | limit 2"
    with pytest.raises(InsightsError) as caught:
        parse_query(query)
    assert 0 <= caught.value.position <= len(query)
    assert caught.value.position >= query.index("or")
