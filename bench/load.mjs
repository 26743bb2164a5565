// bench/load.mjs — throughput and latency of a signed read (GET /api/v1/people) under load on
// 127.0.0.1, for each runtime in turn (CAREFRONT_BENCH_RUNTIMES, default "workers,spin"). Every
// request is signed afresh (a new nonce each time: the API refuses a replay, so a replaying load
// generator such as wrk or oha cannot be used). A closed loop of CONCURRENCY clients runs for
// SECONDS after a short warm-up; prints requests per second, median and p99.

import { startStack } from '../e2e/harness.mjs';
import { signedFetch } from '../e2e/sign.mjs';

const concurrency = Number(process.env.CONCURRENCY ?? 16);
const seconds = Number(process.env.SECONDS_PER_RUN ?? 10);
const runtimes = (process.env.CAREFRONT_BENCH_RUNTIMES ?? 'workers,spin').split(',').filter(Boolean);
const path = '/api/v1/people?limit=20';

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))];
}

async function load(stack, credential, durationMs) {
  const latencies = [];
  let failures = 0;
  const deadline = performance.now() + durationMs;
  const client = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const response = await signedFetch(stack.apiUrl, credential, path);
      await response.arrayBuffer();
      if (response.status === 200) latencies.push(performance.now() - started); else failures += 1;
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, median: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), count: latencies.length, failures };
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
console.log(`signed GET ${path}, ${concurrency} concurrent clients, ${seconds} s each`);
console.log('runtime    requests/s   median ms   p99 ms   requests  failures');
for (const row of rows) {
  console.log(`${row.runtime.padEnd(10)} ${row.rps.toFixed(0).padStart(10)} ${row.median.toFixed(1).padStart(11)} ${row.p99.toFixed(1).padStart(8)} ${String(row.count).padStart(10)} ${String(row.failures).padStart(9)}`);
}
