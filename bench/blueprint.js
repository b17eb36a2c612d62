#!/usr/bin/env node
/*
 * bench/blueprint.js: the AWS console's LogsToElasticsearch function (the Lambda blueprint,
 * Node), timed on the deliveries `python -m bench core` measures, without the network.
 *
 *   node bench/blueprint.js INDEX_JS EVENTS_FILE [--seconds S]   one JSON object on stdout
 *   node bench/blueprint.js --serve INDEX_JS EVENTS_FILE         rounds driven over stdin
 *
 * INDEX_JS is the user's own copy of the function (nothing of it ships with this project; see
 * bench/README.md for where to get it). EVENTS_FILE holds one Lambda event per line,
 * {"awslogs": {"data": BASE64_GZIP}}, exactly what CloudWatch Logs invokes the function with;
 * `python -m bench core --blueprint INDEX_JS` writes it from its own deliveries and runs this
 * harness with --serve, alternating rounds with its own paths.
 *
 * What is timed, and how it is isolated. The function's handler decodes the event (base64,
 * zlib.gunzip, JSON.parse), calls its module-private transform(payload) to build the bulk body,
 * then hands the body to its module-private post(body, callback), which signs the request
 * (SigV4) and sends it with https.request. The harness times the handler itself, unchanged, from
 * the event up to that post: decode + transform. post is replaced by a stub that keeps the body
 * and answers like a 200 response, so neither the signing nor the network is timed, and https
 * (and http) are replaced by modules that throw, so nothing can leave even if a copy posts
 * otherwise.
 *
 * To reach post, the file is compiled the way Node's require compiles a CommonJS module (one
 * function taking exports, require, module, __filename, __dirname), with one statement appended
 * that hands the harness a setter for post. The function's code keeps the scoping it has in
 * Lambda: its top-level functions are locals of the module function. Running it instead in a
 * vm context (its functions as properties of a sandbox global) makes every call to transform's
 * helpers a lookup through the sandbox's interceptors: its transform measured 14-46% slower
 * that way in every one of nine alternated rounds here, which would flatter us.
 * `console` is shadowed by a silent one, since stdout carries the results (the handler logs two
 * short lines per delivery to CloudWatch; building them is still timed).
 *
 * CPU time is process.cpuUsage() (user + system, every thread of the process, so the gunzip that
 * runs on libuv's pool counts), over whole passes through the deliveries, one delivery at a time
 * as a Lambda instance takes them. One untimed pass first warms the JIT and counts the events:
 * the documents in the bulk bodies the function built (two lines per document), not the input.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { createRequire } = require('module');

function fail(message) {
  process.stderr.write(`blueprint harness: ${message}\n`);
  process.exit(1);
}

const offline = {
  request() {
    throw new Error('the function tried to reach the network (the harness allows none)');
  },
  get() {
    throw new Error('the function tried to reach the network (the harness allows none)');
  },
};

/** The function's handler, with its post replaced by `post`. */
function load(indexPath, post) {
  const filename = path.resolve(indexPath);
  let source;
  try {
    source = fs.readFileSync(filename, 'utf8');
  } catch (error) {
    fail(`cannot read ${indexPath}: ${error.message}`);
  }
  const realRequire = createRequire(filename);
  const guardedRequire = (name) =>
    name === 'https' || name === 'http' || name === 'node:https' || name === 'node:http'
      ? offline
      : realRequire(name);
  const epilogue =
    '\n;return { setPost: typeof post === "function" ? function (f) { post = f; } : null };\n';
  const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {} };
  const module = { exports: {}, filename, id: filename, loaded: false };
  let wrapped;
  try {
    wrapped = vm.compileFunction(
      source.replace(/^#!.*/, '') + epilogue,
      ['exports', 'require', 'module', '__filename', '__dirname', 'console'],
      { filename },
    );
  } catch (error) {
    fail(`${indexPath} does not compile as a CommonJS module: ${error.message}`);
  }
  const hooks = wrapped.call(
    module.exports,
    module.exports,
    guardedRequire,
    module,
    filename,
    path.dirname(filename),
    silent,
  );
  const handler = module.exports && module.exports.handler;
  if (typeof handler !== 'function') {
    fail(`${indexPath} exports no handler function: not the LogsToElasticsearch blueprint`);
  }
  if (!hooks.setPost) {
    fail(
      `${indexPath} has no top-level function post(body, callback): not the shape of the ` +
        'LogsToElasticsearch blueprint (v1.x) this harness knows',
    );
  }
  hooks.setPost(post);
  return handler;
}

function invoke(handler, event) {
  return new Promise((resolve, reject) => {
    const done = (error, result) => (error ? reject(asError(error)) : resolve(result));
    const context = {
      succeed: (result) => resolve(result),
      fail: (error) => reject(asError(error)),
      done,
      getRemainingTimeInMillis: () => 300000,
      functionName: 'LogsToElasticsearch',
      awsRequestId: 'bench',
    };
    let returned;
    try {
      returned = handler(event, context, done);
    } catch (error) {
      reject(asError(error));
      return;
    }
    if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
  });
}

function asError(error) {
  return error instanceof Error ? error : new Error(String(error));
}

function cpuSeconds(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

function readEvents(eventsPath) {
  let text;
  try {
    text = fs.readFileSync(eventsPath, 'utf8');
  } catch (error) {
    fail(`cannot read ${eventsPath}: ${error.message}`);
  }
  const events = text
    .split('\n')
    .filter((line) => line.trim())
    .map((line, index) => {
      try {
        return JSON.parse(line);
      } catch (error) {
        return fail(`${eventsPath} line ${index + 1}: not JSON (${error.message})`);
      }
    });
  if (!events.length) fail(`${eventsPath} holds no events`);
  return events;
}

async function main(argv) {
  const serve = argv[0] === '--serve';
  const rest = serve ? argv.slice(1) : argv;
  let seconds = 5;
  const positional = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--seconds') seconds = Number(rest[++i]);
    else positional.push(rest[i]);
  }
  if (positional.length !== 2 || !(seconds > 0)) {
    fail('usage: node bench/blueprint.js [--serve] INDEX_JS EVENTS_FILE [--seconds S]');
  }
  const [indexPath, eventsPath] = positional;
  const events = readEvents(eventsPath);

  let bodies = null; // collected during the counting pass only
  const success = { attemptedItems: 0, successfulItems: 0, failedItems: 0 };
  const handler = load(indexPath, function post(body, callback) {
    if (bodies) bodies.push(body);
    callback(undefined, success, 200, []);
  });

  async function pass() {
    for (const event of events) await invoke(handler, event);
  }

  bodies = [];
  try {
    await pass(); // warms the JIT; counts what the function indexed
  } catch (error) {
    fail(`the function failed on the events: ${error.message}`);
  }
  let documents = 0;
  for (const body of bodies) {
    for (let at = body.indexOf('\n'); at >= 0; at = body.indexOf('\n', at + 1)) documents++;
  }
  documents /= 2; // an action line and a source line per event
  bodies = null;

  async function round(budget) {
    let passes = 0;
    const began = process.cpuUsage();
    let spent = 0;
    while (spent < budget) {
      try {
        await pass();
      } catch (error) {
        fail(`the function failed on the events: ${error.message}`);
      }
      passes++;
      spent = cpuSeconds(began);
    }
    return { events: passes * documents, cpu_seconds: spent };
  }

  const out = (object) => process.stdout.write(JSON.stringify(object) + '\n');
  if (!serve) {
    const { events: handled, cpu_seconds: spent } = await round(seconds);
    out({
      events_per_s: Math.round(handled / spent),
      events: documents,
      deliveries: events.length,
      cpu_seconds: spent,
    });
    return;
  }
  out({ ready: true, events: documents, deliveries: events.length });
  const lines = require('readline').createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const budget = Number(line);
    if (!(budget > 0)) fail(`expected CPU seconds on stdin, got ${JSON.stringify(line)}`);
    out(await round(budget));
  }
}

main(process.argv.slice(2)).catch((error) => fail(asError(error).message));
