// e2e/browser.test.mjs — the passkey journeys in headless Chromium with a virtual authenticator:
// invitation → create a passkey → home → passkeys → sign out → sign in; a tampered session
// cookie and a replayed sign-in assertion are refused; a second person enrols on their own; and
// axe-core finds no accessibility violations on the main pages at 320 px wide. Runs against the
// runtime named by CAREFRONT_RUNTIME (workers or spin; see e2e/harness.mjs).

import AxeBuilder from '@axe-core/playwright';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createPasskey, launchBrowser, newPerson, openInvitation, sessionCookie, signIn, waitForPath,
} from './browser.mjs';
import { runtime, startStack } from './harness.mjs';
import { Client, forms } from './http.mjs';
import { signedFetch } from './sign.mjs';

let stack;
let browser;
let first; // the first person's browser context, page and authenticator
const axeFindings = new Map(); // page name → violations

before(async () => {
  // allSettled, so that a stack that fails to start does not leave Chromium running (and the
  // test process hanging until its timeout): after() closes whatever did start.
  const [started, launched] = await Promise.allSettled([startStack(), launchBrowser()]);
  stack = started.value;
  browser = launched.value;
  for (const outcome of [started, launched]) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
  assert.ok(stack.invitations.length >= 2, 'the seed issues at least two invitations');
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Run axe-core on the page as it is now; the last test asserts there were no violations. */
async function axe(page, name) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  axeFindings.set(name, violations);
}

async function expectHome(page) {
  await assert.doesNotReject(
    page.getByRole('heading', { level: 1, name: /^Today \w+day \d{1,2} \w+$/ }).waitFor({ timeout: 5_000 }),
    'home is headed with today and its date',
  );
  assert.match(await page.title(), /^Your care /, 'the page is "Your care"');
}

/**
 * Open "Let someone see your information" (confirming with the passkey if it asks) and fill it
 * in: `name` may see her medicines for 30 days, for `why`.
 */
async function fillAddSomeone(page, name, why) {
  await page.goto(`${stack.portalUrl}/access/add`);
  if (await page.locator('[data-webauthn="authenticate"]').count() > 0) {
    const confirmed = page.waitForResponse((r) => new URL(r.url()).pathname === '/reauthenticate/finish');
    await page.locator('[data-webauthn="authenticate"]').click();
    assert.equal((await confirmed).status(), 200, 'the passkey confirmed it was her');
  }
  await page.getByLabel('Their name').waitFor();
  await page.getByLabel('Their name').fill(name);
  await page.getByLabel('Your medicines').check();
  const ends = new Date(Date.now() + 30 * 24 * 3600 * 1000);
  await page.getByLabel('Day').fill(String(ends.getUTCDate()));
  await page.getByLabel('Month').fill(String(ends.getUTCMonth() + 1));
  await page.getByLabel('Year').fill(String(ends.getUTCFullYear()));
  await page.getByLabel('Why do they need to see it?').fill(why);
}

describe(`a person with a passkey (${runtime})`, () => {
  test('enrols from an invitation and lands on their care plan', async () => {
    first = await newPerson(browser);
    const { page } = first;
    await page.goto(`${stack.portalUrl}/`);
    await axe(page, 'start');
    await page.goto(stack.invitations[0].url);
    await axe(page, 'invitation');
    await openInvitation(page, stack.invitations[0]);
    await axe(page, 'create passkey');
    await createPasskey(page);
    await expectHome(page);
    await assert.doesNotReject(
      page.getByRole('heading', { name: /care plan/i }).first().waitFor({ timeout: 5_000 }),
      'home shows the care plan summary',
    );
    await axe(page, 'home');
    assert.equal((await first.credentials()).length, 1, 'the authenticator holds one passkey');
    assert.ok(await sessionCookie(first.context), 'a session cookie is set');
  });

  test('sees the passkey listed', async () => {
    const { page } = first;
    await page.goto(`${stack.portalUrl}/passkeys`);
    await axe(page, 'passkeys');
    // Each listed passkey has its own Rename button.
    assert.equal(await page.getByRole('button', { name: /^Rename/ }).count(), 1, 'one passkey is listed');
  });

  test('an invitation works only once', async () => {
    const client = new Client(stack.portalUrl);
    const page = await client.request(stack.invitations[0].url);
    const form = forms(page.body).find((f) => f.method === 'post');
    const response = form ? await client.postForm(form.action || '/invitation', form.fields) : page;
    assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
  });

  test('a tampered session cookie does not open the care plan', async () => {
    const { value } = await sessionCookie(first.context);
    const home = (cookieValue) => fetch(`${stack.portalUrl}/home`, {
      headers: { cookie: `__Host-carefront_session=${cookieValue}` }, redirect: 'manual',
    });
    const genuine = await home(value);
    assert.equal(genuine.status, 200, 'the genuine cookie opens /home');
    const i = Math.floor(value.length / 2);
    const tampered = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
    const response = await home(tampered);
    assert.ok(response.status >= 300 && response.status < 400, `status ${response.status}`);
    assert.equal(new URL(response.headers.get('location'), stack.portalUrl).pathname, '/sign-in');
  });

  let finishRequest; // the JSON body and headers the browser POSTed to /sign-in/finish

  test('signs out, then signs in again with the passkey', async () => {
    const { page } = first;
    // On a phone the menu (with Sign out) is folded away, leaving the first screen to content.
    await page.locator('details.app-menu > summary').click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL((url) => url.pathname !== '/home');
    assert.equal(await sessionCookie(first.context), undefined, 'the session cookie is gone');
    await page.goto(`${stack.portalUrl}/home`);
    await waitForPath(page, '/sign-in');

    page.on('request', async (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/sign-in/finish') {
        finishRequest = { body: request.postData(), headers: await request.allHeaders() };
      }
    });
    const response = await signIn(page, stack.portalUrl);
    assert.ok(response.ok(), `/sign-in/finish answered ${response.status()}`);
    await expectHome(page);
  });

  // A replay must be refused by the single-use ceremony, not merely by the CSRF check (403).
  const refusedReplay = (status) => status >= 400 && status < 500 && status !== 403;
  const opensSession = (setCookie) => /__Host-carefront_session=[^;]/.test(setCookie ?? '');

  test('a replayed sign-in request, with its original cookies and token, opens no session', async () => {
    assert.ok(finishRequest?.body, 'the sign-in request was captured');
    const headers = Object.fromEntries(Object.entries(finishRequest.headers)
      .filter(([name]) => !/^(:|host$|content-length$|connection$|keep-alive$|transfer-encoding$)/i.test(name)));
    const response = await fetch(`${stack.portalUrl}/sign-in/finish`, {
      method: 'POST', headers, body: finishRequest.body, redirect: 'manual',
    });
    assert.ok(refusedReplay(response.status), `status ${response.status}`);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.ok(!opensSession(response.headers.get('set-cookie')), 'no session cookie is issued');
  });

  test('a replayed sign-in assertion in the signed-in browser changes nothing', async () => {
    const { page, context } = first;
    const before = (await sessionCookie(context))?.value;
    const csrf = await page.locator('input[name="csrf"]').first().inputValue(); // valid for this session
    const response = await context.request.post(`${stack.portalUrl}/sign-in/finish`, {
      data: finishRequest.body,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, origin: stack.portalUrl },
      maxRedirects: 0,
      failOnStatusCode: false,
    });
    assert.ok(refusedReplay(response.status()), `status ${response.status()}`);
    assert.match(response.headers()['content-type'] ?? '', /^application\/problem\+json/);
    assert.ok(!opensSession(response.headers()['set-cookie']), 'no new session cookie is issued');
    assert.equal((await sessionCookie(context))?.value, before, 'the session is unchanged');
  });
});

describe(`a second person (${runtime})`, () => {
  test('enrols with their own invitation in another browser and sees only their care', async () => {
    const second = await newPerson(browser);
    try {
      await openInvitation(second.page, stack.invitations[1]);
      await createPasskey(second.page);
      await expectHome(second.page);
      const text = `${await second.page.locator('main').innerText()} ${await second.page.textContent('.app-service-navigation')}`;
      assert.ok(text.includes(`Signed in as ${stack.invitations[1].display_name}`), 'the menu names whose account it is');
      assert.ok(!text.includes(stack.invitations[0].display_name),
        'the second person does not see the first person\'s name');
      assert.equal((await second.credentials()).length, 1);
      const [mine, theirs] = await Promise.all([sessionCookie(second.context), sessionCookie(first.context)]);
      assert.notEqual(mine.value, theirs.value);
    } finally {
      await second.context.close();
    }
  });
});

describe(`a person shares their medicines with their daughter (${runtime})`, () => {
  // The first person (Margaret, signed in above) lets her daughter see her medicines only.
  test('grants medicines only; the daughter sees them, gets "not found" for visits, and loses access at once on revocation', async () => {
    const { page } = first;
    const margaretId = stack.invitations[0].person_id;

    // Her own record pages, checked for accessibility on the way.
    await page.goto(`${stack.portalUrl}/people/${margaretId}/medicines`);
    await page.getByRole('heading', { name: 'Your medicines' }).waitFor();
    await axe(page, 'medicines');
    await page.goto(`${stack.portalUrl}/people/${margaretId}/visits`);
    await axe(page, 'visits');
    await page.goto(`${stack.portalUrl}/people/${margaretId}/needs`);
    await axe(page, 'needs');

    // Adding someone asks for the passkey again, unless she used it in the last few minutes.
    await fillAddSomeone(page, 'Dana Okafor', 'to help me with my tablets');
    await page.getByRole('button', { name: /give access/i }).click();
    const code = (await page.locator('main').innerText()).match(/Invitation code:\s*([0-9A-Z-]+)/)?.[1];
    assert.ok(code, 'the invitation code is shown once');

    const dana = await newPerson(browser);
    try {
      await openInvitation(dana.page, { url: `${stack.portalUrl}/invitation?code=${code}` });
      await createPasskey(dana.page);
      await dana.page.getByRole('link', { name: stack.invitations[0].display_name }).click();
      await waitForPath(dana.page, `/people/${margaretId}`);
      const overview = await dana.page.locator('main').innerText();
      assert.ok(!/Visits and notes/.test(overview), 'no link to visits she may not see');
      const medicines = await dana.page.goto(`${stack.portalUrl}/people/${margaretId}/medicines`);
      assert.equal(medicines.status(), 200);
      assert.ok((await dana.page.locator('main').innerText()).includes('Paracetamol'), 'she sees the medicines');
      const visits = await dana.page.goto(`${stack.portalUrl}/people/${margaretId}/visits`);
      assert.equal(visits.status(), 404, 'visit notes do not exist for her');
      assert.ok((await dana.page.title()).startsWith('Page not found'));

      // Margaret stops Dana's access.
      await page.goto(`${stack.portalUrl}/access`);
      // Stopping asks first, on a page that names whose access stops and what they lose.
      await page.getByRole('button', { name: /^Stop Dana Okafor.s access$/ }).click();
      await page.waitForURL((url) => url.pathname.endsWith('/revoke'));
      await page.getByRole('button', { name: /^Stop Dana Okafor.s access$/ }).click();
      await page.waitForURL((url) => url.pathname === '/access' && url.search.includes('done=stopped')).catch(async (error) => {
        throw new Error(`${error.message}\nthe page is ${page.url()}:\n${await page.locator('main').innerText()}`);
      });

      // Dana's very next request is refused.
      const after = await dana.page.goto(`${stack.portalUrl}/people/${margaretId}/medicines`);
      assert.equal(after.status(), 404, 'revocation is immediate');

      // Margaret's access log shows Dana's look at her medicines.
      await page.goto(`${stack.portalUrl}/access-log`);
      const log = await page.locator('main').innerText();
      assert.ok(/Dana Okafor[\s\S]*looked at the medicines/.test(log) || /looked at the medicines[\s\S]*Dana Okafor/.test(log),
        `the access log shows Dana's view:\n${log}`);
    } finally {
      await dana.context.close();
    }
  });
});

describe(`the person's whole record, in normal and large print (${runtime})`, () => {
  const pages = ['care-plan', 'guide', 'medicines', 'visits', 'contacts', 'documents', 'needs', 'comments', 'discussions', 'print'];

  test('finding 8: when the consent receipt cannot be written, adding someone leaves no access behind', async () => {
    const { page } = first;
    // The last statement of the change fails inside the runtime's own batch or transaction.
    const postgres = stack.store === 'postgres';
    await stack.execute(postgres
      ? `CREATE FUNCTION e2e_fail_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN IF NEW.receipt LIKE '%Fail Halfway%' THEN RAISE EXCEPTION 'e2e: injected failure'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER e2e_fail_receipt BEFORE INSERT ON consent_receipts FOR EACH ROW EXECUTE FUNCTION e2e_fail_receipt();`
      : `CREATE TRIGGER e2e_fail_receipt BEFORE INSERT ON consent_receipts
      WHEN NEW.receipt LIKE '%Fail Halfway%' BEGIN SELECT RAISE(ABORT, 'e2e: injected failure'); END;`);
    try {
      await fillAddSomeone(page, 'Fail Halfway', 'to see what happens');
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/access/add' && r.request().method() === 'POST');
      await page.getByRole('button', { name: /give access/i }).click();
      assert.ok((await answered).status() >= 500, 'the change failed');
      assert.ok(!/Invitation code/.test(await page.locator('main').innerText()), 'no invitation shown for a change that did not happen');
      await page.goto(`${stack.portalUrl}/access`);
      assert.ok(!/Fail Halfway/.test(await page.locator('main').innerText()), 'no access, person or receipt left behind');
      await page.goto(`${stack.portalUrl}/access-log?mine=yes`);
      assert.ok(!/Fail Halfway/.test(await page.locator('main').innerText()), 'nothing in the access log either');
    } finally {
      await stack.execute(postgres ? 'DROP TRIGGER e2e_fail_receipt ON consent_receipts;' : 'DROP TRIGGER e2e_fail_receipt;');
    }
  });

  test('every page of the record passes axe-core at 320 px, then again in large print', async () => {
    const { page } = first;
    const margaretId = stack.invitations[0].person_id;
    for (const name of pages) {
      const response = await page.goto(`${stack.portalUrl}/people/${margaretId}/${name}`);
      assert.equal(response.status(), 200, name);
      await axe(page, name);
    }
    for (const path of ['/access', '/access-log']) {
      await page.goto(`${stack.portalUrl}${path}`);
      await axe(page, path.slice(1));
    }
    // She asks for large print, 24 point: every page follows.
    await page.goto(`${stack.portalUrl}/people/${margaretId}/needs`);
    await page.getByLabel('Yes, at least 24 point').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL((url) => url.search.includes('done=saved'));
    for (const name of ['home', ...pages]) {
      await page.goto(name === 'home' ? `${stack.portalUrl}/home` : `${stack.portalUrl}/people/${margaretId}/${name}`);
      assert.ok(await page.locator('html.app-large-print--24').count() === 1, `${name} is in large print`);
      await axe(page, `${name} (large print)`);
    }
  });

  test('turns on an emergency code and prints the paper copy with it and the medicines', async () => {
    const { page } = first;
    await page.goto(`${stack.portalUrl}/emergency-code`);
    if (await page.locator('[data-webauthn="authenticate"]').count() > 0) {
      const confirmed = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/reauthenticate/finish'));
      await page.locator('[data-webauthn="authenticate"]').click();
      assert.equal((await confirmed).status(), 200);
      await page.waitForURL((url) => url.pathname === '/emergency-code');
    }
    await page.getByRole('button', { name: /turn on an emergency code|get a new emergency code/i }).click();
    const code = (await page.locator('.govuk-panel__body strong').innerText()).trim();
    assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    await page.getByRole('button', { name: 'Make the paper copy with this code' }).click();
    await page.waitForURL((url) => url.pathname.endsWith('/print'));
    await page.emulateMedia({ media: 'print' });
    const printed = await page.locator('body').innerText();
    assert.ok(printed.includes(code), 'the code is on the paper copy');
    assert.ok(printed.includes('Paracetamol'), 'the medicines are on the paper copy');
    assert.ok(printed.includes('/emergency'), 'with where a paramedic enters it');
    assert.equal(await page.locator('.govuk-service-navigation').isVisible(), false, 'no portal menu on paper');
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.subarray(0, 5).toString() === '%PDF-' && pdf.length > 10_000, `a PDF of ${pdf.length} bytes`);
    await page.emulateMedia({ media: 'screen' });
  });
});

describe(`a consent discussion from the provider's system to the person and the council (${runtime})`, () => {
  test('the provider records it through the API, the person confirms it, the council\'s report counts it', async () => {
    const { page } = first;
    const margaretId = stack.invitations[0].person_id;
    const provider = stack.credentials.find((c) => c.organisation_id === 'org-brookside-care' && c.permissions.includes('consent-discussions:write'));
    const council = stack.credentials.find((c) => c.permissions.includes('monitoring:read'));
    assert.ok(provider && council, 'the seed made both credentials');
    const confirmedNow = async () => {
      const response = await signedFetch(stack.apiUrl, council, '/api/v1/monitoring');
      assert.equal(response.status, 200);
      const report = await response.json();
      return report.providers.find((row) => row.organisationId === 'org-brookside-care').confirmedDiscussions;
    };
    const before = await confirmedNow();

    const body = JSON.stringify({
      heldOn: new Date().toISOString().slice(0, 10),
      method: 'phone',
      participants: [{ role: 'person', name: stack.invitations[0].display_name }, { role: 'staff', name: 'Priya Shah' }],
      covered: ['electronic_records', 'who_can_see', 'changing_their_mind'],
      decisions: 'Records stay in carefront; the council keeps its statutory access.',
      personsWords: 'I am happy with that, as long as I can see who looks.',
    });
    const created = await signedFetch(stack.apiUrl, provider, `/api/v1/people/${margaretId}/consent-discussions`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'idempotency-key': `browser-journey-${runtime}` },
    });
    assert.equal(created.status, 201, await created.text());

    // Margaret sees it on her home page and confirms it in the browser.
    await page.goto(`${stack.portalUrl}/home`);
    await page.getByRole('link', { name: 'Check it is right' }).click();
    await page.waitForURL((url) => url.pathname.endsWith('/discussions'));
    const card = page.locator('.govuk-summary-card').filter({ hasText: 'as long as I can see who looks' });
    await card.getByLabel('Yes, this is right').check();
    await card.getByRole('button', { name: 'Send your answer' }).click();
    await page.waitForURL((url) => url.search.includes('done=confirmed'));
    await axe(page, 'discussions (answered)');

    // The provider sees her answer; the council's report counts it.
    const theirs = await signedFetch(stack.apiUrl, provider, `/api/v1/people/${margaretId}/consent-discussions`);
    assert.equal(theirs.status, 200);
    const listing = await theirs.json();
    const items = listing.items ?? listing.discussions ?? listing;
    assert.ok(items.some((item) => item.personsWords?.includes('as long as I can see who looks') && item.status === 'confirmed'), JSON.stringify(listing));
    assert.equal(await confirmedNow(), before + 1, 'the monitoring report counts the confirmed discussion');
  });
});

test('axe-core finds no accessibility violations at 320 px', () => {
  assert.deepEqual([...axeFindings.keys()].sort(),
    [
    'access', 'access-log', 'care-plan', 'care-plan (large print)', 'comments', 'comments (large print)', 'contacts', 'contacts (large print)', 'create passkey', 'discussions', 'discussions (answered)', 'discussions (large print)', 'documents', 'documents (large print)', 'guide', 'guide (large print)', 'home', 'home (large print)', 'invitation', 'medicines', 'medicines (large print)', 'needs', 'needs (large print)', 'passkeys', 'print', 'print (large print)', 'start', 'visits', 'visits (large print)',
  ]);
  const report = [...axeFindings]
    .flatMap(([name, violations]) => violations.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help}\n`
      + v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n')));
  assert.equal(report.length, 0, `axe violations:\n${report.join('\n')}`);
});
