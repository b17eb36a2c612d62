"""The Logs Insights page (``GET /insights``) in a real browser: headless Chromium driven by selenium.

Each test that needs only the API runs twice: against ``cwlpipe serve`` itself (the real
command, over the OpenSearch-compatible store holding the documents below; skipped while the
API is not on the branch), and against a small double of its CloudWatch Logs API, defined here
and used by this test only, which also lets the tests see what the page sends and hold a
query running (Cancel): aiohttp on a free loopback port, ``POST /`` with
``X-Amz-Target: Logs_20140328.<Operation>``, answering DescribeLogGroups (two groups a page,
so the page must follow ``nextToken``), StartQuery (``MalformedQueryException`` for what the
parser refuses), GetQueryResults (``Running`` on the first poll, so the page must poll),
GetLogRecord and StopQuery with the real Insights evaluator over the demo's sample
deliveries (``sample_payloads``) turned into documents by the project's ``Processor``, plus
the real page routes (:func:`consumers.web.page.add_page_routes`). Every expectation comes
from the evaluator directly, not from the double.

Chromium resolves no host but the loopback address (``--host-resolver-rules``), so a page
that reached for anything outside would fail here: that is the "works offline" check.

Screenshots are kept as test artefacts in ``test-artifacts/query-page/`` at the project root
(ignored by git; ``CWLPIPE_TEST_ARTIFACTS`` names another directory).

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them
through ``scripts/system-tools``); without them the tests skip with that reason, and under
``CI`` they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from opensearchpy import AsyncOpenSearch

from consumers.devtools.local_servers import free_port
from consumers.devtools.sample_data import sample_payloads
from consumers.opensearch.templates import index_template, template_name
from consumers.web.page import add_page_routes
from pipeline.config import config_from_mapping
from pipeline.documents import IndexAction, encode_action
from pipeline.errors import InsightsError
from pipeline.insights import Result, evaluate, parse_query
from pipeline.insights.discovered import discovered_fields
from pipeline.insights.functions import to_text
from pipeline.process import Processor
from tests.conftest import PROJECT_ROOT, _tool

pytestmark = pytest.mark.integration

selenium = pytest.importorskip("selenium", reason="selenium (the dev extra) is not installed")

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver import Chrome, ChromeOptions  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

NOW = int(time.time() * 1000)
#: copies of the demo's deliveries in each of the last minutes: several bins of unequal counts
COPIES_PER_MINUTE = (1, 3, 2, 1)
MINUTES = len(COPIES_PER_MINUTE)
LAMBDA_GROUPS = ["/aws/lambda/checkout", "/aws/lambda/orders"]  # what the tests pick
FINAL = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")
WAIT_S = 30
TABLE_QUERY = "fields @timestamp, @message | sort @timestamp desc | limit 20"
CHART_QUERY = "stats count(*) by bin(1m)"


def _documents() -> list[dict[str, Any]]:
    """The demo's good deliveries as indexed documents, once per event id (as the store keeps
    them): ``COPIES_PER_MINUTE[m]`` copies (other seeds, other ids) ``m`` minutes ago."""
    processor = Processor(config_from_mapping({}))
    found: dict[str, dict[str, Any]] = {}
    for minute, copies in enumerate(COPIES_PER_MINUTE):
        for copy in range(copies):
            for payload in sample_payloads(NOW - minute * 60_000, seed=minute * 10 + copy):
                if payload.good:
                    for action in processor.process(payload.data).actions:
                        found[action.id] = action.source
    return list(found.values())


DOCUMENTS = _documents()


def _in_groups(groups: list[str]) -> list[dict[str, Any]]:
    return [d for d in DOCUMENTS if d.get("@log_group") in groups]


def expected(query: str, groups: list[str]) -> Result:
    """What Insights answers over the chosen groups; the page's default range (the last
    hour) holds every document, so no time bounds."""
    return evaluate(parse_query(query), _in_groups(groups))


def as_strings(row: dict[str, Any]) -> dict[str, str]:
    return {name: to_text(value) or "" for name, value in row.items()}


# -- the API double ------------------------------------------------------------------------


@dataclass
class _Query:
    result: Result
    polls: int = 0
    cancelled: bool = False


@dataclass
class ApiDouble:
    """CloudWatch Logs' JSON 1.1 API over ``DOCUMENTS``, as much of it as the page uses."""

    documents: list[dict[str, Any]]
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    queries: dict[str, _Query] = field(default_factory=dict)
    hold: bool = False  # queries stay Running until stopped (to test Cancel)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self._handle)
        add_page_routes(app)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        if request.content_type != "application/x-amz-json-1.1":
            return _error("SerializationException", f"content type {request.content_type}")
        operation = target.removeprefix("Logs_20140328.")
        body = orjson.loads(await request.read())
        self.requests.append((operation, body))
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "DescribeLogGroups": self._describe_log_groups,
            "StartQuery": self._start_query,
            "GetQueryResults": self._get_query_results,
            "GetLogRecord": self._get_log_record,
            "StopQuery": self._stop_query,
        }
        handler = handlers.get(operation) if target.startswith("Logs_20140328.") else None
        if handler is None:
            return _error("UnknownOperationException", f"unknown operation {target!r}")
        try:
            answer = handler(body)
        except _ApiError as error:
            return _error(error.type, error.message, **error.extra)
        return web.json_response(answer, content_type="application/x-amz-json-1.1")

    def _describe_log_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        names = sorted({d["@log_group"] for d in self.documents})
        start = int(body.get("nextToken") or 0)
        size = min(int(body.get("limit", 50)), 2)  # small pages: the page must follow tokens
        page = names[start : start + size]
        answer: dict[str, Any] = {
            "logGroups": [{"logGroupName": n, "arn": f"arn:{n}:*"} for n in page]
        }
        if start + size < len(names):
            answer["nextToken"] = str(start + size)
        return answer

    def _start_query(self, body: dict[str, Any]) -> dict[str, Any]:
        groups = body.get("logGroupNames") or []
        try:
            query = parse_query(body["queryString"])
        except InsightsError as error:
            location = {"startCharOffset": error.position, "endCharOffset": error.position + 1}
            raise _ApiError(
                "MalformedQueryException",
                error.reason,
                queryCompileError={"location": location, "message": error.reason},
            ) from error
        chosen = [d for d in self.documents if d.get("@log_group") in groups]
        result = evaluate(  # seconds, inclusive: the end second whole, as AWS
            query,
            chosen,
            start_ms=int(body["startTime"]) * 1000,
            end_ms=int(body["endTime"]) * 1000 + 999,
        )
        query_id = str(uuid.uuid4())
        self.queries[query_id] = _Query(result)
        return {"queryId": query_id}

    def _get_query_results(self, body: dict[str, Any]) -> dict[str, Any]:
        query = self.queries.get(body.get("queryId", ""))
        if query is None:
            raise _ApiError("ResourceNotFoundException", "no such query")
        query.polls += 1
        statistics = {
            "recordsMatched": float(query.result.matched),
            "recordsScanned": float(query.result.scanned),
            "bytesScanned": 1234.0,
        }
        if query.cancelled:
            return {"status": "Cancelled", "results": [], "statistics": statistics}
        if query.polls == 1 or self.hold:
            return {"status": "Running", "results": [], "statistics": statistics}
        results = []
        for row, pointer in zip(query.result.rows, query.result.pointers, strict=True):
            fields = [{"field": k, "value": v} for k, v in as_strings(row).items()]
            if pointer is not None:
                fields.append({"field": "@ptr", "value": pointer})
            results.append(fields)
        return {"status": "Complete", "results": results, "statistics": statistics}

    def _get_log_record(self, body: dict[str, Any]) -> dict[str, Any]:
        for document in self.documents:
            if document.get("@id") == body.get("logRecordPointer"):
                record = as_strings(discovered_fields(document))
                del record["@ptr"]
                # AWS's shape: times as epoch milliseconds
                millis = str(int(discovered_fields(document)["@timestamp"]))
                record |= {"@timestamp": millis, "@ingestionTime": millis}
                return {"logRecord": record}
        raise _ApiError("ResourceNotFoundException", "no such record")

    def _stop_query(self, body: dict[str, Any]) -> dict[str, Any]:
        query = self.queries.get(body.get("queryId", ""))
        if query is not None:
            query.cancelled = True
        return {"success": query is not None}


class _ApiError(Exception):
    def __init__(self, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message
        self.extra = extra


def _error(type_: str, message: str, **extra: Any) -> web.Response:
    return web.json_response(
        {"__type": type_, "message": message, **extra},
        status=400,
        content_type="application/x-amz-json-1.1",
    )


@contextlib.contextmanager
def _serving(app: web.Application) -> Iterator[str]:
    """``app`` on a free loopback port in a thread of its own (selenium's calls block)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, name="api-double", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api() -> ApiDouble:
    return ApiDouble(DOCUMENTS)


@pytest.fixture(scope="module")
def double_url(api: ApiDouble) -> Iterator[str]:
    with _serving(api.app()) as url:
        yield url


@pytest.fixture(scope="module")
def serve_url(osmem_server: Any) -> Iterator[str]:
    """``cwlpipe serve`` over a store holding ``DOCUMENTS``, as the demo's daemon indexes them."""
    if importlib.util.find_spec("consumers.api") is None:
        pytest.skip("cwlpipe serve (consumers.api, issue 12's API) is not on this branch yet")
    store = osmem_server.clone()
    try:
        asyncio.run(_index(store.url, DOCUMENTS))
        with _cwlpipe_serve(store.url) as url:
            yield url
    finally:
        store.close()


async def _index(store: str, sources: list[dict[str, Any]]) -> None:
    client = AsyncOpenSearch(hosts=[store], timeout=120)
    try:  # the daemon's template first, as cwlpipe run installs it
        await client.indices.put_index_template(
            name=template_name("cwl"), body=index_template("cwl")
        )
        day = time.strftime("%Y.%m.%d", time.gmtime(NOW / 1000))
        body = b"".join(encode_action(IndexAction(f"cwl-{day}", s["@id"], s)) for s in sources)
        answer = await client.bulk(body=body, params={"refresh": "true"})
        assert not answer["errors"]
    finally:
        await client.close()


@contextlib.contextmanager
def _cwlpipe_serve(store: str) -> Iterator[str]:
    """The real command, on a free loopback port; its URL once it says it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CWLPIPE_")}
    env["CWLPIPE_OPENSEARCH_URL"] = store
    command = [sys.executable, "-m", "consumers.cli", "serve", "--listen"]
    server = subprocess.Popen(
        [*command, f"127.0.0.1:{free_port()}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        with selectors.DefaultSelector() as selector:
            selector.register(server.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while not lines or "cwlpipe serve: http" not in lines[-1]:
                left = deadline - time.monotonic()
                assert left > 0 and selector.select(left), f"cwlpipe serve did not start: {lines}"
                line = server.stdout.readline()
                assert line, f"cwlpipe serve exited {server.wait()}: {lines}"
                lines.append(line)
        found = re.search(r"(http://\S+)", lines[-1])
        assert found is not None
        yield found.group(1)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()


@dataclass(frozen=True)
class Server:
    name: str  # in the test ids and the screenshots' names
    url: str


@pytest.fixture(scope="module", params=["double", "serve"])
def server(request: pytest.FixtureRequest) -> Server:
    """The page on the test's API double, then on the real ``cwlpipe serve``."""
    return Server(request.param, request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Chrome]:
    chromium = _tool("chromium", "chromium")
    chromedriver = _tool("chromedriver", "chromium-driver")
    options = ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1100",
        "--no-first-run",
        "--disable-background-networking",
        # nothing resolves but loopback: the page must work offline
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    directory = Path(
        os.environ.get("CWLPIPE_TEST_ARTIFACTS") or PROJECT_ROOT / "test-artifacts"
    ) / ("query-page")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# -- driving the page ----------------------------------------------------------------------


def _wait(driver: Chrome, condition: Callable[[Chrome], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT_S).until(condition, message=f"waiting for {what}")


def open_page(driver: Chrome, base_url: str, groups: list[str]) -> None:
    """A fresh page (nothing remembered) with ``groups`` picked in the log group list."""
    driver.get(f"{base_url}/insights")
    driver.execute_script("window.localStorage.clear()")
    driver.refresh()
    _wait(
        driver,
        lambda d: d.find_element(By.ID, "log-groups").get_attribute("data-state") == "loaded",
        "the log groups",
    )
    picker = Select(driver.find_element(By.ID, "log-groups"))
    for group in groups:
        picker.select_by_visible_text(group)


def run(driver: Chrome, query: str, *, keyboard: bool = False) -> str:
    """Types ``query``, presses Run (or Ctrl+Enter in the editor), waits for the run to end and
    returns its state: a final status of GetQueryResults, ``error`` (the API refused) or
    ``invalid`` (nothing sent)."""
    box = driver.find_element(By.ID, "query")
    box.clear()
    box.send_keys(query)
    # the state the last run left is replaced as soon as Run is pressed
    driver.execute_script("document.getElementById('outcome').dataset.state = 'pressed'")
    if keyboard:
        box.send_keys(Keys.CONTROL, Keys.ENTER)
    else:
        driver.find_element(By.ID, "run").click()

    def ended(d: Chrome) -> str | None:
        state = d.find_element(By.ID, "outcome").get_attribute("data-state")
        return state if state in (*FINAL, "error", "invalid") else None

    return str(_wait(driver, ended, f"{query!r} to finish"))


def table_rows(driver: Chrome) -> list[dict[str, str]]:
    """The results table as column -> cell text (exact, whitespace kept)."""
    return list(
        driver.execute_script(
            """
            const table = document.getElementById('results');
            const names = Array.from(table.tHead.rows[0].cells).slice(2).map(c => c.textContent);
            return Array.from(table.tBodies[0].querySelectorAll('tr.row'), tr => {
              const cells = Array.from(tr.cells).slice(2);
              return Object.fromEntries(names.map((n, i) => [n, cells[i].textContent])
                .filter(([, v]) => v !== ''));
            });
            """
        )
    )


def text_of(element: WebElement) -> str:
    return str(element.get_attribute("textContent"))


# -- the tests -----------------------------------------------------------------------------


def test_the_page_is_served_and_lists_the_log_groups(browser: Chrome, server: Server) -> None:
    open_page(browser, server.url, [])
    assert browser.title.startswith("Logs Insights")
    options = [text_of(o) for o in browser.find_elements(By.CSS_SELECTOR, "#log-groups option")]
    assert options == sorted({d["@log_group"] for d in DOCUMENTS})  # every page of them
    label = browser.find_element(By.CSS_SELECTOR, "label[for='log-groups']")
    assert text_of(label) == "Log groups"
    assert text_of(browser.find_element(By.ID, "run")) == "Run"
    relative = Select(browser.find_element(By.ID, "relative-range"))
    assert int(relative.first_selected_option.get_attribute("value") or 0) >= 300
    # the filter box narrows a long list
    browser.find_element(By.ID, "log-group-filter").send_keys("lambda")
    shown = [
        text_of(o)
        for o in browser.find_elements(By.CSS_SELECTOR, "#log-groups option")
        if not o.get_property("hidden")  # selenium counts any option of a shown list as shown
    ]
    assert shown == sorted(g for g in options if "lambda" in g) and len(shown) < len(options)


def test_a_query_shows_the_statistics_and_the_evaluators_rows(
    browser: Chrome, server: Server, artifacts: Path
) -> None:
    open_page(browser, server.url, LAMBDA_GROUPS)
    assert run(browser, TABLE_QUERY) == "Complete"

    want = expected(TABLE_QUERY, LAMBDA_GROUPS)
    assert want.rows, "the sample data must give rows"
    statistics = text_of(browser.find_element(By.ID, "statistics"))
    assert statistics == f"{want.matched} records matched | {want.scanned} records scanned"
    assert table_rows(browser) == [as_strings(row) for row in want.rows]
    browser.save_screenshot(str(artifacts / f"{server.name}-table.png"))


def test_the_page_sends_the_groups_and_the_last_hour_and_polls(
    browser: Chrome, double_url: str, api: ApiDouble
) -> None:
    open_page(browser, double_url, LAMBDA_GROUPS)
    before = len(api.requests)
    assert run(browser, TABLE_QUERY) == "Complete"
    sent = [body for operation, body in api.requests[before:] if operation == "StartQuery"]
    assert len(sent) == 1
    assert sorted(sent[0]["logGroupNames"]) == sorted(LAMBDA_GROUPS)
    assert sent[0]["queryString"] == TABLE_QUERY
    assert sent[0]["endTime"] - sent[0]["startTime"] in (3600, 3601)  # whole seconds, widened
    assert abs(sent[0]["endTime"] - time.time()) < 60
    polls = [b for op, b in api.requests[before:] if op == "GetQueryResults"]
    assert len(polls) >= 2  # the double answers Running first: the page polls until Complete


def test_a_row_expands_to_all_the_fields_of_its_event(
    browser: Chrome, server: Server, artifacts: Path
) -> None:
    open_page(browser, server.url, LAMBDA_GROUPS)
    assert run(browser, TABLE_QUERY) == "Complete"
    want = expected(TABLE_QUERY, LAMBDA_GROUPS)
    # a row whose event has JSON fields: more than the query's two columns to show
    index = next(
        i for i, pointer in enumerate(want.pointers) if len(discovered_fields(_by_id(pointer))) > 5
    )
    row = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr.row")[index]
    toggle = row.find_element(By.CSS_SELECTOR, "button.expand")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    (cell,) = _wait(
        browser,
        lambda d: row.find_elements(
            By.XPATH, "following-sibling::tr[1][@class='details']/td[@data-state='record']"
        ),
        "the event's fields",
    )
    assert toggle.get_attribute("aria-expanded") == "true"
    shown = {
        text_of(tr.find_element(By.TAG_NAME, "th")): text_of(tr.find_element(By.TAG_NAME, "td"))
        for tr in cell.find_elements(By.CSS_SELECTOR, "table.fields tbody tr")
    }
    event = as_strings(discovered_fields(_by_id(want.pointers[index])))
    del event["@ptr"]
    # GetLogRecord's epoch milliseconds read as the results' times
    assert shown == event | {"@ingestionTime": event["@timestamp"]}
    browser.save_screenshot(str(artifacts / f"{server.name}-expanded-row.png"))

    toggle.click()
    _wait(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#results tr.details"),
        "the row to collapse",
    )


def _by_id(pointer: str | None) -> dict[str, Any]:
    (document,) = [d for d in DOCUMENTS if d.get("@id") == pointer]
    return document


def test_stats_by_bin_draws_one_bar_per_bin(
    browser: Chrome, server: Server, artifacts: Path
) -> None:
    open_page(browser, server.url, LAMBDA_GROUPS)
    assert run(browser, CHART_QUERY) == "Complete"
    want = expected(CHART_QUERY, LAMBDA_GROUPS)
    assert len(want.rows) >= MINUTES - 1, want.rows  # several bins, or the test proves little

    assert browser.find_element(By.ID, "visualization").is_displayed()
    bins = browser.find_elements(By.CSS_SELECTOR, "#chart g.bin")
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert len(bins) == len(bars) == len(want.rows)
    drawn = {
        str(g.get_attribute("data-bin")): float(
            g.find_element(By.CSS_SELECTOR, "rect.bar").get_attribute("data-value") or "nan"
        )
        for g in bins
    }
    assert drawn == {row["bin(1m)"]: float(row["count(*)"]) for row in want.rows}
    # bar heights in proportion to the counts: the chart is drawn to scale from zero
    heights = {
        str(g.get_attribute("data-bin")): float(
            g.find_element(By.CSS_SELECTOR, "rect.bar").get_attribute("height") or "nan"
        )
        for g in bins
    }
    assert len(set(drawn.values())) > 1, "equal counts would not show the scale"
    by_count = sorted(drawn, key=lambda b: drawn[b])
    for lower, higher in itertools.pairwise(by_count):
        ratio = heights[higher] / heights[lower]
        assert ratio == pytest.approx(drawn[higher] / drawn[lower], rel=0.01)
    assert table_rows(browser) == [as_strings(row) for row in want.rows]
    browser.save_screenshot(str(artifacts / f"{server.name}-chart.png"))

    # a query without bins has no chart
    assert run(browser, TABLE_QUERY) == "Complete"
    assert not browser.find_element(By.ID, "visualization").is_displayed()


def test_an_absolute_time_range_is_sent_and_narrows_the_rows(
    browser: Chrome, double_url: str, api: ApiDouble
) -> None:
    open_page(browser, double_url, LAMBDA_GROUPS)
    browser.find_element(By.ID, "range-absolute").click()
    Select(browser.find_element(By.ID, "time-zone")).select_by_value("utc")
    start_s, end_s = (NOW - 150_000) // 1000, (NOW - 30_000) // 1000
    for element_id, seconds in (("time-from", start_s), ("time-to", end_s)):
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        browser.execute_script(
            "arguments[0].value = arguments[1]", browser.find_element(By.ID, element_id), text
        )
    before = len(api.requests)
    assert run(browser, CHART_QUERY) == "Complete"

    (sent,) = [body for operation, body in api.requests[before:] if operation == "StartQuery"]
    assert (sent["startTime"], sent["endTime"]) == (start_s, end_s)
    want = evaluate(
        parse_query(CHART_QUERY),
        _in_groups(LAMBDA_GROUPS),
        start_ms=start_s * 1000,
        end_ms=end_s * 1000 + 999,
    )
    assert 0 < want.matched < expected(CHART_QUERY, LAMBDA_GROUPS).matched  # it narrows
    assert table_rows(browser) == [as_strings(row) for row in want.rows]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")) == len(want.rows)


def test_cancel_stops_the_running_query(browser: Chrome, double_url: str, api: ApiDouble) -> None:
    open_page(browser, double_url, LAMBDA_GROUPS)
    api.hold = True
    try:
        box = browser.find_element(By.ID, "query")
        box.clear()
        box.send_keys(TABLE_QUERY)
        before = len(api.requests)
        browser.find_element(By.ID, "run").click()
        cancel = browser.find_element(By.ID, "cancel")
        _wait(browser, lambda d: cancel.is_enabled(), "the query to start")
        _wait(
            browser,
            lambda d: d.find_element(By.ID, "outcome").get_attribute("data-state") == "Running",
            "the query to run",
        )
        cancel.click()
        _wait(
            browser,
            lambda d: d.find_element(By.ID, "outcome").get_attribute("data-state") == "Cancelled",
            "the query to be cancelled",
        )
    finally:
        api.hold = False
    started = [op for op, _ in api.requests[before:] if op == "StartQuery"]
    stopped = [body["queryId"] for op, body in api.requests[before:] if op == "StopQuery"]
    assert len(started) == 1 and stopped == list(api.queries)[-1:]
    assert not cancel.is_enabled()
    assert text_of(browser.find_element(By.ID, "status")).startswith("Cancelled")


def test_a_malformed_query_is_shown_in_the_page(
    browser: Chrome, server: Server, artifacts: Path
) -> None:
    open_page(browser, server.url, LAMBDA_GROUPS)
    bad = "fields @message\n| stats count(*) by"
    with pytest.raises(InsightsError) as refused:
        parse_query(bad)
    assert run(browser, bad) == "error"
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is what raises
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    column = refused.value.position - bad.index("\n")  # 1-based on the second line
    assert text_of(error) == (
        f"MalformedQueryException: {refused.value.reason}"
        f"line 2, column {column}:\n| stats count(*) by\n{' ' * (column - 1)}^"
    )
    # and the editor selects where it is
    selected = browser.execute_script(
        "const q = document.getElementById('query'); return [q.selectionStart, q.selectionEnd]"
    )
    assert selected[0] == refused.value.position
    assert not browser.find_element(By.ID, "results").is_displayed()
    browser.save_screenshot(str(artifacts / f"{server.name}-error.png"))

    # the next good query clears it
    assert run(browser, TABLE_QUERY) == "Complete"
    assert not error.is_displayed()


def test_no_log_group_is_refused_before_anything_is_sent(
    browser: Chrome, double_url: str, api: ApiDouble
) -> None:
    open_page(browser, double_url, [])
    before = len(api.requests)
    assert run(browser, TABLE_QUERY) == "invalid"
    assert "log group" in text_of(browser.find_element(By.ID, "error"))
    assert [op for op, _ in api.requests[before:]] == []


def test_the_last_queries_are_kept(browser: Chrome, server: Server) -> None:
    open_page(browser, server.url, LAMBDA_GROUPS)
    assert run(browser, CHART_QUERY) == "Complete"
    assert run(browser, TABLE_QUERY, keyboard=True) == "Complete"
    browser.refresh()
    _wait(
        browser,
        lambda d: d.find_element(By.ID, "log-groups").get_attribute("data-state") == "loaded",
        "the page to load again",
    )
    assert browser.find_element(By.ID, "query").get_property("value") == TABLE_QUERY
    history = Select(browser.find_element(By.ID, "history"))
    kept = [o.get_attribute("value") for o in history.options if o.get_attribute("value")]
    assert kept == [TABLE_QUERY, CHART_QUERY]
    history.select_by_value(CHART_QUERY)
    assert browser.find_element(By.ID, "query").get_property("value") == CHART_QUERY
    # the picked groups are remembered too
    picked = Select(browser.find_element(By.ID, "log-groups")).all_selected_options
    assert sorted(text_of(o) for o in picked) == sorted(LAMBDA_GROUPS)


def test_everything_the_page_loads_comes_from_its_own_server(
    browser: Chrome, server: Server
) -> None:
    browser.get_log("browser")  # drop what earlier tests logged
    open_page(browser, server.url, LAMBDA_GROUPS)
    assert run(browser, CHART_QUERY) == "Complete"
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(name.startswith(server.url + "/") for name in loaded), loaded
    problems = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert problems == []


def test_the_page_routes_serve_only_the_pages_files(server: Server) -> None:
    """Without a browser: the content types and the policy that keeps the page offline."""
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/insights", timeout=10) as answer:
        assert answer.headers.get_content_type() == "text/html"
        policy = answer.headers["Content-Security-Policy"]
        page = answer.read().decode()
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    with urllib.request.urlopen(f"{server.url}/insights/static/insights.js", timeout=10) as answer:
        assert answer.headers.get_content_type() == "text/javascript"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{server.url}/insights/static/page.py", timeout=10)
    assert missing.value.code == 404
