// e2e/emergency.test.mjs — emergency (break-glass) access over HTTP against the built portal on
// the runtime named by CAREFRONT_RUNTIME (e2e/harness.mjs): a clinician enters Margaret's
// emergency code (turned on by the demo seed, in the links file as `emergency_code`) with their
// name, role and organisation, reads her medicines, allergies and emergency summary (and nothing
// else) under a SameSite=Strict cookie, leaves; bad input, wrong codes, and the limit on wrong
// codes per source and code (the lockout after many wrong codes from anywhere needs many
// addresses: portal/tests/emergency.rs covers it).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runtime, startStack } from './harness.mjs';
import { Client, forms } from './http.mjs';

let stack;
let code;
before(async () => {
  stack = await startStack();
  code = stack.invitations.find((entry) => entry.person_id === 'person-margaret')?.emergency_code;
});
after(async () => { await stack?.stop(); });

const type = (response) => response.headers.get('content-type') ?? '';
const COOKIE = '__Host-carefront_emergency';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A well-formed emergency code (XXXX-XXXX-XXXX-XXXX) that was never issued. */
const randomCode = () => Array.from({ length: 4 }, () => Array.from({ length: 4 },
  () => CROCKFORD[Math.floor(Math.random() * 32)]).join('')).join('-');
/** minijinja escapes "/" in text as &#x2f;. */
const readable = (html) => html.replaceAll('&#x2f;', '/').replaceAll('&#x27;', "'");

const ALEX = { name: 'Alex Smith', role: 'Paramedic', organisation: 'North West Ambulance Service' };

/** Open /emergency in `client` (a new one by default) and return the client and its POST form. */
async function emergencyForm(client = new Client(stack.portalUrl)) {
  const page = await client.request('/emergency');
  assert.equal(page.status, 200);
  const form = forms(page.body).find((f) => f.method === 'post' && f.action === '/emergency');
  assert.ok(form, 'the emergency page has a POST form to /emergency');
  return { client, page, form };
}

/** Post the clinician form as a browser would: the page's own fields (CSRF token), then ours. */
async function enter(fields, client) {
  const { client: used, form } = await emergencyForm(client);
  const response = await used.postForm('/emergency', { ...form.fields, ...fields });
  return { client: used, response };
}

describe(`emergency access (${runtime})`, () => {
  test('the seed turned on an emergency code for Margaret', () => {
    assert.match(code ?? '', /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, `links: ${JSON.stringify(stack.invitations)}`);
  });

  test('GET /emergency is a public HTML form with a CSRF token and every field', async () => {
    const { page, form } = await emergencyForm();
    assert.match(type(page), /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.ok(form.fields.csrf, 'the form carries a CSRF token');
    for (const name of ['code', 'name', 'role', 'organisation']) {
      assert.ok(name in form.fields, `field ${name}`);
    }
    assert.doesNotMatch(page.body, /Sign out/, 'nobody is signed in');
  });

  test('the code opens the medicines, allergies and emergency summary, and nothing else', async () => {
    const { client, response } = await enter({ code: code.toLowerCase().replaceAll('-', ' '), ...ALEX });
    assert.equal(response.status, 303, response.body);
    assert.equal(response.location, '/emergency/record');
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`));
    assert.ok(cookie, 'the emergency cookie is set');
    for (const attribute of ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=14400']) {
      assert.ok(cookie.includes(attribute), `${attribute} in ${cookie}`);
    }
    assert.ok(!cookie.includes(code) && !cookie.includes(code.replaceAll('-', '')), 'the cookie is an opaque token, not the code');

    const record = await client.request('/emergency/record');
    assert.equal(record.status, 200);
    assert.match(type(record), /^text\/html/);
    assert.equal(record.headers.get('cache-control'), 'no-store');
    const page = readable(record.body);
    for (const shown of ['Margaret Okafor', 'Allergies', 'Penicillin', 'Current medicines', 'Apixaban 2.5 mg tablets',
      'Paracetamol 500 mg tablets', 'Emergency summary', 'Alex Smith (Paramedic, North West Ambulance Service)']) {
      assert.ok(page.includes(shown), `${shown} is shown`);
    }
    for (const hidden of ['Support at home each morning and evening', 'Walked to the kitchen with her frame', 'Your care plan']) {
      assert.ok(!page.includes(hidden), `${hidden} is not shown`);
    }
    assert.match(page, /You can see this until \d{1,2} \w+ \d{4} at (\d{1,2}(:\d{2})?(am|pm)|midday|midnight)\./);

    // Without the cookie the record is not there.
    const stranger = await new Client(stack.portalUrl).request('/emergency/record');
    assert.equal(stranger.status, 303);
    assert.equal(stranger.location, '/emergency');
  });

  test('leaving ends the access, and a copy of the cookie is dead too', async () => {
    const { client, response } = await enter({ code, ...ALEX });
    assert.equal(response.status, 303, response.body);
    const copy = client.cookies.get(COOKIE);
    const record = await client.request('/emergency/record');
    const leave = forms(record.body).find((f) => f.method === 'post' && f.action === '/emergency/leave');
    assert.ok(leave, 'the record has a form to leave it');
    const left = await client.postForm('/emergency/leave', leave.fields);
    assert.equal(left.status, 303);
    assert.equal(left.location, '/emergency?ended=left');
    assert.ok(!client.cookies.has(COOKIE), 'the cookie is cleared');
    const thief = new Client(stack.portalUrl);
    thief.cookies.set(COOKIE, copy);
    const again = await thief.request('/emergency/record');
    assert.equal(again.status, 303);
    assert.equal(again.location, '/emergency?ended=closed');
    const notice = await client.request('/emergency?ended=left');
    assert.match(notice.body, /You have left the record/);
  });

  test('bad input gets a clear 400 page and opens nothing', async () => {
    const cases = [
      [{ code, name: '', role: 'Paramedic', organisation: 'NWAS' }, /Enter your full name/],
      [{ code, name: 'x'.repeat(81), role: 'Paramedic', organisation: 'NWAS' }, /up to 80 characters/],
      [{ code, name: 'Alex', role: '', organisation: '' }, /Enter your role[\s\S]*Enter your organisation/],
      [{ code: 'not a code', ...ALEX }, /Enter the emergency code as it is written/],
      [{ code: '<script>alert(1)</script>', ...ALEX }, /&lt;script&gt;/],
    ];
    for (const [fields, expected] of cases) {
      const { client, response } = await enter(fields);
      assert.equal(response.status, 400, JSON.stringify(fields));
      assert.match(type(response), /^text\/html/);
      assert.match(response.body, expected);
      assert.doesNotMatch(response.body, /<script>alert/);
      assert.ok(!client.cookies.has(COOKIE), 'no access opened');
    }
  });

  test('a POST without the CSRF token is refused', async () => {
    const client = new Client(stack.portalUrl);
    await client.request('/emergency');
    const response = await client.postForm('/emergency', { code, ...ALEX });
    assert.equal(response.status, 403);
    assert.ok(!client.cookies.has(COOKIE));
  });

  test('wrong methods are 405', async () => {
    const response = await fetch(`${stack.portalUrl}/emergency`, { method: 'DELETE' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, HEAD, POST');
    assert.equal((await fetch(`${stack.portalUrl}/emergency/leave`)).status, 405);
  });

  // Last: these trip this source's limit at Margaret's code.
  test('many unknown codes from one source do not hold up the right code', async () => {
    const statuses = [];
    for (let attempt = 0; attempt < 25; attempt++) {
      const { response } = await enter({ code: randomCode(), ...ALEX });
      statuses.push(response.status);
    }
    assert.ok(statuses.every((status) => status === 400), `statuses: ${statuses}`);
    const right = await enter({ code, ...ALEX });
    assert.equal(right.response.status, 303, 'the right code still opens the record');
    assert.ok(right.client.cookies.has(COOKIE));
  });

  test('an unknown code and a near miss get the same answer; near misses from one source are slowed (429)', async () => {
    const last = code.at(-1);
    const near = code.slice(0, -1) + (last === '0' ? '1' : '0'); // same selector, wrong secret
    const unknown = await enter({ code: randomCode(), ...ALEX });
    assert.equal(unknown.response.status, 400);
    assert.match(unknown.response.body, /not recognised/);
    const statuses = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const { response } = await enter({ code: near, ...ALEX });
      statuses.push(response.status);
      assert.match(response.body, /not recognised/);
    }
    assert.deepEqual(statuses, [400, 400, 400, 400, 400]);
    const right = await enter({ code, ...ALEX });
    assert.equal(right.response.status, 429, 'from this source, even the right code waits');
    assert.match(type(right.response), /^text\/html/);
    assert.match(readable(right.response.body), /Too many wrong codes have been tried for this emergency code/);
    assert.ok(Number(right.response.headers.get('retry-after')) > 0, 'Retry-After');
    assert.ok(!right.client.cookies.has(COOKIE));
  });
});
