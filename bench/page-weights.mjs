// bench/page-weights.mjs — the weight of the pages people come for (HTML, and the stylesheet and
// script every page loads), raw and gzipped, for Margaret on the demo, on the local runtime named
// by CAREFRONT_RUNTIME (default workers; build it first: scripts/build-wasm or scripts/build-spin).
// Usage: node bench/page-weights.mjs

import { gzipSync } from 'node:zlib';
import { launchBrowser } from '../e2e/browser.mjs';
import { startStack } from '../e2e/harness.mjs';
import { enrolled, margaretPages } from '../e2e/pages.mjs';

const WANTED = ['home', 'person', 'medicines', 'visits', 'access', 'access log'];
const stack = await startStack();
const browser = await launchBrowser();
try {
  const margaret = await enrolled(browser, stack, 'Margaret Okafor', { width: 390, height: 844 });
  const rows = [];
  const assets = new Set();
  for (const [name, path] of margaretPages().filter(([name]) => WANTED.includes(name))) {
    const response = await margaret.page.goto(`${stack.portalUrl}${path}`);
    const html = await response.body();
    rows.push([name, html.length, gzipSync(html).length]);
    for (const [asset] of html.toString().matchAll(/\/assets\/[\w.-]+\.(?:css|js)/g)) assets.add(asset);
  }
  for (const asset of assets) {
    const body = Buffer.from(await (await fetch(`${stack.portalUrl}${asset}`)).arrayBuffer());
    rows.push([asset, body.length, gzipSync(body).length]);
  }
  console.log('page or asset'.padEnd(24), 'bytes'.padStart(8), 'gzip'.padStart(8));
  for (const [name, raw, gz] of rows) console.log(name.padEnd(24), String(raw).padStart(8), String(gz).padStart(8));
} finally {
  await browser.close();
  await stack.stop();
}
