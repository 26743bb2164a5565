// Contract test: carefront's GOV.UK Notify sender makes the same requests as GOV.UK's own
// notifications-node-client. Both send the same email, text message and letter to a local
// capture server; for each pair the method, path, Content-Type, Content-Length, the JWT (header,
// claims, signature with the key's secret, iat within a few seconds of now) and the JSON body
// must agree. The official client's User-Agent and Accept are its own (axios), so each is
// checked for what it must say, not compared. A self-check proves the comparison catches a
// change in each of those parts. Also: the JWT known-answer fixture that the Rust unit test
// uses is regenerated with the official client, and carefront's sender is run against the
// Notify stand-in through a failure and a retry.
//
// carefront's sender runs as `carefront-admin notify send` (CAREFRONT_ADMIN to use a built
// binary; otherwise `cargo run --release -p carefront-admin`). Runtime-independent.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { repoRoot } from './harness.mjs';
import { newApiKey, splitApiKey, startNotifyStandIn } from './notify-stand-in.mjs';

const require = createRequire(import.meta.url);
const { NotifyClient } = require('notifications-node-client');
const createGovukNotifyToken = require('notifications-node-client/client/authentication.js');

const API_KEY = newApiKey('carefront_contract');
const { serviceId, secret } = splitApiKey(API_KEY);
const TEMPLATE = 'f33517ff-2a88-4f6e-b855-c550268ce08a';
const REPLY_TO = '8e222534-7f05-4972-86e3-17c5d9f894e2';
const SMS_SENDER = '5bd6f9f1-6c51-4c5a-9c9e-0d7b6b1a9c33';
const ADDRESS = ['Margaret Jones', '14 Elm Road', 'Harrogate', 'HG1 2AB'];

/** The same three messages, as the official client's calls and as carefront-admin's flags. */
const MESSAGES = [
  {
    name: 'email',
    official: (client) => client.sendEmail(TEMPLATE, 'sarah.jones@example.com', {
      personalisation: { name: 'Sarah', link: 'https://care.example.gov.uk/emergency/stop?t=abc' },
      reference: 'outbox-email-1',
      emailReplyToId: REPLY_TO,
    }),
    ours: ['--channel', 'email', '--to', 'sarah.jones@example.com', '--template', TEMPLATE, '--reference', 'outbox-email-1',
      '--personalisation', 'name=Sarah', '--personalisation', 'link=https://care.example.gov.uk/emergency/stop?t=abc', '--reply-to-id', REPLY_TO],
  },
  {
    name: 'text message',
    official: (client) => client.sendSms(TEMPLATE, '07700 900123', {
      personalisation: { name: 'Sarah', when: '8am' },
      reference: 'outbox-sms-1',
      smsSenderId: SMS_SENDER,
    }),
    ours: ['--channel', 'sms', '--to', '07700 900123', '--template', TEMPLATE, '--reference', 'outbox-sms-1',
      '--personalisation', 'name=Sarah', '--personalisation', 'when=8am', '--sender-id', SMS_SENDER],
  },
  {
    name: 'letter',
    official: (client) => client.sendLetter(TEMPLATE, {
      personalisation: Object.fromEntries([...ADDRESS.map((line, i) => [`address_line_${i + 1}`, line]), ['name', 'Margaret']]),
      reference: 'outbox-letter-1',
    }),
    ours: ['--channel', 'letter', ...ADDRESS.flatMap((line) => ['--address-line', line]), '--template', TEMPLATE,
      '--reference', 'outbox-letter-1', '--personalisation', 'name=Margaret'],
  },
];

let captured = [];
let capture;
let captureUrl;

before(async () => {
  capture = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      captured.push({ method: req.method, path: req.url, headers: req.headers, body, at: Date.now() / 1000 });
      const answer = JSON.stringify({
        id: '740e5834-3a29-46b4-9a6f-16142fde533a', reference: null, uri: 'x', content: { body: '' },
        template: { id: TEMPLATE, version: 1, uri: 'x' },
      });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
    });
  });
  await new Promise((resolve) => capture.listen(0, '127.0.0.1', resolve));
  captureUrl = `http://127.0.0.1:${capture.address().port}`;
});

after(async () => {
  await new Promise((resolve) => capture?.close(resolve));
});

const cache = process.env.CAREFRONT_CACHE ?? path.join(os.homedir(), '.cache', 'carefront');

/** Runs `carefront-admin notify send …` with the API key in its environment. */
async function carefrontSend(args, { baseUrl = captureUrl, apiKey = API_KEY } = {}) {
  const env = { ...process.env, NOTIFY_API_KEY: apiKey, NOTIFY_BASE_URL: baseUrl, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR ?? path.join(cache, 'target') };
  const [command, prefix] = process.env.CAREFRONT_ADMIN
    ? [process.env.CAREFRONT_ADMIN, []]
    : ['cargo', ['run', '-q', '--release', '-p', 'carefront-admin', '--']];
  try {
    const { stdout } = await promisify(execFile)(command, [...prefix, 'notify', 'send', ...args], { cwd: repoRoot, env, maxBuffer: 1 << 20 });
    return { ok: true, answer: JSON.parse(stdout.trim().split('\n').pop()) };
  } catch (error) {
    const lines = String(error.stdout ?? '').trim().split('\n').filter(Boolean);
    return { ok: false, answer: lines.length ? JSON.parse(lines.pop()) : null, stderr: String(error.stderr ?? '') };
  }
}

/** A JWT's parts, decoded, and whether its signature is HMAC-SHA256 with the key's secret. */
function decodeJwt(authorization) {
  const token = String(authorization ?? '').replace(/^Bearer /, '');
  const [header, claims, signature] = token.split('.');
  const decode = (part) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8') || 'null');
  const expected = createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url');
  return { header: decode(header), claims: decode(claims), signed: signature === expected, bearer: String(authorization ?? '').startsWith('Bearer ') };
}

/** Every way `ours` differs from `official` in what Notify reads; empty when they agree. */
function differences(official, ours) {
  const found = [];
  const same = (what, a, b) => {
    try {
      assert.deepStrictEqual(b, a);
    } catch {
      found.push(`${what}: official ${JSON.stringify(a)}, carefront ${JSON.stringify(b)}`);
    }
  };
  same('method', official.method, ours.method);
  same('path', official.path, ours.path);
  same('content-type', official.headers['content-type'], ours.headers['content-type']);
  same('content-length', official.headers['content-length'], ours.headers['content-length']);
  let officialBody;
  let ourBody;
  try {
    officialBody = JSON.parse(official.body);
    ourBody = JSON.parse(ours.body);
  } catch {
    found.push('body: not JSON');
  }
  same('body', officialBody, ourBody);
  const a = decodeJwt(official.headers.authorization);
  const b = decodeJwt(ours.headers.authorization);
  same('authorization scheme', a.bearer, b.bearer);
  same('jwt header', a.header, b.header);
  same('jwt claim names', Object.keys(a.claims ?? {}).sort(), Object.keys(b.claims ?? {}).sort());
  same('jwt iss', a.claims?.iss, b.claims?.iss);
  same('jwt signed with the secret', a.signed, b.signed);
  for (const [who, jwt, request] of [['official', a, official], ['carefront', b, ours]]) {
    if (!Number.isInteger(jwt.claims?.iat) || Math.abs(jwt.claims.iat - request.at) > 5) found.push(`${who} jwt iat ${jwt.claims?.iat} is not within 5 s of ${request.at}`);
  }
  if (!/^NOTIFY-API-NODE-CLIENT\//.test(official.headers['user-agent'] ?? '')) found.push('official user-agent');
  if (!/^carefront\/\S+/.test(ours.headers['user-agent'] ?? '')) found.push(`carefront user-agent ${ours.headers['user-agent']} does not name carefront`);
  if (!String(ours.headers.accept ?? '').includes('application/json')) found.push('carefront accept does not include application/json');
  return found;
}

test('the JWT fixture the Rust known-answer test uses is what the official client makes', () => {
  const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'shared', 'tests', 'fixtures', 'notify-jwt.json'), 'utf8'));
  const realNow = Date.now;
  Date.now = () => fixture.iat * 1000;
  try {
    const token = createGovukNotifyToken('POST', '/v2/notifications/email', fixture.key.slice(-36), fixture.key.slice(-73, -37));
    assert.equal(token, fixture.token);
  } finally {
    Date.now = realNow;
  }
  const [header, claims, signature] = fixture.token.split('.');
  assert.equal(createHmac('sha256', fixture.key.slice(-36)).update(`${header}.${claims}`).digest('base64url'), signature, 'node:crypto agrees');
});

for (const message of MESSAGES) {
  test(`carefront sends the ${message.name} exactly as notifications-node-client does`, async () => {
    captured = [];
    const client = new NotifyClient(captureUrl, API_KEY);
    const official = await message.official(client);
    assert.equal(official.status, 201);
    const ours = await carefrontSend(message.ours);
    assert.ok(ours.ok, ours.stderr);
    assert.equal(ours.answer.outcome, 'accepted');
    assert.equal(ours.answer.id, '740e5834-3a29-46b4-9a6f-16142fde533a');
    assert.equal(captured.length, 2);
    const [theirs, mine] = captured;
    assert.deepEqual(differences(theirs, mine), []);
    assert.equal(decodeJwt(mine.headers.authorization).claims.iss, serviceId);
  });
}

test('the comparison fails when carefront\'s request differs in any part it checks', async () => {
  captured = [];
  await MESSAGES[0].official(new NotifyClient(captureUrl, API_KEY));
  await carefrontSend(MESSAGES[0].ours);
  const [theirs, mine] = captured;
  assert.deepEqual(differences(theirs, mine), []);
  const otherSecret = splitApiKey(newApiKey()).secret;
  const resign = (claims, key = secret) => {
    const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
    return `Bearer ${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };
  const iat = decodeJwt(mine.headers.authorization).claims.iat;
  const mutations = {
    method: { ...mine, method: 'PUT' },
    path: { ...mine, path: '/v2/notifications/sms' },
    'content-type': { ...mine, headers: { ...mine.headers, 'content-type': 'text/plain' } },
    body: { ...mine, body: mine.body.replace('"Sarah"', '"Sara"') },
    'body key': { ...mine, body: mine.body.replace('email_reply_to_id', 'reply_to_id') },
    'jwt iss': { ...mine, headers: { ...mine.headers, authorization: resign({ iss: 'someone-else', iat }) } },
    'jwt iat': { ...mine, headers: { ...mine.headers, authorization: resign({ iss: serviceId, iat: iat - 60 }) } },
    'jwt claims': { ...mine, headers: { ...mine.headers, authorization: resign({ iss: serviceId, iat, exp: iat + 30 }) } },
    'jwt signature': { ...mine, headers: { ...mine.headers, authorization: resign({ iss: serviceId, iat }, otherSecret) } },
    'user-agent': { ...mine, headers: { ...mine.headers, 'user-agent': 'curl/8' } },
  };
  for (const [what, mutated] of Object.entries(mutations)) {
    assert.notDeepEqual(differences(theirs, mutated), [], `a changed ${what} must be caught`);
  }
});

test('carefront\'s sender against the Notify stand-in: a 500 is "retry", then the same message is accepted once', async () => {
  const standIn = await startNotifyStandIn({ apiKey: API_KEY });
  try {
    standIn.failNext(1, 500);
    const first = await carefrontSend(MESSAGES[1].ours, { baseUrl: standIn.url });
    assert.equal(first.ok, false);
    assert.equal(first.answer.outcome, 'retry');
    assert.equal(first.answer.status, 500);
    assert.match(first.answer.text, /Internal server error/);
    const second = await carefrontSend(MESSAGES[1].ours, { baseUrl: standIn.url });
    assert.equal(second.answer.outcome, 'accepted');
    const messages = standIn.messages();
    assert.equal(messages.length, 1);
    assert.equal(messages[0].id, second.answer.id);
    assert.equal(messages[0].reference, 'outbox-sms-1');
    assert.match(messages[0].user_agent, /^carefront\//);
    const wrongKey = await carefrontSend(MESSAGES[1].ours, { baseUrl: standIn.url, apiKey: newApiKey() });
    assert.equal(wrongKey.answer.outcome, 'permanent');
    assert.equal(wrongKey.answer.status, 403);
  } finally {
    await standIn.stop();
  }
});
