// The local Notify stand-in (e2e/notify-stand-in.mjs) behaves as Notify does where carefront
// depends on it: it refuses a bad JWT as Notify would, validates what Notify validates, fails on
// demand, lists what it received, and sends delivery callbacks with the bearer token.
// Runtime-independent: it starts no carefront stack.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { newApiKey, notifyToken, splitApiKey, startNotifyStandIn } from './notify-stand-in.mjs';

const TEMPLATE = 'f33517ff-2a88-4f6e-b855-c550268ce08a';
let standIn;
let credentials;
let callbacks;
let callbackServer;

before(async () => {
  callbacks = [];
  callbackServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      callbacks.push({ authorization: req.headers.authorization, body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
  const apiKey = newApiKey();
  credentials = splitApiKey(apiKey);
  standIn = await startNotifyStandIn({
    apiKey,
    callbackUrl: `http://127.0.0.1:${callbackServer.address().port}/notify/callback`,
    callbackToken: 'callback-token-for-tests',
    callbackDelayMs: 10,
  });
});

after(async () => {
  await standIn?.stop();
  await new Promise((resolve) => callbackServer?.close(resolve));
});

async function post(path, body, authorization = `Bearer ${notifyToken(credentials)}`) {
  const headers = { 'content-type': 'application/json' };
  if (authorization !== null) headers.authorization = authorization;
  const response = await fetch(`${standIn.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

const sms = { template_id: TEMPLATE, phone_number: '07700 900123', reference: 'ref-sms', personalisation: { name: 'Sarah' } };

test('a good JWT sends: 201 in Notify\'s shape, listed as JSON and on the page, and a callback follows', async () => {
  standIn.reset();
  const answer = await post('/v2/notifications/sms', sms);
  assert.equal(answer.status, 201);
  assert.match(answer.body.id, /^[0-9a-f-]{36}$/);
  assert.equal(answer.body.reference, 'ref-sms');
  assert.equal(answer.body.template.id, TEMPLATE);
  assert.equal(typeof answer.body.content.body, 'string');
  assert.equal(answer.body.uri, `${standIn.url}/v2/notifications/${answer.body.id}`);

  const list = await (await fetch(`${standIn.url}/messages.json`)).json();
  assert.equal(list.messages.length, 1);
  assert.equal(list.messages[0].to, '07700 900123');
  const negotiated = await (await fetch(standIn.url, { headers: { accept: 'application/json' } })).json();
  assert.equal(negotiated.messages[0].id, answer.body.id);
  const page = await (await fetch(standIn.url)).text();
  assert.match(page, /<h1>Messages received by the Notify stand-in<\/h1>/);
  assert.match(page, /ref-sms/);

  const status = await fetch(`${standIn.url}/v2/notifications/${answer.body.id}`, { headers: { authorization: `Bearer ${notifyToken(credentials)}` } });
  assert.equal(status.status, 200);
  assert.equal((await status.json()).phone_number, '07700 900123');

  await standIn.waitFor((messages) => messages[0]?.callback !== null, 5000);
  const callback = callbacks.find((each) => each.body.id === answer.body.id);
  assert.equal(callback.authorization, 'Bearer callback-token-for-tests');
  assert.equal(callback.body.status, 'delivered');
  assert.equal(callback.body.reference, 'ref-sms');
  assert.equal(callback.body.notification_type, 'sms');
  for (const field of ['created_at', 'completed_at', 'sent_at']) assert.match(callback.body[field], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});

test('a bad JWT is refused as Notify refuses it, and nothing is recorded', async () => {
  standIn.reset();
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    [null, 401, /authentication token must be provided/],
    ['Basic abc', 401, /authentication token must be provided/],
    ['Bearer not.a.jwt', 403, /Invalid token/],
    [`Bearer ${notifyToken({ ...credentials, secret: splitApiKey(newApiKey()).secret })}`, 403, /signature/],
    [`Bearer ${notifyToken({ ...credentials, serviceId: splitApiKey(newApiKey()).serviceId })}`, 403, /service not found/],
    // 32, not 31: `now` is whole seconds, and the stand-in's clock may tick into the next second
    // before it checks, which would bring a token 31 seconds ahead back within 30.
    [`Bearer ${notifyToken({ ...credentials, iat: now - 32 })}`, 403, /clock must be accurate to within 30 seconds/],
    [`Bearer ${notifyToken({ ...credentials, iat: now + 32 })}`, 403, /clock must be accurate to within 30 seconds/],
    [`Bearer ${notifyToken({ ...credentials, header: { alg: 'none', typ: 'JWT' } })}`, 403, /HS256/],
  ];
  for (const [authorization, status, message] of cases) {
    const answer = await post('/v2/notifications/sms', sms, authorization);
    assert.equal(answer.status, status, String(authorization));
    assert.equal(answer.body.status_code, status);
    assert.equal(answer.body.errors[0].error, 'AuthError');
    assert.match(answer.body.errors[0].message, message);
  }
  assert.equal(standIn.messages().length, 0);
  const good = await post('/v2/notifications/sms', sms, `Bearer ${notifyToken({ ...credentials, iat: now - 25 })}`);
  assert.equal(good.status, 201, 'within 30 seconds is accepted');
});

test('fail on demand: the next N sends answer 500 or 429 in Notify\'s shape, then sends go through once', async () => {
  standIn.reset();
  const control = await fetch(`${standIn.url}/_stand-in/fail`, { method: 'POST', body: JSON.stringify({ count: 2, status: 500 }) });
  assert.equal(control.status, 200);
  standIn.failNext(1, 429);
  const statuses = [];
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const answer = await post('/v2/notifications/sms', sms);
    statuses.push(answer.status);
    if (answer.status !== 201) assert.equal(answer.body.status_code, answer.status);
    if (answer.status === 429) assert.equal(answer.body.errors[0].error, 'RateLimitError');
  }
  assert.deepEqual(statuses, [500, 500, 429, 201]);
  assert.equal(standIn.messages().length, 1, 'a failed send is not recorded');
  assert.deepEqual(standIn.tries().map((t) => t.status), [500, 500, 429, 201], 'but every try is');
  assert.ok(standIn.tries().every((t) => t.reference === sms.reference), 'each try names its message');
  const bad = await fetch(`${standIn.url}/_stand-in/fail`, { method: 'POST', body: JSON.stringify({ count: 1, status: 404 }) });
  assert.equal(bad.status, 400);
});

test('fields Notify requires are validated with its error body', async () => {
  standIn.reset();
  const cases = [
    ['email', { template_id: TEMPLATE, email_address: 'not-an-address' }, /email_address Not a valid email address/],
    ['email', { email_address: 'a@example.com' }, /template_id is a required property/],
    ['sms', { template_id: 'nope', phone_number: '07700900123' }, /template_id is not a valid UUID/],
    ['sms', { template_id: TEMPLATE, phone_number: 'call me' }, /Not a UK mobile number/],
    ['letter', { template_id: TEMPLATE }, /personalisation is a required property/],
    ['letter', { template_id: TEMPLATE, personalisation: { address_line_1: 'A', address_line_2: 'LS1 4AP' } }, /at least 3 lines/],
    ['letter', { template_id: TEMPLATE, personalisation: { address_line_1: 'A', address_line_2: 'B', address_line_3: 'Leeds' } }, /postcode/],
  ];
  for (const [channel, body, message] of cases) {
    const answer = await post(`/v2/notifications/${channel}`, body);
    assert.equal(answer.status, 400, JSON.stringify(body));
    assert.equal(answer.body.status_code, 400);
    assert.match(answer.body.errors.map((e) => e.message).join('; '), message);
  }
  const letter = await post('/v2/notifications/letter', { template_id: TEMPLATE, reference: 'ref-letter', personalisation: { address_line_1: 'Margaret Jones', address_line_2: '1 High Street', address_line_3: 'LS1 4AP' } });
  assert.equal(letter.status, 201);
  assert.equal(letter.body.postage, 'second');
  const missing = await fetch(`${standIn.url}/v2/notifications/00000000-0000-0000-0000-000000000000`, { headers: { authorization: `Bearer ${notifyToken(credentials)}` } });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).errors[0].error, 'NoResultFound');
});
