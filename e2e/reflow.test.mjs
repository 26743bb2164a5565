// e2e/reflow.test.mjs — WCAG 1.4.10 reflow: every page, for the person, the council's caseworker
// and a provider's carer, fits 320 CSS px with no sideways scrolling, in normal print and in the
// person's 28 point large print. Runs against the runtime named by CAREFRONT_RUNTIME.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chooseLargePrint, councilPages, enrolled, margaretPages, overflow, providerPages, startStackAndBrowser } from './pages.mjs';

let stack;
let browser;

before(async () => {
  ({ stack, browser } = await startStackAndBrowser());
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Visit each of `pages` and list those wider than the viewport. */
async function wider(page, pages, label) {
  const found = [];
  for (const [name, path] of pages) {
    await page.goto(`${stack.portalUrl}${path}`);
    const by = await overflow(page);
    if (by > 0) found.push(`${name}${label} (${path}): ${by} px too wide`);
  }
  return found;
}

test('every page fits 320 CSS px, in normal and 28 point large print', async () => {
  const margaret = await enrolled(browser, stack, 'Margaret Okafor');
  const daniel = await enrolled(browser, stack, 'Daniel Hughes');
  const priya = await enrolled(browser, stack, 'Priya Shah');
  const problems = [
    ...await wider(margaret.page, margaretPages(), ''),
    ...await wider(daniel.page, councilPages(), ''),
    ...await wider(priya.page, providerPages(), ''),
  ];
  await chooseLargePrint(margaret.page, stack.portalUrl, 28);
  assert.equal(await margaret.page.locator('html.app-large-print--28').count(), 1, 'her pages are in 28 point large print');
  problems.push(...await wider(margaret.page, margaretPages(), ' (large print)'));
  assert.deepEqual(problems, [], `pages that scroll sideways at 320 px:\n${problems.join('\n')}`);
});
