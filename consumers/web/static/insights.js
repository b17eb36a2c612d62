// The Logs Insights page: plain JavaScript over the CloudWatch Logs API on this same server.
//
// Every request is the JSON 1.1 protocol AWS's own clients speak (POST /, X-Amz-Target), so the
// page exercises the same API as boto3 and the AWS CLI and needs nothing else from the server.
// Nothing is fetched from anywhere else and no library is loaded: it works offline and with the
// page's Content-Security-Policy (this origin only). Data from the store is only ever put in
// the page as text (textContent, SVG text nodes), never as markup.
"use strict";

(() => {
  const TARGET_PREFIX = "Logs_20140328.";
  const CONTENT_TYPE = "application/x-amz-json-1.1";
  const HISTORY_KEY = "cwlpipe.insights.queries";
  const GROUPS_KEY = "cwlpipe.insights.logGroups";
  const HISTORY_SIZE = 20;
  const POLL_MS = 500; // the API is poll-based; the console polls about as often
  const GROUP_PAGES = 100; // DescribeLogGroups pages read at most (50 groups each)
  const FINAL = new Set(["Complete", "Failed", "Cancelled", "Timeout", "Unknown"]);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE_SIZE = 8; // .series-0 ... .series-7 in the stylesheet

  const $ = (id) => document.getElementById(id);
  const form = $("query-form");
  const groupSelect = $("log-groups");
  const groupFilter = $("log-group-filter");
  const groupStatus = $("log-groups-status");
  const relative = $("range-relative");
  const absolute = $("range-absolute");
  const relativeRange = $("relative-range");
  const timeFrom = $("time-from");
  const timeTo = $("time-to");
  const timeZone = $("time-zone");
  const queryBox = $("query");
  const runButton = $("run");
  const cancelButton = $("cancel");
  const historySelect = $("history");
  const outcome = $("outcome");
  const statusLine = $("status");
  const errorBox = $("error");
  const statistics = $("statistics");
  const bytesScanned = $("bytes-scanned");
  const visualization = $("visualization");
  const chart = $("chart");
  const chartTitle = $("chart-title");
  const legend = $("chart-legend");
  const table = $("results");

  /** An answer of the API that is not a success: AWS's error type and message. */
  class ApiError extends Error {
    constructor(type, message, answer) {
      super(message);
      this.type = type;
      this.answer = answer || {}; // the whole error body: MalformedQueryException's location
    }
  }

  /** A problem with what was entered, found before anything is sent. */
  class InputError extends Error {}

  async function call(operation, body) {
    let response;
    try {
      response = await fetch("/", {
        method: "POST",
        headers: { "X-Amz-Target": TARGET_PREFIX + operation, "Content-Type": CONTENT_TYPE },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError("NetworkError", `the server did not answer (${error.message})`);
    }
    const text = await response.text();
    let answer = null;
    try {
      answer = text ? JSON.parse(text) : {};
    } catch (_) {
      answer = null;
    }
    if (!response.ok) {
      // AWS names the type in __type, sometimes prefixed with a namespace and '#'
      const rawType = answer && (answer.__type || answer.code);
      const type = rawType ? String(rawType).split("#").pop() : `HTTP ${response.status}`;
      const message =
        (answer && (answer.message || answer.Message)) || text.slice(0, 500) || response.statusText;
      throw new ApiError(type, message, answer);
    }
    if (answer === null || typeof answer !== "object") {
      throw new ApiError("InvalidResponse", "the server's answer is not a JSON object");
    }
    return answer;
  }

  // ---- errors and status -------------------------------------------------------------------

  function showError(error) {
    errorBox.replaceChildren();
    if (error instanceof ApiError) {
      const type = document.createElement("span");
      type.className = "error-type";
      type.textContent = error.type;
      errorBox.append(type, `: ${error.message}`);
      const compile = error.answer.queryCompileError;
      if (compile && compile.location) showWhere(compile.location);
    } else {
      errorBox.textContent = error instanceof Error ? error.message : String(error);
    }
    errorBox.hidden = false;
  }

  /** Where the query is wrong, as AWS's queryCompileError says: its line with a caret under
   * it, and the text selected in the editor, which has not changed since Run. */
  function showWhere(location) {
    const query = queryBox.value;
    const start = Number(location.startCharOffset);
    if (!Number.isInteger(start) || start < 0 || start > query.length) return;
    const end = Math.min(Math.max(Number(location.endCharOffset) || start + 1, start + 1), query.length);
    const lineStart = query.lastIndexOf("\n", start - 1) + 1;
    const lineEnd = query.indexOf("\n", start) === -1 ? query.length : query.indexOf("\n", start);
    const line = query.slice(lineStart, lineEnd);
    const lineNumber = query.slice(0, lineStart).split("\n").length;
    const where = document.createElement("pre");
    where.className = "where";
    where.textContent = `line ${lineNumber}, column ${start - lineStart + 1}:\n${line}\n${" ".repeat(start - lineStart)}^`;
    errorBox.append(where);
    queryBox.setSelectionRange(start, end);
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.replaceChildren();
  }

  /** The run's state, also as data-state on #outcome so tests (and styles) can wait on it. */
  function setState(state, text) {
    outcome.dataset.state = state;
    statusLine.textContent = text;
  }

  // ---- log groups --------------------------------------------------------------------------

  function rememberedGroups() {
    try {
      const stored = JSON.parse(localStorage.getItem(GROUPS_KEY) || "[]");
      return new Set(Array.isArray(stored) ? stored.filter((g) => typeof g === "string") : []);
    } catch (_) {
      return new Set();
    }
  }

  function selectedGroups() {
    return Array.from(groupSelect.selectedOptions, (option) => option.value);
  }

  async function loadLogGroups() {
    const names = [];
    let token = null;
    try {
      for (let page = 0; page < GROUP_PAGES; page += 1) {
        const request = { limit: 50 };
        if (token) request.nextToken = token;
        const answer = await call("DescribeLogGroups", request);
        for (const group of answer.logGroups || []) {
          if (group && typeof group.logGroupName === "string") names.push(group.logGroupName);
        }
        token = answer.nextToken;
        if (!token) break;
      }
    } catch (error) {
      groupStatus.textContent = "The log groups could not be listed.";
      groupSelect.dataset.state = "failed";
      showError(error);
      return;
    }
    const keep = rememberedGroups();
    groupSelect.replaceChildren(
      ...names.map((name) => {
        const option = new Option(name, name, false, keep.has(name));
        option.title = name;
        return option;
      }),
    );
    groupStatus.textContent =
      names.length === 0
        ? "No log groups in the store yet."
        : `${names.length} log group${names.length === 1 ? "" : "s"}; select one or more (Ctrl or Shift for several).`;
    groupSelect.dataset.state = "loaded";
  }

  function filterGroups() {
    const needle = groupFilter.value.trim().toLowerCase();
    for (const option of groupSelect.options) {
      option.hidden = needle !== "" && !option.value.toLowerCase().includes(needle);
    }
  }

  // ---- time range --------------------------------------------------------------------------

  /** A datetime-local value as epoch milliseconds, read as UTC or as the browser's time zone. */
  function parseDateTime(value, utc) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(value);
    if (!m) return null;
    const parts = [+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0), +(m[7] || "0").padEnd(3, "0")];
    return utc ? Date.UTC(...parts) : new Date(...parts).getTime();
  }

  function formatDateTime(millis, utc) {
    const d = new Date(millis);
    const pad = (n) => String(n).padStart(2, "0");
    const [y, mo, day, h, mi, s] = utc
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
    return `${y}-${pad(mo)}-${pad(day)}T${pad(h)}:${pad(mi)}:${pad(s)}`;
  }

  /** StartQuery's startTime/endTime: epoch seconds, widened to whole seconds on both ends. */
  function timeRange() {
    if (relative.checked) {
      const now = Date.now();
      const seconds = Number(relativeRange.value);
      return { startTime: Math.floor(now / 1000) - seconds, endTime: Math.ceil(now / 1000) };
    }
    const utc = timeZone.value === "utc";
    const from = parseDateTime(timeFrom.value, utc);
    const to = parseDateTime(timeTo.value, utc);
    if (from === null || to === null) throw new InputError("Choose both ends of the absolute time range.");
    if (from > to) throw new InputError("The start of the time range is after its end.");
    return { startTime: Math.floor(from / 1000), endTime: Math.ceil(to / 1000) };
  }

  /** Switching to absolute starts from the relative range shown, as the console does. */
  function useAbsolute() {
    absolute.checked = true;
    if (!timeFrom.value || !timeTo.value) {
      const now = Date.now();
      const utc = timeZone.value === "utc";
      timeFrom.value = formatDateTime(now - Number(relativeRange.value) * 1000, utc);
      timeTo.value = formatDateTime(now, utc);
    }
  }

  // ---- query history -----------------------------------------------------------------------

  function loadHistory() {
    try {
      const stored = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(stored) ? stored.filter((q) => typeof q === "string") : [];
    } catch (_) {
      return [];
    }
  }

  function renderHistory(queries) {
    const placeholder = new Option(queries.length ? `${queries.length} recent` : "none yet", "");
    historySelect.replaceChildren(
      placeholder,
      ...queries.map((query) => {
        const line = query.replace(/\s+/g, " ");
        const option = new Option(line.length > 100 ? `${line.slice(0, 99)}…` : line, query);
        option.title = query;
        return option;
      }),
    );
  }

  function remember(query) {
    const queries = [query, ...loadHistory().filter((q) => q !== query)].slice(0, HISTORY_SIZE);
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(queries));
    } catch (_) {
      // storage full or refused (private mode): the query still runs, only unremembered
    }
    renderHistory(queries);
  }

  // ---- running a query ---------------------------------------------------------------------

  let generation = 0; // each Run bumps it; answers for an older run are dropped
  let running = null; // the query id being polled
  let shownResults = ""; // the rendered answer, so a poll with the same rows keeps expanded rows

  function setRunning(queryId) {
    running = queryId;
    runButton.disabled = false; // Run again replaces the running query, as in the console
    cancelButton.disabled = queryId === null;
  }

  async function run() {
    generation += 1;
    const mine = generation;
    const previous = running;
    if (previous !== null) call("StopQuery", { queryId: previous }).catch(() => {});
    setRunning(null);
    clearError();
    clearResults();
    const queryString = queryBox.value; // as written: error offsets point into the editor
    const request = { queryString };
    try {
      if (!queryString.trim()) throw new InputError("Write a query first.");
      const groups = selectedGroups();
      if (groups.length === 0 && !/^\s*SOURCE\b/i.test(queryString)) {
        throw new InputError("Select at least one log group.");
      }
      Object.assign(request, timeRange());
      if (groups.length) request.logGroupNames = groups;
    } catch (error) {
      setState("invalid", "");
      showError(error);
      return;
    }
    remember(queryString.trim());
    setState("Scheduled", "Starting…");
    try {
      const started = await call("StartQuery", request);
      if (mine !== generation) return;
      setRunning(started.queryId);
      await poll(started.queryId, mine, queryString);
    } catch (error) {
      if (mine !== generation) return;
      setState("error", "");
      showError(error);
    } finally {
      if (mine === generation) setRunning(null);
    }
  }

  async function poll(queryId, mine, queryString) {
    for (;;) {
      const answer = await call("GetQueryResults", { queryId });
      if (mine !== generation) return;
      const status = typeof answer.status === "string" ? answer.status : "Unknown";
      const shown = render(answer, queryString);
      if (FINAL.has(status)) {
        const rows = `${shown} row${shown === 1 ? "" : "s"} shown`;
        setState(status, status === "Complete" ? `Complete: ${rows}` : `${status}: ${rows}`);
        if (status === "Failed") showError(new ApiError("QueryFailed", "the query failed on the server."));
        if (status === "Timeout") showError(new ApiError("QueryTimeout", "the query ran out of time."));
        return;
      }
      setState(status, `${status}… ${shown} rows so far`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (mine !== generation) return;
    }
  }

  async function cancel() {
    if (running === null) return;
    try {
      await call("StopQuery", { queryId: running });
    } catch (error) {
      showError(error);
    }
  }

  // ---- results -----------------------------------------------------------------------------

  function clearResults() {
    shownResults = "";
    statistics.textContent = "";
    bytesScanned.textContent = "";
    table.hidden = true;
    table.tHead.replaceChildren();
    table.tBodies[0].replaceChildren();
    visualization.hidden = true;
    chart.replaceChildren();
    legend.replaceChildren();
  }

  function count(value) {
    const n = Number(value);
    return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "0";
  }

  function size(bytes) {
    const n = Number(bytes);
    if (!Number.isFinite(n)) return "";
    if (n < 1000) return `${n} B`;
    if (n < 1e6) return `${(n / 1000).toFixed(1)} kB`;
    return `${(n / 1e6).toFixed(1)} MB`;
  }

  /** Draws an answer of GetQueryResults; returns how many rows it shows. */
  function render(answer, queryString) {
    const stats = answer.statistics || {};
    statistics.textContent = `${count(stats.recordsMatched)} records matched | ${count(stats.recordsScanned)} records scanned`;
    bytesScanned.textContent = stats.bytesScanned === undefined ? "" : `(${size(stats.bytesScanned)})`;
    const results = Array.isArray(answer.results) ? answer.results : [];
    const key = JSON.stringify(results);
    if (key === shownResults) return results.length;
    shownResults = key;
    const rows = results.map((fields) => {
      const row = new Map();
      for (const item of Array.isArray(fields) ? fields : []) {
        if (item && typeof item.field === "string") row.set(item.field, item.value == null ? "" : String(item.value));
      }
      return row;
    });
    const columns = [];
    for (const row of rows) {
      for (const name of row.keys()) if (name !== "@ptr" && !columns.includes(name)) columns.push(name);
    }
    renderTable(rows, columns);
    renderChart(rows, columns, queryString);
    return rows.length;
  }

  function renderTable(rows, columns) {
    const head = document.createElement("tr");
    const expandHead = document.createElement("th");
    expandHead.scope = "col";
    expandHead.append(hiddenText("Expand"));
    const indexHead = document.createElement("th");
    indexHead.scope = "col";
    indexHead.textContent = "#";
    head.append(expandHead, indexHead);
    for (const column of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = column;
      head.append(th);
    }
    table.tHead.replaceChildren(head);
    const body = table.tBodies[0];
    body.replaceChildren(
      ...rows.map((row, index) => {
        const tr = document.createElement("tr");
        tr.className = "row";
        const toggleCell = document.createElement("td");
        toggleCell.className = "toggle";
        const button = document.createElement("button");
        button.type = "button";
        button.className = "expand";
        button.textContent = "▶";
        button.setAttribute("aria-expanded", "false");
        button.setAttribute("aria-label", `Show all fields of row ${index + 1}`);
        button.addEventListener("click", (event) => {
          event.stopPropagation();
          toggleRow(tr, row, button, columns.length + 2);
        });
        toggleCell.append(button);
        const indexCell = document.createElement("td");
        indexCell.className = "index";
        indexCell.textContent = String(index + 1);
        tr.append(toggleCell, indexCell);
        for (const column of columns) {
          const td = document.createElement("td");
          td.className = "value";
          td.textContent = row.has(column) ? row.get(column) : "";
          tr.append(td);
        }
        // a click on the row expands it too, unless it ended a text selection
        tr.addEventListener("click", () => {
          if (String(window.getSelection() || "") === "") toggleRow(tr, row, button, columns.length + 2);
        });
        return tr;
      }),
    );
    table.hidden = rows.length === 0;
  }

  function hiddenText(text) {
    const span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = text;
    return span;
  }

  /** A row's fields, then (for a log event, by its @ptr) every field of the event (GetLogRecord). */
  async function toggleRow(tr, row, button, width) {
    const next = tr.nextElementSibling;
    if (button.getAttribute("aria-expanded") === "true") {
      if (next && next.classList.contains("details")) next.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    button.setAttribute("aria-expanded", "true");
    const details = document.createElement("tr");
    details.className = "details";
    const cell = document.createElement("td");
    cell.colSpan = width;
    details.append(cell);
    tr.after(details);
    const own = Array.from(row.entries()).filter(([name]) => name !== "@ptr");
    cell.replaceChildren(fieldsTable(own));
    const pointer = row.get("@ptr");
    if (!pointer) {
      cell.dataset.state = "row";
      return;
    }
    cell.dataset.state = "loading";
    try {
      const answer = await call("GetLogRecord", { logRecordPointer: pointer });
      const record = answer.logRecord && typeof answer.logRecord === "object" ? answer.logRecord : {};
      const merged = new Map(own);
      for (const [name, value] of Object.entries(record)) {
        if (!merged.has(name) && name !== "@ptr") merged.set(name, recordValue(name, value));
      }
      cell.replaceChildren(fieldsTable(Array.from(merged.entries())));
      cell.dataset.state = "record";
    } catch (error) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = `Only the query's fields: the event could not be read (${error.type || "Error"}: ${error.message}).`;
      cell.append(note);
      cell.dataset.state = "row";
    }
  }

  /** GetLogRecord gives @timestamp and @ingestionTime as epoch milliseconds; shown as the
   * results show times (UTC, to the millisecond), so the two read alike. */
  function recordValue(name, value) {
    const text = value == null ? "" : String(value);
    if ((name === "@timestamp" || name === "@ingestionTime") && /^\d{1,15}$/.test(text)) {
      return new Date(Number(text)).toISOString().replace("T", " ").replace("Z", "");
    }
    return text;
  }

  function fieldsTable(entries) {
    const sorted = entries.slice().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const fields = document.createElement("table");
    fields.className = "fields";
    const head = document.createElement("tr");
    for (const title of ["Field", "Value"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = title;
      head.append(th);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const body = document.createElement("tbody");
    for (const [name, value] of sorted) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = name;
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(th, td);
      body.append(tr);
    }
    fields.append(thead, body);
    return fields;
  }

  // ---- the Visualization: stats ... by bin(...) as bars --------------------------------------

  const UNIT_MS = {
    ms: 1, msec: 1, millisecond: 1,
    s: 1000, sec: 1000, second: 1000,
    m: 60000, min: 60000, minute: 60000,
    h: 3600000, hr: 3600000, hour: 3600000,
    d: 86400000, day: 86400000,
    w: 604800000, week: 604800000,
    mo: 2592000000, mon: 2592000000, month: 2592000000,
    q: 7776000000, qtr: 7776000000, quarter: 7776000000,
    y: 31536000000, yr: 31536000000, year: 31536000000,
  };

  /** Insights' time text (UTC) as epoch milliseconds. */
  function parseResultTime(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/.exec(text || "");
    if (!m) return null;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +(m[7] || "0").padEnd(3, "0"));
  }

  /** The query's commands, split on pipes outside quotes, comments dropped. */
  function commands(query) {
    const parts = [];
    let current = "";
    let quote = null;
    for (let i = 0; i < query.length; i += 1) {
      const c = query[i];
      if (quote) {
        current += c;
        if (c === "\\" && i + 1 < query.length) current += query[++i];
        else if (c === quote) quote = null;
      } else if (c === "'" || c === '"' || c === "`") {
        quote = c;
        current += c;
      } else if (c === "#") {
        while (i + 1 < query.length && query[i + 1] !== "\n") i += 1;
      } else if (c === "|") {
        parts.push(current.trim());
        current = "";
      } else {
        current += c;
      }
    }
    parts.push(current.trim());
    return parts.filter(Boolean);
  }

  /** For `stats ... by bin(p)`: the column that holds the bins and p in milliseconds. */
  function binOf(query, columns, rows) {
    const stats = commands(query).filter((c) => /^stats\b/i.test(c)).pop();
    if (!stats) return null;
    const by = /\bby\b([\s\S]*)$/i.exec(stats);
    if (!by) return null;
    const bin = /\bbin\s*\(\s*([^)]*?)\s*\)(?:\s+as\s+(`[^`]+`|[\w@.$]+))?/i.exec(by[1]);
    if (!bin) return null;
    const period = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(bin[1]);
    let periodMs = null;
    if (period) {
      const unit = period[2].toLowerCase();
      const ms = UNIT_MS[unit] || UNIT_MS[unit.replace(/s$/, "")];
      if (ms) periodMs = Number(period[1]) * ms;
    }
    const alias = bin[2] ? bin[2].replace(/^`|`$/g, "") : null;
    const named = alias || columns.find((c) => /^bin\s*\(/i.test(c));
    const column = columns.includes(named) ? named : columns.find((c) => rows.every((r) => parseResultTime(r.get(c)) !== null));
    if (!column || !rows.every((r) => parseResultTime(r.get(column)) !== null)) return null;
    return { column, periodMs };
  }

  function svg(name, attributes, text) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  /** Ticks a round step apart (1, 2, 5 x 10^k), about `count` of them, covering [low, high]. */
  function ticks(low, high, count) {
    const raw = (high - low) / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) || raw;
    const out = [];
    // from the step at or below `low` to the one at or above `high`, so every bar is under a tick
    const first = Math.floor(low / step) * step;
    const last = Math.ceil(high / step) * step;
    for (let v = first; v <= last + step / 1e9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  function axisTime(millis, spanMs) {
    const iso = new Date(millis).toISOString(); // UTC, as the results are
    if (spanMs >= 86400000) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    if (spanMs >= 120000) return iso.slice(11, 16);
    return iso.slice(11, 19);
  }

  function renderChart(rows, columns, query) {
    chart.replaceChildren();
    legend.replaceChildren();
    const bin = rows.length ? binOf(query, columns, rows) : null;
    if (!bin) {
      visualization.hidden = true;
      return;
    }
    const others = columns.filter((c) => c !== bin.column);
    const isNumber = (text) => text.trim() !== "" && Number.isFinite(Number(text));
    const numeric = others.filter(
      (c) => rows.some((r) => r.has(c)) && rows.every((r) => !r.has(c) || isNumber(r.get(c))),
    );
    const keys = others.filter((c) => !numeric.includes(c));
    if (numeric.length === 0) {
      visualization.hidden = true;
      return;
    }
    // one series per aggregate (and per value of any other `by` field), one bar per bin
    const seriesNames = [];
    const bins = new Map(); // time -> {label, values: Map(series -> number)}
    for (const row of rows) {
      const label = row.get(bin.column);
      const at = parseResultTime(label);
      if (!bins.has(at)) bins.set(at, { label, values: new Map() });
      const group = keys.map((k) => row.get(k) || "").join(" · ");
      for (const column of numeric) {
        if (!row.has(column)) continue;
        const name = [column, group].filter(Boolean).join(" · ");
        if (!seriesNames.includes(name)) seriesNames.push(name);
        bins.get(at).values.set(name, Number(row.get(column)));
      }
    }
    const times = Array.from(bins.keys()).sort((a, b) => a - b);
    let gap = Infinity;
    for (let i = 1; i < times.length; i += 1) gap = Math.min(gap, times[i] - times[i - 1]);
    const width = bin.periodMs && bin.periodMs <= gap ? bin.periodMs : Number.isFinite(gap) ? gap : bin.periodMs || 60000;
    const values = times.flatMap((t) => Array.from(bins.get(t).values.values()));
    let low = Math.min(0, ...values);
    let high = Math.max(0, ...values);
    if (low === high) high = low + 1;

    visualization.hidden = false; // measured in place, so the drawing is at the page's scale
    const box = chart.getBoundingClientRect();
    const W = Math.max(Math.round(box.width), 320);
    const H = Math.max(Math.round(box.height), 200);
    const margin = { top: 10, right: 16, bottom: 28, left: 56 };
    const plotW = W - margin.left - margin.right;
    const plotH = H - margin.top - margin.bottom;
    const t0 = times[0];
    const t1 = times[times.length - 1] + width;
    const x = (t) => margin.left + ((t - t0) / (t1 - t0)) * plotW;
    const yTicks = ticks(low, high, 4);
    low = Math.min(low, yTicks[0]);
    high = Math.max(high, yTicks[yTicks.length - 1]);
    const y = (v) => margin.top + (1 - (v - low) / (high - low)) * plotH;
    chart.setAttribute("viewBox", `0 0 ${W} ${H}`);

    const yAxis = svg("g", { class: "axis y-axis" });
    for (const tick of yTicks) {
      yAxis.append(svg("line", { x1: margin.left, x2: W - margin.right, y1: y(tick), y2: y(tick) }));
      yAxis.append(svg("text", { x: margin.left - 6, y: y(tick) + 4, "text-anchor": "end" }, tick.toLocaleString("en-US")));
    }
    const xAxis = svg("g", { class: "axis x-axis" });
    xAxis.append(svg("line", { x1: margin.left, x2: W - margin.right, y1: y(0), y2: y(0) }));
    const every = Math.max(1, Math.ceil(times.length / Math.max(1, Math.floor(plotW / 90))));
    times.forEach((t, i) => {
      if (i % every !== 0) return;
      xAxis.append(svg("text", { x: x(t) + (x(t + width) - x(t)) / 2, y: H - 8, "text-anchor": "middle" }, axisTime(t, t1 - t0)));
    });
    chart.append(yAxis, xAxis);

    const bars = svg("g", { class: "bars" });
    const slot = (x(t0 + width) - x(t0)) * 0.8;
    const barWidth = Math.max(1, slot / seriesNames.length);
    for (const t of times) {
      const entry = bins.get(t);
      const group = svg("g", { class: "bin", "data-bin": entry.label });
      const left = x(t) + (x(t + width) - x(t) - slot) / 2;
      seriesNames.forEach((name, index) => {
        if (!entry.values.has(name)) return;
        const value = entry.values.get(name);
        const top = Math.min(y(value), y(0));
        const rect = svg("rect", {
          class: `bar series-${index % PALETTE_SIZE}`,
          x: left + index * barWidth,
          y: top,
          width: barWidth,
          height: Math.max(Math.abs(y(0) - y(value)), value === 0 ? 0 : 1),
          "data-value": value,
        });
        rect.append(svg("title", {}, `${entry.label} · ${name}: ${value.toLocaleString("en-US")}`));
        group.append(rect);
      });
      bars.append(group);
    }
    chart.append(bars);
    chartTitle.textContent = `${numeric.join(", ")} by ${bin.column} (${times.length} bin${times.length === 1 ? "" : "s"}, UTC)`;
    if (seriesNames.length > 1) {
      seriesNames.forEach((name, index) => {
        const item = document.createElement("li");
        const swatch = document.createElement("span");
        swatch.className = `swatch series-${index % PALETTE_SIZE}`;
        item.append(swatch, name);
        legend.append(item);
      });
    }
    visualization.hidden = false;
  }

  // ---- wiring ------------------------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  cancelButton.addEventListener("click", cancel);
  queryBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(runButton);
    }
  });
  historySelect.addEventListener("change", () => {
    if (!historySelect.value) return;
    queryBox.value = historySelect.value;
    historySelect.value = "";
    queryBox.focus();
  });
  groupFilter.addEventListener("input", filterGroups);
  groupSelect.addEventListener("change", () => {
    try {
      localStorage.setItem(GROUPS_KEY, JSON.stringify(selectedGroups()));
    } catch (_) {
      // not remembered; nothing else depends on it
    }
  });
  for (const input of [timeFrom, timeTo]) input.addEventListener("focus", useAbsolute);
  absolute.addEventListener("change", useAbsolute);
  relativeRange.addEventListener("change", () => {
    relative.checked = true;
  });

  const queries = loadHistory();
  renderHistory(queries);
  if (queries.length) queryBox.value = queries[0]; // the console reopens with the last query
  setState("idle", "");
  loadLogGroups();
})();
