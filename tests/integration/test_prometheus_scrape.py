"""A real Prometheus scrapes the exporter and gives the derived values back through its API."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from consumers.config.service import parse_config
from consumers.devtools.local_servers import free_port
from consumers.prometheus.export import DerivedMetricsExporter, exporter_for
from pipeline.derived_metrics import MetricsDeriver
from pipeline.payload import decode
from tests.payloads import data_message

pytestmark = pytest.mark.integration

CONFIG = """
metric_filters:
  - filterName: slow
    filterPattern: '{ $.latency_ms > 100 }'
    metricTransformations:
      - metricName: SlowRequests
        metricNamespace: Api
        metricValue: $.latency_ms
        unit: Milliseconds
        dimensions: {Route: $.route}
"""
MESSAGES = [
    "START RequestId: r1 Version: $LATEST",
    '{"latency_ms": 250, "route": "/cart"}',
    '{"latency_ms": 50, "route": "/cart"}',
    "REPORT RequestId: r1\tDuration: 300.0 ms\tBilled Duration: 300 ms\tMemory Size: 512 MB\t"
    "Max Memory Used: 90 MB\tInit Duration: 150.0 ms",
    "REPORT RequestId: r2\tDuration: 3000.0 ms\tBilled Duration: 3000 ms\tMemory Size: 512 MB\t"
    "Max Memory Used: 90 MB\tStatus: timeout",
]
DEADLINE_SECONDS = 60


def wait_for(condition: Callable[[], Any], what: str, process: subprocess.Popen[bytes]) -> Any:
    """Poll until ``condition`` gives a truthy value: Prometheus has no way to push readiness."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited with {process.returncode} before {what}")
        try:
            result = condition()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def exporter_url() -> Iterator[tuple[str, DerivedMetricsExporter]]:
    config = parse_config(CONFIG)
    deriver = MetricsDeriver(config.core)
    exporter = exporter_for(config)
    (batch,) = decode(data_message(MESSAGES))
    derived = deriver.derive(batch)
    exporter.observe(derived)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}", exporter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def prometheus(
    prometheus_binary: str,
    exporter_url: tuple[str, DerivedMetricsExporter],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    target, _ = exporter_url
    tmp_path = tmp_path_factory.mktemp("prometheus")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: cwlpipe\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    address = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={address}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://{address}", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def scalar(base: str, promql: str, process: subprocess.Popen[bytes]) -> float:
    (series,) = wait_for(lambda: query(base, promql), f"a value for {promql}", process)
    return float(series["value"][1])


def test_prometheus_scrapes_and_reads_back_the_derived_metrics(
    prometheus: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = prometheus
    assert scalar(base, 'up{job="cwlpipe"}', process) == 1
    assert scalar(base, 'cwlpipe_lambda_invocations_total{function="orders"}', process) == 2
    assert scalar(base, 'cwlpipe_lambda_timeouts_total{function="orders"}', process) == 1
    assert scalar(base, 'cwlpipe_lambda_cold_starts_total{function="orders"}', process) == 1
    assert (
        scalar(base, 'cwlpipe_lambda_duration_seconds_bucket{function="orders",le="0.5"}', process)
        == 1
    )
    assert scalar(base, 'api_slow_requests_seconds_sum{route="/cart"}', process) == 0.25
    assert scalar(base, 'api_slow_requests_seconds_count{route="/cart"}', process) == 1
    cost = scalar(base, 'cwlpipe_lambda_estimated_cost_usd_total{function="orders"}', process)
    assert cost == pytest.approx(2 * 0.0000002 + 3.3 * 0.5 * 0.0000166667)


def test_prometheus_sees_a_healthy_target(
    prometheus: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = prometheus

    def healthy() -> bool:
        with urllib.request.urlopen(f"{base}/api/v1/targets", timeout=5) as response:
            targets = json.load(response)["data"]["activeTargets"]
        return bool(targets) and all(t["health"] == "up" and not t["lastError"] for t in targets)

    assert wait_for(healthy, "a healthy scrape", process)
