"""configs/prometheus/alerts.yml: valid, unit-tested, wired in, and on metrics the daemon exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from consumers.prometheus.export import DerivedMetricsExporter
from consumers.prometheus.health import HealthMetrics
from pipeline.invocations import LAMBDA_METRICS, InvocationSample, InvocationTracker
from pipeline.lambda_platform import FunctionRef, parse_platform_line
from pipeline.traces.service_map import EDGE_OUTCOMES, EdgeSample
from tests.conftest import PROJECT_ROOT

PROMETHEUS = PROJECT_ROOT / "configs" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts_test.yml"
METRIC_NAME = re.compile(r"\bcwlpipe_[a-z_]+")

# One invocation that does everything a function can do wrong, as Lambda logs it.
LAMBDA_LINES = [
    "START RequestId: 0000abcd-1e2c Version: $LATEST",
    "REPORT RequestId: 0000abcd-1e2c\tDuration: 3016.78 ms\tBilled Duration: 3100 ms"
    "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tInit Duration: 84.00 ms"
    "\tRestore Duration: 1 ms\tStatus: timeout",
    "INIT_REPORT Init Duration: 9999.79 ms\tPhase: init\tStatus: timeout",
    "2024-03-04T17:22:38.033Z 0000abcd-1e2c Task timed out after 3.00 seconds",
]


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def daemon_exposition() -> str:
    """What the daemon's ``/metrics`` serves once it has seen a Lambda invocation and traces."""
    tracker = InvocationTracker()
    samples: list[InvocationSample] = []
    for line in LAMBDA_LINES:
        event = parse_platform_line(line)
        assert event is not None, line
        samples += tracker.observe(FunctionRef("orders", "$LATEST"), "stream", event)
    exporter = DerivedMetricsExporter()
    exporter.observe_invocations(samples)
    exporter.observe_edges(
        EdgeSample("api", "orders", "AWS::Lambda::Function", outcome, 0.1)
        for outcome in EDGE_OUTCOMES
    )
    return HealthMetrics(exporter).exposition().decode()


SERIES_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def exported_names() -> set[str]:
    """Every series name in the exposition, and those of families with no series yet
    (``cwlpipe_consumer_lag_records`` has one per assigned partition; none before)."""
    names = set()
    for family in text_string_to_metric_families(daemon_exposition()):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ())}
    return names


def test_the_exposition_has_every_lambda_metric() -> None:
    # the sample invocation above must keep exercising everything the rules could use
    names = exported_names()
    for metric in LAMBDA_METRICS:
        kind = LAMBDA_METRICS[metric].kind
        suffix = "_bucket" if kind == "histogram" else ""
        assert f"cwlpipe_lambda_{metric}{suffix}" in names


def test_every_metric_in_the_rules_is_one_the_daemon_exports() -> None:
    used: set[str] = set()
    for rule in rules():
        texts = [rule["expr"], *rule["annotations"].values()]
        used |= {name for text in texts for name in METRIC_NAME.findall(text)}
    # the pattern finds the names: a sample of what the rules are known to use
    assert {
        "cwlpipe_consumer_lag_records",
        "cwlpipe_dead_letters_total",
        "cwlpipe_lambda_duration_seconds_bucket",
        "cwlpipe_lambda_timeout_seconds",
        "cwlpipe_xray_edge_fault_total",
    } <= used
    assert sorted(used - exported_names()) == []


def test_every_rule_has_a_duration_a_severity_and_annotations() -> None:
    found = rules()
    assert len(found) >= 12
    for rule in found:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_every_rule_has_a_test_that_fires_it_and_one_that_does_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in load(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in rules()}
    assert alerts - fired == set()
    assert alerts - quiet == set()
    assert load(RULE_TESTS)["rule_files"] == [RULES.name]


def test_promtool_checks_the_rules(promtool: str) -> None:
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout.decode()


def test_promtool_unit_tests_pass(promtool: str) -> None:
    tested = subprocess.run([promtool, "test", "rules", str(RULE_TESTS)], capture_output=True)
    assert tested.returncode == 0, tested.stdout.decode() + tested.stderr.decode()


def test_prometheus_and_compose_load_the_rules(promtool: str) -> None:
    config = PROMETHEUS / "prometheus.yml"
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert "SUCCESS: 1 rule files found" in checked.stdout.decode()
    rule_files = load(config)["rule_files"]
    assert rule_files == ["alerts.yml"]
    # docker-compose mounts the rules where the config (in /etc/prometheus) looks for them
    service = load(PROJECT_ROOT / "docker-compose.yml")["services"]["prometheus"]
    mounts = {
        target: PROJECT_ROOT / source
        for source, target, *_ in (volume.split(":") for volume in service["volumes"])
    }
    assert mounts["/etc/prometheus/prometheus.yml"].resolve() == config
    assert mounts["/etc/prometheus/alerts.yml"].resolve() == RULES
