// bench/load.mjs — throughput and latency of a signed read (GET /api/v1/people) under load on
// 127.0.0.1, for each runtime in turn (CAREFRONT_BENCH_RUNTIMES, default "workers,spin"). Every
// request is signed afresh (a new nonce each time: the API refuses a replay, so a replaying load
// generator such as wrk or oha cannot be used). A closed loop of CONCURRENCY clients runs for
// SECONDS after a short warm-up; prints requests per second, median and p99, and every answer
// that was not 2xx, counted by status (a 503 means the store stayed busy or down after the
// retries inside the request).
//
// WRITERS (default 1) browsers meanwhile send wrong invitation codes to the portal, each a write
// (the per-source attempt counter) from the other worker or component on the same database: the
// load under which the API used to answer 503 "store unavailable". WRITERS=0 reads alone.

import { writeFileSync } from 'node:fs';
import { startStack } from '../e2e/harness.mjs';
import { Client, forms } from '../e2e/http.mjs';
import { signedFetch } from '../e2e/sign.mjs';

const concurrency = Number(process.env.CONCURRENCY ?? 16);
const seconds = Number(process.env.SECONDS_PER_RUN ?? 10);
const writers = Number(process.env.WRITERS ?? 1);
const runtimes = (process.env.CAREFRONT_BENCH_RUNTIMES ?? 'workers,spin').split(',').filter(Boolean);
const path = '/api/v1/people?limit=20';

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))];
}

/** Counts one answer's status in `statuses` ({ status: count }). */
function count(statuses, status) {
  statuses[status] = (statuses[status] ?? 0) + 1;
}

/** Until `deadline`, sends wrong invitation codes from a fresh browser; counts the answers. */
async function write(stack, deadline, statuses) {
  const client = new Client(stack.portalUrl);
  const form = forms((await client.request('/invitation')).body).find((candidate) => 'csrf' in candidate.fields);
  if (!form) throw new Error('the invitation page has no form with a CSRF token');
  while (performance.now() < deadline) {
    const answer = await client.postForm('/invitation', { ...form.fields, code: 'AAAA-AAAA-AAAA-AAAA-AAAA' });
    count(statuses, answer.status);
  }
}

async function load(stack, credential, durationMs) {
  const latencies = [];
  const failures = {};
  const written = {};
  const deadline = performance.now() + durationMs;
  const client = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const response = await signedFetch(stack.apiUrl, credential, path);
      await response.arrayBuffer();
      if (response.ok) latencies.push(performance.now() - started); else count(failures, response.status);
    }
  };
  const began = performance.now();
  await Promise.all([
    ...Array.from({ length: concurrency }, client),
    ...Array.from({ length: writers }, () => write(stack, deadline, written)),
  ]);
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, median: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), count: latencies.length, failures, written };
}

/** `{503: 2, 500: 1}` as "503×2 500×1", or "none". */
function statuses(counts) {
  const entries = Object.entries(counts);
  return entries.length ? entries.map(([status, n]) => `${status}×${n}`).join(' ') : 'none';
}

const rows = [];
for (const runtime of runtimes) {
  const stack = await startStack({ runtime, logLevel: 'warn' });
  try {
    const credential = stack.credentials.find((c) => c.permissions.includes('people:read'));
    if (!credential) throw new Error('the seed made no credential with people:read');
    await load(stack, credential, 2_000); // warm-up, not counted
    rows.push({ runtime, ...(await load(stack, credential, seconds * 1000)) });
  } finally {
    await stack.stop();
  }
}
console.log(`signed GET ${path}, ${concurrency} concurrent clients, ${writers} portal writer(s), ${seconds} s each`);
console.log('runtime    requests/s   median ms   p99 ms   requests  not 2xx (API)          portal writes');
for (const row of rows) {
  console.log(`${row.runtime.padEnd(10)} ${row.rps.toFixed(0).padStart(10)} ${row.median.toFixed(1).padStart(11)} ${row.p99.toFixed(1).padStart(8)} ${String(row.count).padStart(10)}  ${statuses(row.failures).padEnd(22)} ${statuses(row.written)}`);
}
// bench/run's one table (bench/summary.mjs) reads the rows from BENCH_SUMMARY.
if (process.env.BENCH_SUMMARY) {
  writeFileSync(`${process.env.BENCH_SUMMARY}/load.json`, JSON.stringify({ path, concurrency, writers, seconds, rows }));
}
