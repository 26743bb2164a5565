// e2e/notify-stand-in.mjs — a local stand-in for GOV.UK Notify's API v2, for the end-to-end
// tests and scripts/dev (Notify itself cannot be reached from development machines or CI).
//
// It checks each request's JWT the way Notify does (HS256 signed with the API key's secret,
// `iss` the service id, `iat` within 30 seconds of its clock; 401/403 with Notify's error body
// otherwise), validates the fields Notify requires, answers 201 with Notify's response shape,
// and can fail on demand. Optionally it sends delivery-status callbacks like Notify's.
//
// As a module:
//   import { startNotifyStandIn } from './notify-stand-in.mjs';
//   const notify = await startNotifyStandIn({ apiKey, callbackUrl, callbackToken });
//   // notify.url, notify.apiKey, notify.serviceId, notify.messages(), notify.failNext(3, 500),
//   // notify.tries() (every send request with a valid token: reference and the status answered),
//   // notify.waitFor(predicate, ms), notify.reset(), await notify.stop()
//
// As a script (what scripts/dev runs):
//   node e2e/notify-stand-in.mjs [--port 6011] [--host 127.0.0.1] [--api-key KEY]
//        [--callback-url URL --callback-token TOKEN] [--callback-delay-ms 200]
//   NOTIFY_API_KEY, NOTIFY_CALLBACK_URL, NOTIFY_CALLBACK_TOKEN work in place of the flags.
//   It prints `listening on http://HOST:PORT` and the API key to give carefront.
//
// Endpoints:
//   POST /v2/notifications/email | sms | letter     send (Notify's API)
//   GET  /v2/notifications/{id}                     one message's status (Notify's API)
//   GET  /                                          the messages received, as an HTML page
//   GET  /messages.json (or GET / with Accept: application/json)   the same as JSON
//   POST /_stand-in/fail   {"count": N, "status": 500|429|503}     fail the next N sends
//   POST /_stand-in/reset                                          forget messages and failures

import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/** The API key the stand-in accepts unless given another (Notify's format; made-up ids). */
export const STAND_IN_API_KEY = 'carefront_local-5e7f6a2c-3c41-4f0e-9a57-0c2d7f1b9a11-1f0b7f5e-8d2a-4c53-b7a4-6b1e2c3d4f50';

/** How far a token's `iat` may be from the clock, as Notify allows. */
const CLOCK_SKEW_SECONDS = 30;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POSTCODE = /^[A-Z][A-Z0-9]{1,3}\s*[0-9][A-Z]{2}$/i;

/** A fresh random API key for one test run. */
export function newApiKey(name = 'carefront_test') {
  return `${name}-${randomUUID()}-${randomUUID()}`;
}

/** The service id and secret in an API key, as Notify's clients read them. */
export function splitApiKey(apiKey) {
  return { serviceId: apiKey.slice(-73, -37), secret: apiKey.slice(-36) };
}

/** A JWT as Notify's clients make it (for tests of the stand-in itself). */
export function notifyToken({ serviceId, secret, iat = Math.floor(Date.now() / 1000), header = { alg: 'HS256', typ: 'JWT' } }) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode({ iss: serviceId, iat })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Notify's error body. */
function errorBody(status, errors) {
  return { errors: errors.map(([error, message]) => ({ error, message })), status_code: status };
}

/**
 * Checks an Authorization header as Notify does: null if good, else [status, body].
 */
export function checkToken(authorization, { serviceId, secret }, nowSeconds = Date.now() / 1000) {
  const refuse = (status, message) => [status, errorBody(status, [['AuthError', message]])];
  if (!authorization || !authorization.startsWith('Bearer ')) {
    return refuse(401, 'Unauthorized: authentication token must be provided');
  }
  const token = authorization.slice('Bearer '.length).trim();
  const parts = token.split('.');
  if (parts.length !== 3) return refuse(403, 'Invalid token: signature, api token is not valid');
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return refuse(403, 'Invalid token: signature, api token is not valid');
  }
  if (header?.alg !== 'HS256' || header?.typ !== 'JWT') return refuse(403, 'Invalid token: algorithm used is not HS256');
  if (typeof claims?.iss !== 'string') return refuse(403, 'Invalid token: iss field not provided');
  if (claims.iss !== serviceId) return refuse(403, 'Invalid token: service not found');
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const presented = Buffer.from(parts[2], 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return refuse(403, 'Invalid token: signature, api token not found');
  }
  if (typeof claims.iat !== 'number') return refuse(403, 'Invalid token: iat field not provided');
  if (Math.abs(nowSeconds - claims.iat) > CLOCK_SKEW_SECONDS) {
    return refuse(403, 'Error: Your system clock must be accurate to within 30 seconds');
  }
  return null;
}

/** The validation errors Notify would give for a send body, as [error, message] pairs. */
export function validate(channel, body) {
  const errors = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [['ValidationError', 'Request body is not a JSON object']];
  }
  if (typeof body.template_id !== 'string') errors.push(['ValidationError', 'template_id is a required property']);
  else if (!UUID.test(body.template_id)) errors.push(['ValidationError', 'template_id is not a valid UUID']);
  if (body.reference !== undefined && typeof body.reference !== 'string') errors.push(['ValidationError', 'reference is not a string']);
  const personalisation = body.personalisation;
  if (personalisation !== undefined && (typeof personalisation !== 'object' || personalisation === null || Array.isArray(personalisation))) {
    errors.push(['ValidationError', 'personalisation is not of type object']);
  }
  if (channel === 'email') {
    if (typeof body.email_address !== 'string') errors.push(['ValidationError', 'email_address is a required property']);
    else if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email_address)) errors.push(['ValidationError', 'email_address Not a valid email address']);
    if (body.email_reply_to_id !== undefined && !UUID.test(String(body.email_reply_to_id))) {
      errors.push(['ValidationError', 'email_reply_to_id is not a valid UUID']);
    }
  } else if (channel === 'sms') {
    if (typeof body.phone_number !== 'string') errors.push(['ValidationError', 'phone_number is a required property']);
    else {
      const digits = body.phone_number.replace(/[\s()+-]/g, '').replace(/^(0044|44)/, '0');
      if (!/^07\d{9}$/.test(digits) && !/^\d{8,15}$/.test(body.phone_number.replace(/[\s()-]/g, '').replace(/^\+/, ''))) {
        errors.push(['ValidationError', 'phone_number Not a UK mobile number']);
      }
    }
    if (body.sms_sender_id !== undefined && !UUID.test(String(body.sms_sender_id))) {
      errors.push(['ValidationError', 'sms_sender_id is not a valid UUID']);
    }
  } else if (channel === 'letter') {
    if (typeof personalisation !== 'object' || personalisation === null) {
      errors.push(['ValidationError', 'personalisation is a required property']);
    } else {
      const lines = [1, 2, 3, 4, 5, 6, 7].map((n) => personalisation[`address_line_${n}`]).filter((line) => typeof line === 'string' && line.trim() !== '');
      if (lines.length < 3) errors.push(['ValidationError', 'Address must be at least 3 lines']);
      else if (!POSTCODE.test(lines[lines.length - 1].trim())) errors.push(['ValidationError', 'Last line of address must be a real UK postcode or another country']);
    }
  }
  return errors;
}

/** Notify's 201 body for a sent message. */
function created(message, baseUrl) {
  const content = message.type === 'email'
    ? { subject: 'carefront message', body: JSON.stringify(message.personalisation ?? {}), from_email: 'carefront@notifications.service.gov.uk', one_click_unsubscribe_url: null }
    : message.type === 'sms'
      ? { body: JSON.stringify(message.personalisation ?? {}), from_number: 'carefront' }
      : { subject: 'carefront letter', body: JSON.stringify(message.personalisation ?? {}) };
  const answer = {
    id: message.id,
    reference: message.reference ?? null,
    content,
    uri: `${baseUrl}/v2/notifications/${message.id}`,
    template: { id: message.template_id, version: 1, uri: `${baseUrl}/v2/template/${message.template_id}` },
    scheduled_for: null,
  };
  if (message.type === 'sms') delete answer.scheduled_for;
  if (message.type === 'letter') answer.postage = 'second';
  return answer;
}

/** GET /v2/notifications/{id}'s body for a message. */
function statusOf(message) {
  const lines = message.type === 'letter'
    ? Object.fromEntries([1, 2, 3, 4, 5, 6].map((n) => [`line_${n}`, message.personalisation?.[`address_line_${n}`] ?? null]))
    : {};
  return {
    id: message.id,
    reference: message.reference ?? null,
    email_address: message.type === 'email' ? message.to : null,
    phone_number: message.type === 'sms' ? message.to : null,
    ...lines,
    postcode: null,
    type: message.type,
    status: message.status,
    template: { id: message.template_id, version: 1, uri: `/v2/template/${message.template_id}` },
    body: JSON.stringify(message.personalisation ?? {}),
    subject: message.type === 'sms' ? null : 'carefront message',
    created_at: message.created_at,
    sent_at: message.sent_at,
    completed_at: message.completed_at,
  };
}

const escapeHtml = (text) => String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** The developer's page: every message received, newest first. */
function page(messages, failures) {
  const rows = [...messages].reverse().map((m) => `<tr><td>${escapeHtml(m.created_at)}</td><td>${escapeHtml(m.type)}</td><td>${escapeHtml(m.to)}</td>`
    + `<td><code>${escapeHtml(m.template_id)}</code></td><td>${escapeHtml(m.reference)}</td><td>${escapeHtml(m.status)}</td>`
    + `<td><pre>${escapeHtml(JSON.stringify(m.personalisation ?? {}, null, 2))}</pre></td></tr>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Notify stand-in: messages received</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #b1b4b6;padding:.4rem;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap}</style></head>
<body><h1>Messages received by the Notify stand-in</h1>
<p>${messages.length} message${messages.length === 1 ? '' : 's'}. Failing the next ${failures.length} send${failures.length === 1 ? '' : 's'} on demand. <a href="/messages.json">As JSON</a>.</p>
<table><thead><tr><th>Received</th><th>Channel</th><th>To</th><th>Template</th><th>Reference</th><th>Status</th><th>Personalisation</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7">No messages yet.</td></tr>'}
</tbody></table></body></html>
`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the stand-in. Options: port (0: any free port), host, apiKey (default
 * STAND_IN_API_KEY), callbackUrl and callbackToken (send delivery callbacks), callbackDelayMs
 * (default 100), now (a function giving seconds, for tests of the clock check).
 */
export async function startNotifyStandIn(options = {}) {
  const apiKey = options.apiKey ?? STAND_IN_API_KEY;
  const credentials = splitApiKey(apiKey);
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => Date.now() / 1000);
  const callbackDelayMs = options.callbackDelayMs ?? 100;
  const messages = [];
  let failures = [];
  // Every send with a valid token, failed or not, so a test can count the tries per message.
  const tries = [];
  const waiters = new Set();
  let baseUrl = '';

  const send = (res, status, body, type = 'application/json') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const callback = async (message) => {
    if (!options.callbackUrl) return;
    await new Promise((resolve) => setTimeout(resolve, callbackDelayMs));
    const time = new Date().toISOString().replace('Z', '000Z');
    message.status = 'delivered';
    message.sent_at = message.sent_at ?? time;
    message.completed_at = time;
    const payload = {
      id: message.id,
      reference: message.reference ?? null,
      to: message.to,
      status: message.status,
      created_at: message.created_at,
      completed_at: message.completed_at,
      sent_at: message.sent_at,
      notification_type: message.type,
      template_id: message.template_id,
      template_version: 1,
    };
    try {
      const answer = await fetch(options.callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.callbackToken ?? ''}` },
        body: JSON.stringify(payload),
      });
      message.callback = { status: answer.status };
    } catch (error) {
      message.callback = { error: String(error) };
    }
    notify();
  };

  const notify = () => {
    for (const waiter of waiters) waiter();
  };

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://stand-in');
      const body = await readBody(req);
      const sendMatch = url.pathname.match(/^\/v2\/notifications\/(email|sms|letter)$/);
      const getMatch = url.pathname.match(/^\/v2\/notifications\/([^/]+)$/);
      if (req.method === 'POST' && sendMatch) {
        const refused = checkToken(req.headers.authorization, credentials, now());
        if (refused) return send(res, refused[0], refused[1]);
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {
          // answered below, after any failure asked for
        }
        const answered = (status) => tries.push({ reference: json?.reference ?? null, status });
        const failure = failures.shift();
        if (failure) {
          answered(failure);
          const errors = failure === 429
            ? [['RateLimitError', 'Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds']]
            : [['Exception', 'Internal server error']];
          return send(res, failure, errorBody(failure, errors));
        }
        if (json === null) {
          answered(400);
          return send(res, 400, errorBody(400, [['BadRequestError', 'Invalid JSON supplied in POST data']]));
        }
        const channel = sendMatch[1];
        const errors = validate(channel, json);
        if (errors.length) {
          answered(400);
          return send(res, 400, errorBody(400, errors));
        }
        const message = {
          id: randomUUID(),
          type: channel,
          to: channel === 'email' ? json.email_address : channel === 'sms' ? json.phone_number : json.personalisation.address_line_1,
          template_id: json.template_id,
          personalisation: json.personalisation ?? null,
          reference: json.reference ?? null,
          email_reply_to_id: json.email_reply_to_id ?? null,
          sms_sender_id: json.sms_sender_id ?? null,
          user_agent: req.headers['user-agent'] ?? null,
          status: 'created',
          created_at: new Date().toISOString().replace('Z', '000Z'),
          sent_at: null,
          completed_at: null,
          callback: null,
        };
        messages.push(message);
        answered(201);
        notify();
        send(res, 201, created(message, baseUrl));
        callback(message);
        return undefined;
      }
      if (req.method === 'GET' && getMatch) {
        const refused = checkToken(req.headers.authorization, credentials, now());
        if (refused) return send(res, refused[0], refused[1]);
        const message = messages.find((m) => m.id === getMatch[1]);
        if (!message) return send(res, 404, errorBody(404, [['NoResultFound', 'No result found']]));
        return send(res, 200, statusOf(message));
      }
      if (req.method === 'POST' && url.pathname === '/_stand-in/fail') {
        const { count = 1, status = 500 } = body ? JSON.parse(body) : {};
        if (!Number.isInteger(count) || count < 0 || ![429, 500, 502, 503].includes(status)) {
          return send(res, 400, { error: 'count must be a whole number, status 429, 500, 502 or 503' });
        }
        failures = failures.concat(Array(count).fill(status));
        return send(res, 200, { failing_next: failures.length });
      }
      if (req.method === 'POST' && url.pathname === '/_stand-in/reset') {
        messages.length = 0;
        tries.length = 0;
        failures = [];
        return send(res, 200, { reset: true });
      }
      if (req.method === 'GET' && (url.pathname === '/messages.json' || (url.pathname === '/' && (req.headers.accept ?? '').startsWith('application/json')))) {
        return send(res, 200, { messages, failing_next: failures.length });
      }
      if (req.method === 'GET' && url.pathname === '/') {
        return send(res, 200, page(messages, failures), 'text/html; charset=utf-8');
      }
      return send(res, 404, errorBody(404, [['NotFound', `${req.method} ${url.pathname} is not an endpoint of the stand-in`]]));
    } catch (error) {
      return send(res, 500, errorBody(500, [['Exception', String(error)]]));
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address();
  baseUrl = `http://${host}:${port}`;

  return {
    url: baseUrl,
    apiKey,
    serviceId: credentials.serviceId,
    /** Every message accepted, oldest first. */
    messages: () => messages.map((m) => ({ ...m })),
    /** Every send request with a valid token, oldest first: `{ reference, status }`. */
    tries: () => tries.map((t) => ({ ...t })),
    /** Fails the next `count` sends with `status` (500, 502, 503 or 429). */
    failNext(count, status = 500) {
      failures = failures.concat(Array(count).fill(status));
    },
    /** Forgets every message and pending failure. */
    reset() {
      messages.length = 0;
      tries.length = 0;
      failures = [];
    },
    /** Resolves with the messages once `predicate(messages)` holds, or rejects after `ms`. */
    waitFor(predicate, ms = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(messages)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(messages.map((m) => ({ ...m })));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the Notify stand-in did not get the expected messages within ${ms} ms (has ${messages.length})`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function parseArgs(argv) {
  const options = {
    apiKey: process.env.NOTIFY_API_KEY || undefined,
    callbackUrl: process.env.NOTIFY_CALLBACK_URL || undefined,
    callbackToken: process.env.NOTIFY_CALLBACK_TOKEN || undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--host') options.host = value;
    else if (flag === '--api-key') options.apiKey = value;
    else if (flag === '--callback-url') options.callbackUrl = value;
    else if (flag === '--callback-token') options.callbackToken = value;
    else if (flag === '--callback-delay-ms') options.callbackDelayMs = Number(value);
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const options = parseArgs(process.argv.slice(2));
  const standIn = await startNotifyStandIn({ port: 6011, ...options });
  console.log(`listening on ${standIn.url}`);
  console.log(`NOTIFY_BASE_URL=${standIn.url}`);
  console.log(`NOTIFY_API_KEY=${standIn.apiKey}`);
  const stop = async () => {
    await standIn.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
