// e2e/first-screen.test.mjs — what people come for is on the first screen of a phone (issue 11):
// on a 390 × 844 CSS px screen, Margaret's home and medicines pages and her son Sam's home show
// today's next visit and today's medicines without scrolling, in normal print and in 28 point
// large print. Checked by where the elements are, not by their order in the HTML.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chooseLargePrint, enrolled, startStackAndBrowser } from './pages.mjs';

const SCREEN = { width: 390, height: 844 };

let stack;
let browser;

before(async () => {
  ({ stack, browser } = await startStackAndBrowser());
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * Where the page's first element matching each selector ends, in CSS px from the top of the page
 * when it is opened (null when there is none), and whether the page scrolls sideways.
 */
async function positions(page, path, selectors) {
  await page.goto(`${stack.portalUrl}${path}`);
  return page.evaluate((wanted) => {
    const found = {};
    for (const [name, selector] of Object.entries(wanted)) {
      const element = document.querySelector(selector);
      const box = element?.getBoundingClientRect();
      found[name] = box && box.height > 0 ? { top: Math.round(box.top + window.scrollY), bottom: Math.round(box.bottom + window.scrollY) } : null;
    }
    found.scrollsSideways = document.documentElement.scrollWidth > document.documentElement.clientWidth;
    return found;
  }, selectors);
}

/** Checks every one of `selectors` is on the page and ends within the first screen. */
function onFirstScreen(label, found, selectors) {
  const report = Object.keys(selectors).map((name) => `${name}: ${found[name] ? `${found[name].top}–${found[name].bottom} px` : 'absent'}`).join(', ');
  console.log(`${label} — ${report}`);
  for (const name of Object.keys(selectors)) {
    assert.ok(found[name], `${label}: ${name} (${selectors[name]}) is on the page`);
    assert.ok(found[name].bottom <= SCREEN.height, `${label}: ${name} ends at ${found[name].bottom} px, below the first ${SCREEN.height} px (${report})`);
  }
  assert.equal(found.scrollsSideways, false, `${label}: no sideways scrolling`);
}

// The Today card's parts: the next visit's line, and today's medicines (the first dose, or the
// one-line summary a family carer's card shows).
const CARD = {
  'next visit': '#today-person-margaret .app-today__next',
  'medicines today': '#today-person-margaret .app-today__doses > li, #today-person-margaret p.app-today__doses',
};
// On the medicines page: today's heading, and today's first dose down to its status (given,
// refused, due…); who gave it may follow below the fold.
const MEDICINES = {
  'today heading': '#today',
  "today's first dose and its status": '.app-doses__item .govuk-tag',
};

test("Margaret's next visit and today's medicines are on her first screen, in normal and large print", async () => {
  const margaret = await enrolled(browser, stack, 'Margaret Okafor', SCREEN);
  for (const print of ['normal print', '28 point large print']) {
    if (print !== 'normal print') await chooseLargePrint(margaret.page, stack.portalUrl, 28);
    onFirstScreen(`Margaret's home, ${print}`, await positions(margaret.page, '/home', CARD), CARD);
    onFirstScreen(`Margaret's medicines, ${print}`, await positions(margaret.page, '/people/person-margaret/medicines', MEDICINES), MEDICINES);
  }
  assert.equal(await margaret.page.locator('html.app-large-print--28').count(), 1, 'the last pages were in 28 point large print');
});

test("Sam sees his mother's next visit and today's medicines on his first screen, in normal and large print", async () => {
  const sam = await enrolled(browser, stack, 'Sam Okafor', SCREEN);
  for (const print of ['normal print', '28 point large print']) {
    if (print !== 'normal print') await chooseLargePrint(sam.page, stack.portalUrl, 28, 'person-sam');
    onFirstScreen(`Sam's home, ${print}`, await positions(sam.page, '/home', CARD), CARD);
    onFirstScreen(`Margaret's medicines as Sam sees them, ${print}`, await positions(sam.page, '/people/person-margaret/medicines', MEDICINES), MEDICINES);
  }
  assert.equal(await sam.page.locator('html.app-large-print--28').count(), 1, "Sam's pages were in 28 point large print");
});
