// bench/latency.mjs — sizes and latencies of the built workers, on a stack started like the e2e
// tests' (e2e/harness.mjs: wrangler dev, workerd, a fresh local D1 with the demo data).
//
// - wasm size of each worker, raw and gzip -9 (what is shipped on deploy / cold start).
// - GET /home signed in: one person enrols and signs in with a passkey in headless Chromium (virtual
//   authenticator); their cookies then drive N_HOME (200) sequential GETs from Node's fetch,
//   timed from sending the request to the last body byte, after 10 untimed warm-up requests.
// - POST /sign-in/finish: N_SIGNIN (50) full sign-in ceremonies in the browser (sign out, open
//   /sign-in, the authenticator answers). Each is timed with Chromium's own network timing of that
//   request (request sent → response end), so the browser's WebAuthn work and page loads are not
//   counted, only the server's verification of the assertion plus the loopback hop.
// Both include wrangler dev's local proxy in front of workerd, so they are upper bounds for the
// worker itself.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import {
  createPasskey, launchBrowser, newPerson, openInvitation, signIn,
} from '../e2e/browser.mjs';
import { repoRoot, startStack } from '../e2e/harness.mjs';

const N_HOME = Number(process.env.N_HOME ?? 200);
const N_SIGNIN = Number(process.env.N_SIGNIN ?? 50);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (value) => `${value.toFixed(1)} ms`;
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

const sizes = ['portal', 'api'].map((crate) => {
  const wasm = readFileSync(path.join(repoRoot, crate, 'build', 'index_bg.wasm'));
  return { crate, raw: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length };
});

const stack = await startStack({ logLevel: 'warn' });
const browser = await launchBrowser();
try {
  const person = await newPerson(browser);
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
    if (response.status !== 200) throw new Error(`GET /home answered ${response.status}`);
    if (i >= 10) home.push(performance.now() - start);
  }

  // (b) passkey sign-in verification, timed by Chromium
  const finish = [];
  for (let i = 0; i < N_SIGNIN; i++) {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname !== '/home');
    const response = await signIn(page, stack.portalUrl);
    await response.finished();
    if (!response.ok()) throw new Error(`/sign-in/finish answered ${response.status()}`);
    const timing = response.request().timing();
    finish.push(timing.responseEnd - timing.requestStart);
  }

  const rows = [['GET /home (signed in)', home], ['POST /sign-in/finish (passkey)', finish]]
    .map(([name, samples]) => {
      const sorted = [...samples].sort((a, b) => a - b);
      return { name, n: sorted.length, median: percentile(sorted, 50), p99: percentile(sorted, 99) };
    });

  console.log('\ncarefront bench: wrangler dev (workerd) with local D1 on this machine\n');
  console.log(`${'worker'.padEnd(8)} ${'wasm raw'.padStart(10)} ${'wasm gzip'.padStart(10)}`);
  for (const s of sizes) console.log(`${s.crate.padEnd(8)} ${kib(s.raw).padStart(10)} ${kib(s.gzip).padStart(10)}`);
  console.log(`\n${'request'.padEnd(32)} ${'n'.padStart(4)} ${'median'.padStart(9)} ${'p99'.padStart(9)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(32)} ${String(r.n).padStart(4)} ${ms(r.median).padStart(9)} ${ms(r.p99).padStart(9)}`);
  }
  console.log();
} finally {
  await browser.close();
  await stack.stop();
}
