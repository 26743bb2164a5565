// bench/runtime/workerd.mjs — the built workers inside workerd without wrangler dev's proxy:
// Miniflare (from wrangler's node_modules) runs portal/build and api/build on a local D1 (the
// state dir wrangler's `--persist-to` made: bench/runtime/run migrates and seeds it), and each
// request from stdin (one JSON line: method, path, headers, base64 body) goes to the worker by
// `dispatchFetch` (`/api/…` routed to the API, the rest to the portal, as deployed).
//
// Each worker runs behind a small entry module (below) that calls the worker's own `fetch`
// with its D1 binding wrapped so that every statement's `raw`/`run`/`all`/`first` and every
// `batch` is timed: the answer line carries the handler's time measured inside the isolate
// (from the call to the end of the body) and the part of it spent waiting on D1, in µs.
// Locally workerd's clock advances during execution (Cloudflare's production one does not).
// The first line out is {"ready": true, "start_ms": …}: new Miniflare, workerd's start and
// both modules' compilation, until it answers.
//
//   node bench/runtime/workerd.mjs STATE_DIR   (settings: the environment's BENCH_<NAME>)

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const stateDir = process.argv[2];
if (!stateDir) throw new Error('usage: node bench/runtime/workerd.mjs STATE_DIR');

// The D1 binding, timed. The worker crate checks the binding's constructor name, which the
// proxy passes through; statements stay D1's own objects (batch reads their fields).
const ENTRY = `
import { WorkerEntrypoint } from 'cloudflare:workers';
import Worker from './index.js';

function timeStatement(statement, timer) {
  for (const method of ['raw', 'run', 'all', 'first']) {
    const original = statement[method].bind(statement);
    statement[method] = async (...args) => {
      const started = performance.now();
      try { return await original(...args); } finally { timer.store += performance.now() - started; timer.calls++; }
    };
  }
  const bind = statement.bind.bind(statement);
  statement.bind = (...args) => timeStatement(bind(...args), timer);
  return statement;
}

function timedDatabase(db, timer) {
  return new Proxy(db, {
    get(target, name) {
      if (name === 'prepare') return (sql) => timeStatement(target.prepare(sql), timer);
      if (name === 'batch') {
        return async (statements) => {
          const started = performance.now();
          try { return await target.batch(statements); } finally { timer.store += performance.now() - started; timer.calls++; }
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === 'function' && name !== 'constructor' ? value.bind(target) : value;
    },
  });
}

export default class extends WorkerEntrypoint {
  async fetch(request) {
    // The floor: the same round trip into this isolate with no handler behind it.
    if (new URL(request.url).pathname.endsWith('/__bench/floor')) return new Response(null, { status: 204 });
    // dispatchFetch arrives with Host naming Miniflare's loopback socket; a deployed worker sees
    // the host of its URL, and signed API requests cover it.
    // The client's address as Cloudflare vouches for it (x-bench-client, from the driver).
    const sent = new Headers(request.headers);
    sent.set('host', new URL(request.url).host);
    sent.set('cf-connecting-ip', sent.get('x-bench-client') ?? '192.0.2.1');
    sent.delete('x-bench-client');
    request = new Request(request, { headers: sent });
    const timer = { store: 0, calls: 0 };
    const env = { ...this.env, DB: timedDatabase(this.env.DB, timer) };
    const started = performance.now();
    const response = await Worker.prototype.fetch.call({ env, ctx: this.ctx }, request);
    const body = await response.arrayBuffer();
    const handler = performance.now() - started;
    const headers = new Headers(response.headers);
    headers.set('x-bench-handler-us', String(handler * 1000));
    headers.set('x-bench-store-us', String(timer.store * 1000));
    headers.set('x-bench-store-calls', String(timer.calls));
    return new Response(body, { status: response.status, headers });
  }
}
`;

function worker(name) {
  const build = path.join(repoRoot, name, 'build');
  const bindings = {};
  for (const key of ['SESSION_KEY', 'CSRF_KEY', 'RECEIPT_KEYS', 'CREDENTIAL_KEY', 'RP_ID', 'ORIGIN']) {
    const value = process.env[`BENCH_${key}`];
    if (value === undefined) throw new Error(`BENCH_${key} is not set`);
    // The API has no cookies: only the portal gets the session and CSRF keys.
    if (name === 'api' && (key === 'SESSION_KEY' || key === 'CSRF_KEY')) continue;
    bindings[key] = value;
  }
  bindings.RP_NAME = 'carefront';
  return {
    name,
    compatibilityDate: '2026-11-01',
    modulesRoot: build,
    modules: [
      { type: 'ESModule', path: path.join(build, 'bench-entry.mjs'), contents: ENTRY },
      { type: 'ESModule', path: path.join(build, 'index.js'), contents: readFileSync(path.join(build, 'index.js'), 'utf8') },
      { type: 'CompiledWasm', path: path.join(build, 'index_bg.wasm'), contents: readFileSync(path.join(build, 'index_bg.wasm')) },
    ],
    d1Databases: { DB: { id: '00000000-0000-0000-0000-000000000000' } },
    bindings,
    // As the deployment routes them: /api/… to the API, the rest to the portal.
    ...(name === 'api' ? { routes: ['localhost/api/*'] } : {}),
  };
}

const started = performance.now();
const mf = new Miniflare(convertV4MiniflareOptions({
  resourcePersistencePath: path.join(stateDir, 'v3'),
  workers: [worker('portal'), worker('api')],
}));
await mf.ready;
const startMs = performance.now() - started;

// send(wire) — the request into workerd; the response and its round trip from Node in µs.
async function send(wire) {
  const url = `http://localhost:8787${wire.path}`;
  const init = {
    method: wire.method,
    headers: [...wire.headers, ['x-bench-client', wire.client ?? '192.0.2.1']],
    body: wire.body ? Buffer.from(wire.body, 'base64') : undefined,
    redirect: 'manual',
  };
  const started = performance.now();
  const response = await mf.dispatchFetch(url, init);
  const body = Buffer.from(await response.arrayBuffer());
  return { response, body, us: (performance.now() - started) * 1000 };
}

// workerd's clock inside the isolate ticks in whole milliseconds, too coarse for a request of
// a few hundred µs: the handler's time is the round trip from Node less the median round trip
// of an empty request into the same worker (per worker), and the
// store's time, measured inside, is only right on average (bench/runtime/report.mjs uses means).
async function floor(path) {
  const samples = [];
  for (let i = 0; i < 220; i++) {
    const { us } = await send({ method: 'GET', path, headers: [], body: '' });
    if (i >= 20) samples.push(us);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}
process.stdout.write(`${JSON.stringify({ ready: true, start_ms: startMs })}\n`);

// Measured after the first request, so that one finds the worker cold.
let floors;

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const wire = JSON.parse(line);
  const { response, body, us } = await send(wire);
  if (!floors) {
    floors = { portal: await floor('/__bench/floor'), api: await floor('/api/__bench/floor') };
    process.stderr.write(`workerd.mjs: empty round trips ${floors.portal.toFixed(0)} µs (portal), ${floors.api.toFixed(0)} µs (API)\n`);
  }
  const headers = [];
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    if (!name.startsWith('x-bench-')) headers.push([name, value]);
  }
  for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
  const number = (name) => Number(response.headers.get(name) ?? 'NaN');
  process.stdout.write(`${JSON.stringify({
    status: response.status,
    headers,
    body: body.toString('base64'),
    handler_us: us - (wire.path.startsWith('/api/') ? floors.api : floors.portal),
    isolate_handler_us: number('x-bench-handler-us'),
    store_us: number('x-bench-store-us'),
    store_calls: number('x-bench-store-calls'),
  })}\n`);
}
await mf.dispose();
