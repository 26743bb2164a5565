// e2e/screenshots.mjs — the review screenshots (run by scripts/screenshots): the first screen of
// the pages people come for on a 390 × 844 phone, in normal print and in 28 point large print,
// and the council's invitation letter, written to e2e/screenshots/. They are review artefacts: a
// change to a page shows in the pull request as a changed picture.

import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { launchBrowser } from './browser.mjs';
import { repoRoot, startStack } from './harness.mjs';
import { chooseLargePrint, enrolled } from './pages.mjs';

const out = path.join(repoRoot, 'e2e', 'screenshots');
const PHONE = { width: 390, height: 844 };
const PAGES = [
  ['home', '/home'],
  ['medicines', '/people/person-margaret/medicines'],
  ['visits', '/people/person-margaret/visits'],
  ['access', '/access'],
  ['access-log', '/access-log'],
];

const stack = await startStack();
const browser = await launchBrowser();
try {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const margaret = await enrolled(browser, stack, 'Margaret Okafor', PHONE);
  const shoot = async (page, name) => {
    await page.screenshot({ path: path.join(out, `${name}.png`) });
    console.log(`e2e/screenshots/${name}.png`);
  };
  for (const [name, where] of PAGES) {
    await margaret.page.goto(`${stack.portalUrl}${where}`);
    await shoot(margaret.page, name);
  }
  const daniel = await enrolled(browser, stack, 'Daniel Hughes', PHONE);
  // Arthur has not enrolled yet: his is an ordinary invitation (Margaret's would be a recovery one).
  await daniel.page.goto(`${stack.portalUrl}/council/people/person-arthur/invitations`);
  // The seed's invitation is waiting, so the page offers to reissue it (a new letter).
  await daniel.page.getByRole('button', { name: /make (the|a new) letter/ }).click();
  await daniel.page.waitForSelector('.app-letter__qr svg');
  await shoot(daniel.page, 'invitation-letter');

  await chooseLargePrint(margaret.page, stack.portalUrl, 28);
  for (const [name, where] of PAGES) {
    await margaret.page.goto(`${stack.portalUrl}${where}`);
    await shoot(margaret.page, `${name}-large-print`);
  }
} finally {
  await browser.close();
  await stack.stop();
}
