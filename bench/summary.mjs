// bench/summary.mjs DIR — bench/run's one table, from what one run left in DIR (BENCH_SUMMARY):
// sizes.tsv (each shipped wasm: raw, gzip, the gzip target), runtime-NAME.json
// (bench/runtime/run's reports), load.json (bench/load.mjs) with api_load.txt (the native
// figure), scale-1000.tsv and scale-100000.tsv (bench/scale). Prints Markdown: one table, a
// row a measure, a column a runtime, each with its target and whether it is met.

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node bench/summary.mjs DIR');
const at = (name) => `${dir}/${name}`;
const read = (name) => (existsSync(at(name)) ? readFileSync(at(name), 'utf8') : null);
const json = (name) => {
  const text = read(name);
  return text === null ? null : JSON.parse(text);
};

const thousands = (n) => Math.round(n).toLocaleString('en-GB');
const ms = (us) => (us / 1000).toFixed(2);
const times = (x) => `${x.toFixed(2)}×`;
const met = (ok) => (ok === null ? '' : ok ? 'yes' : '**no**');
const rows = [];
const row = (part, measure, cells, target, ok) => rows.push({ part, measure, cells, target, ok });

// Sizes: name raw gzip target-gzip, one line each.
for (const line of (read('sizes.tsv') ?? '').trim().split('\n').filter(Boolean)) {
  const [name, raw, gzip, target] = line.split('\t');
  const runtime = name.endsWith('-spin') ? 'spin' : 'workers';
  const cells = { [runtime]: `${thousands(+gzip)} (raw ${thousands(+raw)})` };
  row('size', `${name.replace(/-(spin|worker)$/, '')} wasm, gzip bytes`, cells, `≤ ${thousands(+target)}`, +gzip <= +target);
}

// Inside each runtime: the handler's own time and its ratio to native, then cold starts.
const reports = Object.fromEntries(
  ['native', 'workers', 'spin'].map((name) => [name, json(`runtime-${name}.json`)]).filter(([, report]) => report),
);
const native = reports.native;
if (native) {
  for (const request of Object.keys(native.requests)) {
    const base = native.requests[request].own_request_median_us;
    const cells = {};
    let worst = 0;
    for (const [name, report] of Object.entries(reports)) {
      const r = report.requests[request];
      if (!r) continue;
      const lessStore = name === 'workers' ? r.own_median_us : r.own_request_median_us;
      // The component's time in wasm where the runtime reports it (Spin), else handler less store.
      const own = r.guest_median_us ?? lessStore;
      const ratio = base > 0 ? own / base : 0;
      if (name !== 'native') worst = Math.max(worst, ratio);
      const how = r.guest_median_us == null ? '' : ' in wasm';
      const also = r.guest_median_us == null ? '' : `, handler less store ${ms(lessStore)}`;
      cells[name] =
        name === 'native'
          ? `${ms(own)} ms`
          : `${ms(own)} ms${how} (${times(ratio)}); median ${ms(r.median_us)}, p99 ${ms(r.p99_us)}, store ${ms(r.store_mean_us)}${also}`;
    }
    row('own time', request, cells, '≤ 2× native', Object.keys(reports).length > 1 ? worst <= 2 : null);
  }
  const cold = {};
  for (const [name, report] of Object.entries(reports)) {
    if (name === 'native') continue;
    cold[name] = `${thousands(report.start.start_ms)} ms + first request ${ms(report.first_request_us)} ms`;
  }
  row('cold start', 'runtime up with the module compiled, then GET /sign-in', cold, 'measured', null);
}

// Under load.
const load = json('load.json');
if (load) {
  const cells = {};
  let errors = 0;
  for (const r of load.rows) {
    const failed = Object.values(r.failures).reduce((sum, n) => sum + n, 0);
    errors += failed;
    cells[r.runtime] = `${r.rps.toFixed(0)}/s, median ${r.median.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${failed} not 2xx of ${thousands(r.count + failed)}`;
  }
  const nativeLine = (read('api_load.txt') ?? '').split('\n').find((line) => line.startsWith('signed GET'));
  if (nativeLine) cells.native = `${nativeLine.trim().split(/\s+/).at(-3)}/s, one client`;
  row('under load', `signed GET ${load.path}, ${load.concurrency} clients, ${load.writers} portal writer(s), ${load.seconds} s`, cells, 'no 503s', errors === 0);
}

// At a county's scale (native, SQLite): each request's 1k and 100k medians and the ratio.
const scale = (name) => {
  const best = {};
  for (const line of (read(name) ?? '').trim().split('\n').filter(Boolean)) {
    const [request, median, p99] = line.split('\t');
    if (!(request in best) || +median < best[request].median) best[request] = { median: +median, p99: +p99 };
  }
  return best;
};
const small = scale('scale-1000.tsv');
const large = scale('scale-100000.tsv');
for (const request of Object.keys(small)) {
  if (!large[request]) continue;
  const ratio = large[request].median / small[request].median;
  const cell = `${small[request].median.toFixed(3)} → ${large[request].median.toFixed(3)} ms (${times(ratio)})`;
  const counted = request.includes('every figure counted');
  row('1k → 100k people', request, { native: cell }, counted ? 'measured (the first look after a change)' : '≤ 1.5×', counted ? null : ratio <= 1.5);
}

const columns = ['native', 'workers', 'spin'];
const out = [];
out.push(`# bench/run, ${new Date().toISOString().slice(0, 10)}`, '');
out.push(`${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average ${os.loadavg()[0].toFixed(2)} at the end. One run of`);
out.push('bench/run: sizes as built, bench/runtime/run, bench/load and bench/scale (their own files say how each is measured).', '');
out.push(`| part | measure | ${columns.join(' | ')} | target | met |`);
out.push(`|---|---|${columns.map(() => '---').join('|')}|---|---|`);
for (const r of rows) out.push(`| ${r.part} | ${r.measure} | ${columns.map((c) => r.cells[c] ?? '').join(' | ')} | ${r.target} | ${met(r.ok)} |`);
console.log(out.join('\n'));
