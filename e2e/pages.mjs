// e2e/pages.mjs — the portal's pages as each kind of person sees them, for the checks that go
// over every page (reflow at 320 CSS px, axe-core) and for the review screenshots
// (scripts/screenshots). Each person enrols from the seed's invitation in their own browser.

import assert from 'node:assert/strict';
import { createPasskey, launchBrowser, newPerson, openInvitation } from './browser.mjs';
import { startStack } from './harness.mjs';

/** The seed's invitation for `name`. */
export function seededInvitation(stack, name) {
  const found = stack.invitations.find((invitation) => invitation.display_name === name);
  assert.ok(found, `the seed invites ${name}`);
  return found;
}

/** Enrol `name` from the seed's invitation in a new browser `width` px wide. */
export async function enrolled(browser, stack, name, { width = 320, height = 720 } = {}) {
  const person = await newPerson(browser, { width, height });
  await openInvitation(person.page, seededInvitation(stack, name));
  await createPasskey(person.page);
  return person;
}

/** Margaret's own pages: her record, what she shares, her account. */
export function margaretPages() {
  const id = 'person-margaret';
  return [
    ['home', '/home'],
    ['person', `/people/${id}`],
    ...['care-plan', 'guide', 'medicines', 'visits', 'contacts', 'documents', 'comments', 'comments/new', 'discussions', 'needs', 'print', 'download', 'emergency-code']
      .map((name) => [name, `/people/${id}/${name}`]),
    ['access', '/access'],
    ['add access', '/access/add'],
    ['edit access', '/access/grant-margaret-sam/edit'],
    ['access log', '/access-log'],
    ['passkeys', '/passkeys'],
    ['how we contact you', '/account/notifications'],
    ['not found', `/people/${id}/no-such-page`],
  ];
}

/** The council caseworker's pages. */
export function councilPages() {
  return [
    ['council people', '/council/people?q=Okafor'],
    ['add a person', '/council/people/add'],
    ['council person', '/council/people/person-margaret'],
    ['invitations', '/council/people/person-margaret/invitations'],
    ['not enrolled yet', '/council/invitations'],
    ['monitoring', '/council/monitoring'],
    ['people a provider supports', '/council/monitoring/org-brookside-care/people'],
  ];
}

/** A provider's staff member's pages. */
export function providerPages() {
  return [
    ['people I support today', '/provider'],
    ['comments waiting', '/provider/comments'],
    ['record a discussion', '/provider/people/person-margaret/discussions/new'],
    ['provider staff', '/provider/staff'],
    ['consent evidence', '/provider/consent-evidence'],
    ['duty contact', '/provider/duty-contact'],
  ];
}

/** The signed-in person (Margaret unless `personId` says) asks for large print at `points` (20, 24 or 28). */
export async function chooseLargePrint(page, portalUrl, points, personId = 'person-margaret') {
  await page.goto(`${portalUrl}/people/${personId}/needs`);
  await page.getByLabel(`Yes, at least ${points} point`).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL((url) => url.search.includes('done=saved'));
}

/** How far `page` overflows its viewport sideways, in CSS px (0 when it reflows). */
export function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/**
 * Start a stack (e2e/harness.mjs) and a browser together; if either fails, the other is stopped
 * and the failure thrown. Resolves with `{ stack, browser }`.
 */
export async function startStackAndBrowser() {
  const [started, launched] = await Promise.allSettled([startStack(), launchBrowser()]);
  const failed = [started, launched].find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await launched.value?.close();
    await started.value?.stop();
    throw failed.reason;
  }
  return { stack: started.value, browser: launched.value };
}
