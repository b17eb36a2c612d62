"""``cwlpipe import-cfn``: CloudFormation/SAM templates -> a config that validates and means the same."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumers.cli import main
from consumers.config.service import parse_config
from pipeline.cfn_import import ImportResult, TemplateError, import_templates
from pipeline.metric_filters import compile_metric_filter

# After AWS's documented examples: a web server's log group kept a week, a metric filter
# counting 404s of space-delimited access logs, a subscription filter streaming them out.
DOCS_YAML = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  WebLogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: WebServerLogs
      RetentionInDays: 7
  NotFoundFilter:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Ref WebLogGroup
      FilterPattern: "[ip, identity, user_id, timestamp, request, status_code = 404, size]"
      MetricTransformations:
        - MetricValue: "1"
          MetricNamespace: WebServer/404s
          MetricName: NotFoundCount
  BytesFilter:
    Type: AWS::Logs::MetricFilter
    Properties:
      FilterName: bytes-sent
      LogGroupName: !Ref WebLogGroup
      FilterPattern: "[ip, identity, user_id, timestamp, request, status_code, size]"
      MetricTransformations:
        - MetricValue: $size
          MetricNamespace: WebServer
          MetricName: BytesSent
          Unit: Bytes
          Dimensions:
            - Key: Status
              Value: $status_code
  ToKinesis:
    Type: AWS::Logs::SubscriptionFilter
    Properties:
      RoleArn: !GetAtt DeliveryRole.Arn
      LogGroupName: !Ref WebLogGroup
      FilterPattern: "[host, ident, authuser, date, request, status, bytes]"
      DestinationArn: !GetAtt LogStream.Arn
  LogStream:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  DeliveryRole:
    Type: AWS::IAM::Role
    Properties: {}
"""

ACCESS_LINES = [
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 404 2326',
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /b.gif HTTP/1.0" 200 1534',
    "not an access log line",
]


def run_import(*texts: str) -> ImportResult:
    return import_templates([(f"t{i}.yaml", text) for i, text in enumerate(texts)])


def problems(result: ImportResult) -> set[tuple[str, str]]:
    return {(p.resource, p.property) for p in result.problems}


def round_trip(config: dict[str, Any]) -> Any:
    """The written YAML, through the service's own parser."""
    return parse_config(yaml.safe_dump(config, sort_keys=False), "imported.yaml")


def samples(definition: Any, lines: list[str]) -> list[list[tuple[str, float, Any]]]:
    metric_filter = compile_metric_filter(definition)
    return [
        [(s.name, s.value, s.dimensions) for s in metric_filter.evaluate(line, 1)] for line in lines
    ]


def test_the_documented_example_becomes_a_route_metric_filters_and_retention() -> None:
    result = run_import(DOCS_YAML)
    assert result.problems == ()
    assert result.config["routes"] == [
        {
            "name": "ToKinesis",
            "log_groups": ["WebServerLogs"],
            "filter_pattern": "[host, ident, authuser, date, request, status, bytes]",
            "index_prefix": "cwl-webserverlogs",
            "retention_days": 7,
        }
    ]
    assert [m["LogGroupName"] for m in result.config["metric_filters"]] == ["WebServerLogs"] * 2
    config = round_trip(result.config)
    (route,) = config.core.routes
    assert route.retention_days == 7 and route.matches("WebServerLogs")
    assert [f.name for f in config.core.metric_filters] == ["NotFoundCount", "bytes-sent"]


def test_the_metric_filters_evaluate_as_the_templates_definitions() -> None:
    result = run_import(DOCS_YAML)
    template = yaml.load(DOCS_YAML, Loader=yaml.BaseLoader)["Resources"]
    for logical_id, imported in zip(
        ("NotFoundFilter", "BytesFilter"), result.config["metric_filters"], strict=True
    ):
        original = dict(template[logical_id]["Properties"], LogGroupName="WebServerLogs")
        expected = samples(original, ACCESS_LINES)
        assert samples(imported, ACCESS_LINES) == expected
        assert any(expected) and not all(expected)  # the lines tell match from no match
    parsed = round_trip(result.config).core.metric_filters
    assert [s.value for s in parsed[1].evaluate(ACCESS_LINES[1], 1)] == [1534.0]
    assert parsed[0].applies_to("WebServerLogs") and not parsed[0].applies_to("Other")


def test_a_json_template_with_sub_lists_join_and_getatt_arrays() -> None:
    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "staging"}},
        "Resources": {
            "AppLogs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {
                    "LogGroupName": {"Fn::Join": ["/", ["", "app", {"Ref": "Env"}, "api"]]},
                    "RetentionInDays": 30,
                },
            },
            "Errors": {
                "Type": "AWS::Logs::SubscriptionFilter",
                "Properties": {
                    "LogGroupName": {"Fn::GetAtt": ["AppLogs", "Arn"]},
                    "FilterName": {
                        "Fn::Sub": ["${Name}-errors-${!Literal}", {"Name": {"Ref": "Env"}}]
                    },
                    "FilterPattern": {"Fn::Sub": '{ $.env = "${Env}" && $.level = "ERROR" }'},
                    "DestinationArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/x",
                },
            },
        },
    }
    result = import_templates([("t.json", json.dumps(template, indent=2))])
    assert result.problems == ()
    (route,) = result.config["routes"]
    assert route["name"] == "staging-errors-${Literal}"
    assert route["log_groups"] == ["/app/staging/api"]
    assert route["filter_pattern"] == '{ $.env = "staging" && $.level = "ERROR" }'
    assert route["retention_days"] == 30
    (parsed,) = round_trip(result.config).core.routes
    assert parsed.retention_days == 30 and parsed.matches("/app/staging/api")


SAM = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: prod}
  KeepDays: {Type: Number, Default: 14}
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub orders-${Stage}
      Handler: app.handler
      Runtime: python3.12
  OrdersLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${Orders}
      RetentionInDays: !Ref KeepDays
  OrdersErrors:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Sub "/aws/lambda/${Orders}"
      FilterPattern: "?ERROR ?Exception"
      MetricTransformations:
        - {MetricName: OrderErrors, MetricNamespace: !Ref Stage, MetricValue: "1"}
  Shipper:
    Type: AWS::Serverless::Function
    Properties:
      Handler: ship.handler
      Runtime: python3.12
      Events:
        OrdersLogs:
          Type: CloudWatchLogs
          Properties:
            LogGroupName: !Ref OrdersLogs
            FilterPattern: "{ $.level = \\"ERROR\\" }"
  Nameless:
    Type: AWS::Serverless::Function
    Properties: {Handler: x.handler, Runtime: python3.12}
  NamelessTap:
    Type: AWS::Logs::SubscriptionFilter
    Properties:
      LogGroupName: !Sub /aws/lambda/${Nameless}
      FilterPattern: ""
      DestinationArn: !GetAtt Shipper.Arn
"""


def test_sam_functions_implicit_log_groups_with_parameter_defaults() -> None:
    result = run_import(SAM)
    assert result.config["routes"] == [
        {
            "name": "Shipper-OrdersLogs",
            "log_groups": ["/aws/lambda/orders-prod"],
            "filter_pattern": '{ $.level = "ERROR" }',
            "index_prefix": "cwl-aws-lambda-orders-prod",
            "retention_days": 14,
        }
    ]
    (metric,) = result.config["metric_filters"]
    assert metric["LogGroupName"] == "/aws/lambda/orders-prod"
    assert metric["MetricTransformations"][0]["MetricNamespace"] == "prod"
    # a function without FunctionName has a generated name: reported, not guessed
    (problem,) = result.problems
    assert (problem.resource, problem.property) == ("NamelessTap", "LogGroupName")
    assert "Nameless" in problem.reason and "FunctionName" in problem.reason
    round_trip(result.config)


UNRESOLVABLE = """\
Parameters:
  NoDefault: {Type: String}
Conditions:
  IsProd: !Equals [!Ref "AWS::AccountId", "123456789012"]
Resources:
  Good:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /ok, FilterPattern: "", DestinationArn: x}
  Imported:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: !ImportValue shared-group, FilterPattern: "", DestinationArn: x}
  Chosen:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: /ok
      FilterPattern: ERROR
      MetricTransformations:
        - MetricName: Errors
          MetricNamespace: !If [IsProd, Prod, Dev]
          MetricValue: "1"
  Unknown:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: !Ref Elsewhere, FilterPattern: "", DestinationArn: x}
  Regional:
    Type: AWS::Logs::SubscriptionFilter
    Properties:
      LogGroupName: !Sub /app/${AWS::Region}
      FilterPattern: ""
      DestinationArn: x
  Undefaulted:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Ref NoDefault}
  OnlyInProd:
    Type: AWS::Logs::SubscriptionFilter
    Condition: IsProd
    Properties: {LogGroupName: /prod, FilterPattern: "", DestinationArn: x}
  BadPattern:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /bad, FilterPattern: "{ $.x = ", DestinationArn: x}
  BadMetric:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: /ok
      FilterPattern: "{ $.latency > }"
      MetricTransformations: [{MetricName: Slow, MetricNamespace: App, MetricValue: "1"}]
  Arned:
    Type: AWS::Logs::SubscriptionFilter
    Properties:
      LogGroupName: !Join ["", [!GetAtt Group.Arn, "-copy"]]
      FilterPattern: ""
      DestinationArn: x
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /group, RetentionInDays: 8}
"""


def test_what_cannot_be_resolved_is_reported_by_resource_and_property_and_skipped() -> None:
    result = run_import(UNRESOLVABLE)
    assert problems(result) == {
        ("Imported", "LogGroupName"),
        ("Chosen", "MetricTransformations[0].MetricNamespace"),
        ("Unknown", "LogGroupName"),
        ("Regional", "LogGroupName"),
        ("Undefaulted", "LogGroupName"),
        ("OnlyInProd", "Condition"),
        ("BadPattern", "FilterPattern"),
        ("BadMetric", "FilterPattern"),
        ("Arned", "LogGroupName"),
        ("Group", "RetentionInDays"),
    }
    reasons = {p.resource: p.reason for p in result.problems}
    assert "Fn::ImportValue" in reasons["Imported"]
    assert "Fn::If" in reasons["Chosen"]
    assert "Elsewhere" in reasons["Unknown"]
    assert "AWS::Region" in reasons["Regional"]
    assert "NoDefault" in reasons["Undefaulted"]
    assert all(p.line().startswith("t0.yaml: ") for p in result.problems)
    assert [r["log_groups"] for r in result.config["routes"]] == [["/ok"]]
    assert "metric_filters" not in result.config
    round_trip(result.config)


def test_a_second_subscription_filter_of_a_log_group_is_reported() -> None:
    text = """\
Resources:
  First:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /g, FilterPattern: ERROR, DestinationArn: a}
  Second:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /g, FilterPattern: WARN, DestinationArn: b}
"""
    result = run_import(text)
    assert problems(result) == {("Second", "LogGroupName")}
    assert [r["filter_pattern"] for r in result.config["routes"]] == ["ERROR"]


def test_log_groups_of_one_prefix_spelling_get_their_own_prefix_and_retention() -> None:
    # /App/x and /app/x slug alike; one prefix for both would need one retention
    groups = """\
Resources:
  Upper: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: /App/x, RetentionInDays: 1}}
  Lower: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: /app/x, RetentionInDays: 90}}
"""
    filters = """\
Resources:
  A:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /App/x, FilterPattern: "", DestinationArn: a}
  B:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: "arn:aws:logs:eu-west-1:1:log-group:/app/x:*",
                 FilterPattern: "", DestinationArn: b}
  C:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /undeclared, FilterPattern: "", DestinationArn: c}
  D:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /app/x/2fa, FilterPattern: "", DestinationArn: c}
  E:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: /2024-logs, FilterPattern: "", DestinationArn: c}
"""
    result = run_import(groups, filters)  # log groups declared in another template count
    assert result.problems == ()
    routes = result.config["routes"]
    assert [(r["log_groups"], r["index_prefix"], r["retention_days"]) for r in routes] == [
        (["/App/x"], "cwl-app-x", 1),
        (["/app/x"], "cwl-app-x-v2", 90),
        (["/undeclared"], "cwl-undeclared", "never"),
        (["/app/x/2fa"], "cwl-app-x_2fa", "never"),
        (["/2024-logs"], "cwl_2024-logs", "never"),
    ]
    parsed = round_trip(result.config).core.router().all_routes
    assert [r.retention_days for r in parsed] == [1, 90, None, None, None, None]
    # a route's day indices (<prefix>-2*) are never another route's, default route's included
    for route in parsed:
        today = f"{route.index_prefix}-2026.11.25"
        claimed = [r.name for r in parsed if fnmatch.fnmatchcase(today, r.index_pattern)]
        assert claimed == [route.name]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Resources: [", "not valid YAML"),
        ('{"Resources": ', "not valid JSON"),
        ("just text", "not a template"),
        ("Resources: {A: {Properties: {}}}", "not a template"),
    ],
)
def test_an_unreadable_template_names_file_and_reason(text: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=f"^bad.yaml: {reason}"):
        import_templates([("bad.yaml", text)])


def test_the_command_writes_a_config_validate_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "stack.yaml"
    template.write_text(DOCS_YAML)
    out = tmp_path / "pipeline.yaml"
    assert main(["import-cfn", str(template), "--output", str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert main(["validate", "--config", str(out)]) == 0
    assert "ToKinesis: WebServerLogs" in capsys.readouterr().out
    # stdout by default, and the same config
    assert main(["import-cfn", str(template)]) == 0
    assert capsys.readouterr().out == out.read_text()


def test_the_command_exits_1_when_it_skipped_and_2_for_a_bad_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = tmp_path / "partial.yaml"
    partial.write_text(UNRESOLVABLE)
    assert main(["import-cfn", str(partial)]) == 1
    captured = capsys.readouterr()
    assert "log_groups:\n  - /ok" in captured.out or "- /ok" in captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 10
    assert f"cwlpipe import-cfn: {partial}: Imported.LogGroupName: Fn::ImportValue" in lines[0]
    broken = tmp_path / "broken.json"
    broken.write_text('{"Resources": ')
    assert main(["import-cfn", str(partial), str(broken)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"cwlpipe import-cfn: {broken}: not valid JSON")
    assert main(["import-cfn", str(tmp_path / "missing.yaml")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "missing.yaml: cannot read" in line
