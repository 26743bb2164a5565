// bench/runtime/report.mjs — one table from bench/runtime/run's reports (NAME=FILE, native
// first): per request and runtime, median and p99 of the handler's time inside the runtime,
// the median time waiting on the store, the handler's own work (its time in wasm where the
// runtime reports it, else handler less store, per request) and its ratio to native; then each
// runtime's cold start. Markdown on stdout.

import { readFileSync } from 'node:fs';
import os from 'node:os';

const reports = process.argv.slice(2).map((arg) => {
  const [name, file] = arg.split('=');
  return { name, report: JSON.parse(readFileSync(file, 'utf8')) };
});
const native = reports.find(({ name }) => name === 'native')?.report;
if (!native) throw new Error('no native report');

const ms = (us) => (us / 1000).toFixed(2);
const ratio = (value, base) => (base > 0 ? `${(value / base).toFixed(2)}×` : '-');
const LABEL = {
  native: 'native (in-process, release build, SQLite file)',
  workers: 'workers (workerd via Miniflare dispatchFetch, local D1)',
  spin: 'spin (local Spin host --bench, dev build on wasmtime 48, fresh instance per request, SQLite)',
};

const lines = [];
lines.push(`# The handler's own time inside each runtime (bench/runtime/run)`, '');
lines.push(`${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average ${os.loadavg()[0].toFixed(2)} at the end.`);
lines.push('Times in ms. "handler": native, the call into the router to its response; spin, the');
lines.push("host's call into a fresh instance of the pre-instantiated component (instantiation included,");
lines.push("as Spin does per request) to the end of the body; workers, Miniflare's dispatchFetch round trip");
lines.push('less the median round trip of an empty request into the same isolate (the clock inside');
lines.push('workerd ticks in whole ms). "store": the mean time a request waited on SQLite / D1 /');
lines.push('spin:sqlite (calls per request). "handler less store": the median over requests of handler less');
lines.push("store (native, spin), and for workers, where the store's spans tick in whole ms, handler median");
lines.push('less store mean. "in wasm" (spin): the median time the component\'s own code ran, from');
lines.push("wasmtime's call hooks (entering wasm or returning from the host, to leaving wasm or calling the");
lines.push('host), instantiation included; the host\'s side of each import, the local host\'s task');
lines.push('scheduling and its HTTP plumbing are not in it (the instantiation\'s median is in brackets).');
lines.push('"own": the handler\'s own work (routing, consent, templates, crypto): "in wasm" where the runtime');
lines.push('can tell, else handler less store. "÷ native": own over native\'s own.', '');
for (const { name } of reports) lines.push(`- ${name}: ${LABEL[name] ?? name}`);
lines.push('');
lines.push('| request | runtime | n | median | p99 | store mean (calls) | handler less store | in wasm (instantiation) | own ÷ native | median ÷ native |');
lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const request of Object.keys(native.requests)) {
  const base = native.requests[request];
  for (const { name, report } of reports) {
    const row = report.requests[request];
    if (!row) continue;
    const lessStore = name === 'workers' ? row.own_median_us : row.own_request_median_us;
    const guest = row.guest_median_us ?? null;
    const own = name === 'native' ? '1.00×' : ratio(guest ?? lessStore, base.own_request_median_us);
    const total = name === 'native' ? '1.00×' : ratio(row.median_us, base.median_us);
    const inWasm = guest === null ? '' : `${ms(guest)} (${ms(row.instantiate_median_us ?? 0)})`;
    lines.push(`| ${request} | ${name} | ${row.n} | ${ms(row.median_us)} | ${ms(row.p99_us)} | ${ms(row.store_mean_us)} (${row.store_calls}) | ${ms(lessStore)} | ${inWasm} | ${own} | ${total} |`);
  }
}
lines.push('', '| cold start | start: runtime up, module(s) compiled | first request (GET /sign-in) | spawn to ready |');
lines.push('|---|---:|---:|---:|');
for (const { name, report } of reports) {
  if (name === 'native') continue;
  lines.push(`| ${name} | ${report.start.start_ms.toFixed(0)} ms | ${ms(report.first_request_us)} ms | ${report.start.ready_ms.toFixed(0)} ms |`);
}
console.log(lines.join('\n'));
