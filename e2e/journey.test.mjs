// e2e/journey.test.mjs — a council's first day, on the runtime named by CAREFRONT_RUNTIME: a
// caseworker adds a person, commissions Brookside and prints the invitation letter (the PDF is
// read back: its text holds the code, its QR code decodes to the link); the person enrols from
// the letter's QR code; Brookside's system puts in a care plan, medicines, the week's visit
// schedule and a discharge summary as JSON, then more as a FHIR Bundle; the person sees them; a
// Brookside carer records the consent discussion on a 390 px phone; the person confirms it; the
// council's monitoring counts it; and a dose given at 8am in July shows as given at 8am.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { createPasskey, launchBrowser, newPerson, openInvitation, waitForPath } from './browser.mjs';
import { startStack } from './harness.mjs';
import { signedFetch } from './sign.mjs';

const run = promisify(execFile);

let stack;
let browser;
let council; // Daniel, the council's social worker, on a laptop
let ellenId; // the person the council adds
let letterLink; // the link the letter's QR code holds
let ellen; // Ellen's phone
let brookside; // Brookside Home Care's system credential

const ELLEN = { name: 'Ellen Price', day: '14', month: '2', year: '1939', nhs: '485 777 3457' };

before(async () => {
  const [started, launched] = await Promise.allSettled([startStack(), launchBrowser()]);
  stack = started.value;
  browser = launched.value;
  for (const outcome of [started, launched]) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
  brookside = stack.credentials.find((c) => c.organisation_id === 'org-brookside-care' && c.permissions.includes('fhir:write'));
  assert.ok(brookside, 'the seed makes Brookside a credential that may put the record in');
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The seed's invitation for `name`. */
function invitation(name) {
  const found = stack.invitations.find((i) => i.display_name === name);
  assert.ok(found, `the seed invites ${name}`);
  return found;
}

/** Submit the form whose button is named `button`, confirming with the passkey if asked first. */
async function submit(page, button) {
  await page.getByRole('button', { name: button }).click();
  await page.waitForLoadState('load');
  if (await page.locator('[data-webauthn="authenticate"]').count() > 0) {
    const confirmed = page.waitForResponse((r) => new URL(r.url()).pathname === '/reauthenticate/finish');
    await page.locator('[data-webauthn="authenticate"]').click();
    assert.equal((await confirmed).status(), 200, 'the passkey confirmed who it was');
    await page.waitForLoadState('load');
    await page.getByRole('button', { name: button }).click();
    await page.waitForLoadState('load');
  }
}

/** A signed JSON write by Brookside's system; resolves to the parsed answer, checked for `status`. */
async function write(method, pathAndQuery, body, status = 201, contentType = 'application/json') {
  const response = await signedFetch(stack.apiUrl, brookside, pathAndQuery, {
    method,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': contentType, 'idempotency-key': randomUUID() },
  });
  const text = await response.text();
  assert.equal(response.status, status, `${method} ${pathAndQuery}: ${text}`);
  return JSON.parse(text);
}

/** Today's UK date as YYYY-MM-DD, and `days` later. */
function ukDate(days = 0) {
  const when = new Date(Date.now() + days * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(when);
}

/** The UTC instant of `time` (HH:MM) on the UK day `date`. */
function ukInstant(date, time) {
  // Europe/London is UTC or UTC+1: try both and keep the one that reads back as `time`.
  for (const offset of ['+00:00', '+01:00']) {
    const instant = new Date(`${date}T${time}:00${offset}`);
    const shown = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(instant);
    if (shown === time) return instant.toISOString();
  }
  throw new Error(`no instant for ${date} ${time}`);
}

describe('a council\'s first day', () => {
  test('a caseworker adds a person and commissions Brookside', async () => {
    council = await newPerson(browser, { width: 1024, height: 800 });
    const { page } = council;
    await openInvitation(page, invitation('Daniel Hughes'));
    await createPasskey(page);

    await page.goto(`${stack.portalUrl}/council/people/add`);
    await page.fill('#display_name', ELLEN.name);
    await page.fill('#date_of_birth-day', ELLEN.day);
    await page.fill('#date_of_birth-month', ELLEN.month);
    await page.fill('#date_of_birth-year', ELLEN.year);
    await page.fill('#nhs_number', ELLEN.nhs);
    await page.fill('#address', '7 Mill Lane\nNorthtown');
    await page.fill('#postcode', 'NT1 4AB');
    await submit(page, 'Add person');
    const match = new URL(page.url()).pathname.match(/^\/council\/people\/([^/]+)$/);
    assert.ok(match, `added, on the person's page (${page.url()})`);
    ellenId = match[1];
    assert.match(await page.textContent('main'), /485 777 3457/);

    await page.goto(`${stack.portalUrl}/council/people/${ellenId}/providers/add`);
    await page.selectOption('#provider_id', 'org-brookside-care');
    for (const box of await page.locator('input[name="categories"]').all()) await box.check();
    const [year, month, day] = ukDate().split('-');
    await page.fill('#starts-day', String(Number(day)));
    await page.fill('#starts-month', String(Number(month)));
    await page.fill('#starts-year', year);
    await page.fill('#contract_reference', 'NCC-HC-2026-0142');
    await submit(page, 'Commission provider');
    await waitForPath(page, `/council/people/${ellenId}`);
    assert.match(await page.textContent('main'), /Brookside Home Care/);
  });

  test('the invitation letter prints with the code, and its QR code holds the link', async () => {
    const { page } = council;
    await page.goto(`${stack.portalUrl}/council/people/${ellenId}/invitations`);
    await submit(page, 'Issue the invitation');
    const code = (await page.textContent('.app-code')).trim();
    assert.match(code, /^[A-Za-z0-9-]{20,}$/, `a code on the letter: ${code}`);
    assert.equal(await page.locator('.app-letter__qr svg').count(), 1, 'a QR code on the letter');

    const pdf = path.join(stack.dir, 'letter.pdf');
    await page.emulateMedia({ media: 'print' });
    await writeFile(pdf, await page.pdf({ format: 'A4', printBackground: true }));
    const { stdout: text } = await run('pdftotext', ['-layout', pdf, '-']);
    assert.ok(text.replace(/\s+/g, '').includes(code.replace(/\s+/g, '')), `the PDF holds the code ${code}`);
    assert.match(text, /Ellen Price/);
    await run('pdftoppm', ['-png', '-r', '150', '-f', '1', '-l', '1', pdf, path.join(stack.dir, 'letter')]);
    const png = PNG.sync.read(await readFile(path.join(stack.dir, 'letter-1.png')));
    const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(qr, 'the QR code on the printed page can be read');
    assert.equal(new URL(qr.data).pathname, '/invitation');
    assert.equal(new URL(qr.data).searchParams.get('code'), code);
    letterLink = new URL(qr.data);
    await page.emulateMedia({ media: 'screen' });
  });

  test('the person enrols from the letter on her phone', async () => {
    ellen = await newPerson(browser, { width: 390, height: 844 });
    // The local deployment's origin is the one the e2e stack serves.
    const url = `${stack.portalUrl}${letterLink.pathname}${letterLink.search}`;
    await openInvitation(ellen.page, { url });
    await createPasskey(ellen.page);
    // Her own home: today first, and the menu says whose account this is.
    assert.match(await ellen.page.textContent('main'), /Next visit/);
    assert.match(await ellen.page.textContent('.app-service-navigation'), /Signed in as Ellen/);
  });

  test('Brookside\'s system puts in her record, as JSON and as a FHIR Bundle', async () => {
    const people = await signedFetch(stack.apiUrl, brookside, '/api/v1/people');
    assert.ok((await people.text()).includes(ellenId), 'Brookside\'s system sees the person it was commissioned for');
    const base = `/api/v1/people/${ellenId}`;
    await write('PUT', `${base}/care-plan`, {
      version: 0,
      summary: 'Help at home each morning while Ellen recovers from a fall.',
      outcomes: ['Walk to the post office again'],
      support: ['Help to wash and dress', 'Prompt to take tablets at 8am'],
      visitSchedule: ['Every day, 8am to 8:45am'],
      reviewDue: ukDate(90),
      writtenBy: 'Priya Shah, Brookside Home Care',
    }, 200);
    const medicine = await write('POST', `${base}/medicines`, {
      name: 'Amlodipine 5 mg tablets', dose: '1 tablet', route: 'By mouth', times: ['08:00'], asNeeded: false,
      prescriber: 'Dr Patel, Mill Lane Surgery', startedOn: '2026-06-01',
    });
    const week = [];
    for (let day = 0; day < 7; day += 1) {
      const date = ukDate(day);
      week.push({ startsAt: ukInstant(date, '08:00'), endsAt: ukInstant(date, '08:45'), carerFirstName: 'Jo' });
    }
    await write('PUT', `${base}/visit-schedule`, { version: 0, from: ukDate(), to: ukDate(6), visits: week }, 200);
    await write('POST', `${base}/documents?title=${encodeURIComponent('Discharge summary, Northtown General')}&kind=discharge_summary`,
      'Discharged home on 20 November 2026 after a fall. No fracture.\n', 201, 'text/plain');
    // A dose given at 8am on 15 July (British Summer Time): 07:00 in UTC.
    await write('POST', `${base}/medication-administrations`, {
      medicineId: medicine.itemId, dueAt: '2026-07-15T07:00:00Z', outcome: 'given', recordedBy: 'Jo',
    });

    const patient = 'urn:uuid:0e1c5a52-0000-4000-8000-000000000001';
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: patient,
          request: { method: 'PUT', url: 'Patient/ellen' },
          resource: { resourceType: 'Patient', identifier: [{ system: `${stack.portalUrl}/fhir/identifier/patient`, value: ellenId }] },
        },
        {
          fullUrl: 'urn:uuid:0e1c5a52-0000-4000-8000-000000000002',
          request: { method: 'POST', url: 'MedicationRequest' },
          resource: {
            resourceType: 'MedicationRequest',
            identifier: [{ system: 'https://brookside.example/rx', value: 'rx-ellen-1' }],
            status: 'active',
            intent: 'order',
            medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '322236009', display: 'Paracetamol 500 mg tablets' }] },
            subject: { reference: patient },
            authoredOn: ukDate(),
            requester: { display: 'Dr Patel' },
            dosageInstruction: [{
              text: '1 tablet, by mouth', route: { text: 'By mouth' },
              timing: { repeat: { timeOfDay: ['08:00:00', '18:00:00'] } },
              doseAndRate: [{ doseQuantity: { value: 1, unit: 'tablet' } }],
            }],
          },
        },
        {
          fullUrl: 'urn:uuid:0e1c5a52-0000-4000-8000-000000000003',
          request: { method: 'POST', url: 'DocumentReference' },
          resource: {
            resourceType: 'DocumentReference',
            status: 'current',
            type: { coding: [{ system: 'http://loinc.org', code: '18842-5', display: 'Discharge summary' }] },
            subject: { reference: patient },
            date: new Date().toISOString(),
            description: 'Letter from the falls clinic',
            content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Falls clinic: exercises twice a day.\n').toString('base64'), title: 'Letter from the falls clinic' } }],
          },
        },
      ],
    };
    await write('POST', `${base}/fhir`, bundle, 201, 'application/fhir+json');
  });

  test('the person sees them, and the July dose at 8am', async () => {
    const { page } = ellen;
    const base = `${stack.portalUrl}/people/${ellenId}`;
    await page.goto(`${base}/care-plan`);
    assert.match(await page.textContent('main'), /recovers from a fall/);
    await page.goto(`${base}/medicines`);
    const medicines = await page.textContent('main');
    assert.match(medicines, /Amlodipine/);
    assert.match(medicines, /Paracetamol/);
    await page.goto(`${base}/visits`);
    assert.match(await page.textContent('main'), /Carer: Jo\b/, 'the planned visits name the carer');
    await page.goto(`${base}/documents`);
    const documents = await page.textContent('main');
    assert.match(documents, /Discharge summary, Northtown General/);
    assert.match(documents, /falls clinic/i);
    await page.goto(`${base}/medicines?from=2026-07-13`);
    const july = await page.textContent('main');
    assert.match(july, /8am/);
    assert.match(july, /Given/);
    assert.doesNotMatch(july, /\b7am\b/, `not an extra 7am dose: ${july.match(/.{0,80}\b7am\b.{0,80}/s)?.[0]}`);
  });

  test('a Brookside carer records the consent discussion on a phone; the person confirms it; the council counts it', async () => {
    const before = await monitoringFigures();
    const carer = await newPerson(browser, { width: 390, height: 844 });
    const { page } = carer;
    await openInvitation(page, invitation('Priya Shah'));
    await createPasskey(page);
    await page.goto(`${stack.portalUrl}/provider`);
    assert.match(await page.textContent('main'), /Ellen Price/);
    await page.goto(`${stack.portalUrl}/provider/people/${ellenId}/discussions/new`);
    await page.check('#covered-electronic_records');
    await page.check('#covered-paper_records');
    await page.check('#choice-both');
    await page.check('#formats-large-print');
    await page.fill('#persons-words', 'I want to see it on my phone and have a copy in the kitchen drawer.');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the form fits a 390 px phone (${width} px)`);
    await page.getByRole('button', { name: 'Save the conversation' }).click();
    await page.waitForLoadState('load');
    assert.match(await page.textContent('main'), /Conversation saved/);
    await carer.context.close();

    await ellen.page.goto(`${stack.portalUrl}/people/${ellenId}/discussions`);
    await ellen.page.getByLabel('Yes, this is right').first().check();
    await ellen.page.getByRole('button', { name: 'Send your answer' }).click();
    await ellen.page.waitForLoadState('load');

    const after = await monitoringFigures();
    assert.equal(after.confirmed, before.confirmed + 1, `monitoring counts the confirmed discussion (${JSON.stringify({ before, after })})`);
  });
});

/** Brookside's figures on the council's monitoring page, as Daniel sees them. */
async function monitoringFigures() {
  const { page } = council;
  await page.goto(`${stack.portalUrl}/council/monitoring`);
  const section = page.locator('section, div').filter({ hasText: 'Brookside Home Care' }).last();
  const text = await section.textContent();
  const confirmed = Number(text.match(/confirmed by the person in the last 12 months\s*(\d+)/)?.[1]);
  assert.ok(Number.isInteger(confirmed), `the monitoring page shows Brookside's confirmed discussions: ${text.slice(0, 300)}`);
  return { confirmed };
}
