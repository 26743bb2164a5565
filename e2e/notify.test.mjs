// e2e/notify.test.mjs — notifications that reach people (issue 12), on the runtime named by
// CAREFRONT_RUNTIME, through a local GOV.UK Notify stand-in that checks each request's JWT the
// way Notify does: a clinician uses Margaret's emergency code; her son Sam, who asked to be told,
// gets a text within seconds (and her care provider's duty manager an email); he taps its stop link; the clinician's next page is refused; her
// access log, which Sam reads too, says who stopped it. And a Notify that fails the first three tries of each message
// loses nothing and sends nothing twice.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runtime } from './harness.mjs';
import { Client, forms } from './http.mjs';
import { enrolled, startStackAndBrowser } from './pages.mjs';
import { signedFetch } from './sign.mjs';

const SAM_MOBILE = '07700 900 123';
const BROOKSIDE_DUTY_EMAIL = 'duty@brookside.example.org';
const ALEX = { name: 'Alex Smith', role: 'Paramedic', organisation: 'North West Ambulance Service' };

let stack;
let browser;

before(async () => {
  ({ stack, browser } = await startStackAndBrowser());
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A clinician's browser that has entered Margaret's emergency code. */
async function clinicianWithTheCode() {
  const code = stack.invitations.find((entry) => entry.person_id === 'person-margaret')?.emergency_code;
  assert.ok(code, 'the seed turned on an emergency code for Margaret');
  const clinician = new Client(stack.portalUrl);
  const page = await clinician.request('/emergency');
  const form = forms(page.body).find((f) => f.method === 'post' && f.action === '/emergency');
  const entered = await clinician.postForm('/emergency', { ...form.fields, code, ...ALEX });
  assert.equal(entered.status, 303, entered.body);
  assert.equal((await clinician.request('/emergency/record')).status, 200);
  return clinician;
}

const textsToSam = (messages) => messages.filter((message) => message.type === 'sms' && message.to === SAM_MOBILE);
const lettersToMargaret = (messages) => messages.filter((message) => message.type === 'letter' && message.to === 'Margaret Okafor');
const emailsToBrooksideDuty = (messages) => messages.filter((message) => message.type === 'email' && message.to === BROOKSIDE_DUTY_EMAIL);
/** Everyone this emergency access tells: Margaret by letter, Sam by text, Brookside's duty manager by email. */
const everyoneTold = (messages) => textsToSam(messages).length === 1 && lettersToMargaret(messages).length === 1 && emailsToBrooksideDuty(messages).length === 1;

describe(`notifications (${runtime})`, () => {
  test("Sam is texted a stop link at once; tapping it ends the clinician's access; Margaret's log says so", async () => {
    stack.notify.reset();
    const started = Date.now();
    const clinician = await clinicianWithTheCode();
    const messages = await stack.notify.waitFor(everyoneTold, 15_000);
    // Margaret herself is told by letter: she has no confirmed email or mobile, and the council
    // holds her address. Brookside, her care provider, is told at its duty manager's email
    // address, with a stop link of its own.
    assert.equal(lettersToMargaret(messages)[0].personalisation.name, 'you');
    const duty = emailsToBrooksideDuty(messages)[0];
    assert.equal(duty.personalisation.name, 'Margaret Okafor');
    assert.match(duty.personalisation.stop_link, /\/emergency\/stop\//);
    const text = textsToSam(messages)[0];
    console.log(`Sam's text reached the Notify stand-in ${Date.now() - started} ms after the code was entered`);
    assert.match(text.reference, /^[\w-]+$/, 'the reference is the outbox id, no personal data');
    assert.equal(text.personalisation.clinician, 'Alex Smith (Paramedic, North West Ambulance Service)');
    assert.equal(text.personalisation.name, 'Margaret Okafor');
    const link = new URL(text.personalisation.stop_link);
    assert.equal(link.origin, new URL(stack.portalUrl).origin);
    assert.match(link.pathname, /^\/emergency\/stop\//);
    assert.notEqual(duty.personalisation.stop_link, text.personalisation.stop_link, 'each recipient has a stop link of their own');

    // Sam's phone, signed in to nothing: opening the link asks first; the button stops it.
    const sam = new Client(stack.portalUrl);
    const page = await sam.request(link.pathname);
    assert.equal(page.status, 200);
    const stop = forms(page.body).find((f) => f.method === 'post' && f.action === link.pathname);
    assert.ok(stop, 'the page has the stop button');
    assert.equal((await clinician.request('/emergency/record')).status, 200, 'opening the link changed nothing');
    const stopped = await sam.postForm(link.pathname, stop.fields);
    assert.equal(stopped.status, 200);
    assert.match(stopped.body, /Emergency access stopped/);

    const refused = await clinician.request('/emergency/record');
    assert.equal(refused.status, 303);
    assert.equal(refused.location, '/emergency?ended=closed');

    // Margaret reads it in her access log, and so does Sam in hers (she shares it with him).
    const margaret = await enrolled(browser, stack, 'Margaret Okafor');
    await margaret.page.goto(`${stack.portalUrl}/access-log`);
    assert.match(await margaret.page.locator('main').innerText(), /Sam Okafor stopped the emergency access of Alex Smith/);
    const son = await enrolled(browser, stack, 'Sam Okafor');
    await son.page.goto(`${stack.portalUrl}/people/person-margaret/access-log`);
    assert.match(await son.page.locator('main').innerText(), /(You|Sam Okafor) stopped the emergency access of Alex Smith/);
  });

  test('while Notify fails the first three tries of each message, all wait and are then sent exactly once', async () => {
    stack.notify.reset();
    // This access queues three messages (Margaret's letter, Sam's text, Brookside's email). Each
    // try of one is about as due as the others' (the same backoff, at most a quarter apart), so
    // nine failures are the first three tries of each.
    stack.notify.failNext(9, 500);
    await clinicianWithTheCode();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(stack.notify.messages().length, 0, `nothing was accepted yet: ${JSON.stringify(stack.notify.messages())}`);
    // The outbox keeps them and tries again after its backoff (10, 20 and 40 seconds, less up to
    // a quarter), from the deployment's scheduled send.
    await sweepUntil(() => everyoneTold(stack.notify.messages()), 150_000);
    assert.equal(textsToSam(stack.notify.messages()).length, 1, 'sent once, not twice');
    assert.equal(lettersToMargaret(stack.notify.messages()).length, 1, 'sent once, not twice');
    assert.equal(emailsToBrooksideDuty(stack.notify.messages()).length, 1, 'sent once, not twice');
    // A few more scheduled sends change nothing: nothing is due.
    await sweepUntil(() => false, 3_000);
    const byMessage = Map.groupBy(stack.notify.tries(), (t) => t.reference);
    assert.equal(byMessage.size, 3, 'three messages were tried');
    for (const [reference, tries] of byMessage) {
      assert.deepEqual(tries.map((t) => t.status), [500, 500, 500, 201], `the tries of ${reference}`);
    }
    assert.equal(stack.notify.messages().length, 3, 'exactly once each');
  });
});

/** Runs the deployment's scheduled send (the signed API call a CronJob makes) once a second
 * until `done`, for at most `ms`. */
async function sweepUntil(done, ms) {
  const credential = stack.credentials.find((entry) => entry.permissions.includes('outbox:send'));
  assert.ok(credential, 'the seed made a credential with outbox:send');
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    const response = await signedFetch(stack.apiUrl, credential, '/api/v1/outbox/send', { method: 'POST' });
    assert.equal(response.status, 200, await response.text());
    if (!done()) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
