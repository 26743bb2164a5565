// bench/latency.mjs — sizes and latencies of the built portal and api on both runtimes, each on
// a stack started like the e2e tests' (e2e/harness.mjs): `workers` is wrangler dev (workerd, a
// fresh local D1), `spin` the local Spin host (carefront-spin-host on wasmtime, a fresh SQLite
// file); both with the demo data. The runtimes are measured one after the other, never at once.
//
// - wasm size of each build, raw and gzip -9 (what is shipped on deploy / cold start): the
//   workers' index_bg.wasm and the Spin components in build/spin/.
// - GET /home signed in: one person enrols and signs in with a passkey in headless Chromium (virtual
//   authenticator); their cookies then drive N_HOME (200) sequential GETs from Node's fetch,
//   timed from sending the request to the last body byte, after 10 untimed warm-up requests.
// - POST /sign-in/finish: N_SIGNIN (50) full sign-in ceremonies in the browser (sign out, open
//   /sign-in, the authenticator answers). Each is timed with Chromium's own network timing of that
//   request (request sent → response end), so the browser's WebAuthn work and page loads are not
//   counted, only the server's verification of the assertion plus the loopback hop.
// On workers both include wrangler dev's local proxy in front of workerd; on Spin the host makes a
// fresh instance of the component for every request, as Spin does. Upper bounds for the handlers.
//
// BENCH_RUNTIMES (default `workers,spin`) picks the runtimes.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import {
  createPasskey, launchBrowser, newPerson, openInvitation, signIn,
} from '../e2e/browser.mjs';
import { RUNTIMES, repoRoot, startStack } from '../e2e/harness.mjs';

const N_HOME = Number(process.env.N_HOME ?? 200);
const N_SIGNIN = Number(process.env.N_SIGNIN ?? 50);
const runtimes = (process.env.BENCH_RUNTIMES ?? RUNTIMES.join(',')).split(',').map((r) => r.trim()).filter(Boolean);
for (const runtime of runtimes) {
  if (!RUNTIMES.includes(runtime)) throw new Error(`BENCH_RUNTIMES: unknown runtime ${runtime}`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (value) => (value === undefined ? '-' : `${value.toFixed(1)} ms`);
const kib = (bytes) => (bytes === undefined ? '-' : `${(bytes / 1024).toFixed(0)} KiB`);

const WASM = {
  workers: (crate) => path.join(repoRoot, crate, 'build', 'index_bg.wasm'),
  spin: (crate) => path.join(repoRoot, 'build', 'spin', `carefront_${crate}.wasm`),
};
const LABEL = {
  workers: 'workers: wrangler dev (workerd) with local D1',
  spin: 'spin: carefront-spin-host (wasmtime) with SQLite',
};
const REQUESTS = ['GET /home (signed in)', 'POST /sign-in/finish (passkey)'];

/** { crate: { raw, gzip } } for one runtime's build. */
function sizes(runtime) {
  return Object.fromEntries(['portal', 'api'].map((crate) => {
    const file = WASM[runtime](crate);
    if (!existsSync(file)) throw new Error(`${file} is missing: run bench/run, which builds it`);
    const wasm = readFileSync(file);
    return [crate, { raw: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length }];
  }));
}

/** The latency samples of one runtime: [home, finish] in milliseconds. */
async function measure(runtime, browser) {
  const stack = await startStack({ runtime, logLevel: 'warn' });
  const person = await newPerson(browser);
  try {
    const { page, context } = person;
    await openInvitation(page, stack.invitations[0]);
    await createPasskey(page);

    // (a) the signed-in home page, from Node with the browser's cookies
    const cookie = (await context.cookies(stack.portalUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const home = [];
    for (let i = 0; i < N_HOME + 10; i++) {
      const start = performance.now();
      const response = await fetch(`${stack.portalUrl}/home`, { headers: { cookie }, redirect: 'manual' });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${runtime}: GET /home answered ${response.status}`);
      if (i >= 10) home.push(performance.now() - start);
    }

    // (b) passkey sign-in verification, timed by Chromium
    const finish = [];
    for (let i = 0; i < N_SIGNIN; i++) {
      // Sign out sits in the menu, folded away on a narrow screen.
      const signOut = page.getByRole('button', { name: 'Sign out', exact: true });
      if (!(await signOut.isVisible())) await page.locator('details.app-menu > summary').click();
      await signOut.click();
      await page.waitForURL((url) => url.pathname !== '/home');
      const response = await signIn(page, stack.portalUrl);
      await response.finished();
      if (!response.ok()) throw new Error(`${runtime}: /sign-in/finish answered ${response.status()}`);
      const timing = response.request().timing();
      finish.push(timing.responseEnd - timing.requestStart);
    }
    return [home, finish].map((samples) => {
      const sorted = [...samples].sort((a, b) => a - b);
      return { n: sorted.length, median: percentile(sorted, 50), p99: percentile(sorted, 99) };
    });
  } finally {
    await person.context.close();
    await stack.stop();
  }
}

const size = Object.fromEntries(runtimes.map((runtime) => [runtime, sizes(runtime)]));
const latency = {};
const browser = await launchBrowser();
try {
  for (const runtime of runtimes) latency[runtime] = await measure(runtime, browser);
} finally {
  await browser.close();
}

const pad = (text, width = 15) => String(text).padStart(width);
console.log('\ncarefront bench on this machine');
for (const runtime of runtimes) console.log(`  ${LABEL[runtime]}`);

console.log(`\n${'wasm'.padEnd(8)}${runtimes.map((r) => pad(`${r} raw`) + pad(`${r} gzip`)).join('')}`);
for (const crate of ['portal', 'api']) {
  console.log(`${crate.padEnd(8)}${runtimes.map((r) => pad(kib(size[r][crate].raw)) + pad(kib(size[r][crate].gzip))).join('')}`);
}

console.log(`\n${'request'.padEnd(31)}${pad('n', 4)}${runtimes.map((r) => pad(`${r} median`) + pad(`${r} p99`)).join('')}`);
REQUESTS.forEach((name, i) => {
  const cells = runtimes.map((r) => pad(ms(latency[r][i].median)) + pad(ms(latency[r][i].p99))).join('');
  console.log(`${name.padEnd(31)}${pad(latency[runtimes[0]][i].n, 4)}${cells}`);
});
console.log();
