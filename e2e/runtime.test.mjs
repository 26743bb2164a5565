// e2e/runtime.test.mjs — HTTP tests against the built portal and api on the runtime named by
// CAREFRONT_RUNTIME (e2e/harness.mjs): the workers under wrangler dev (workerd + local D1), or the
// Spin components under the local Spin host (SQLite): status codes, content types, security
// headers, limits and abuse cases.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runtime, startStack } from './harness.mjs';
import { attribute, Client, forms, parseCsp } from './http.mjs';
import { signatureHeaders } from './sign.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const type = (response) => response.headers.get('content-type') ?? '';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A well-formed invitation code (nine groups: XXXX-XXXX-…-XXXX) that was never issued. */
const randomCode = () => Array.from({ length: 9 }, () => Array.from({ length: 4 },
  () => CROCKFORD[Math.floor(Math.random() * 32)]).join('')).join('-');

/** Submit `code` the way a browser does: open the invitation page, post its form. */
async function tryCode(code) {
  const { client, form } = await invitationForm(code);
  assert.ok(form, 'the invitation page has a POST form');
  return client.postForm(form.action || '/invitation', { ...form.fields, code });
}

/** GET the invitation page for `code` and return the client and the page's POST form. */
async function invitationForm(code) {
  const client = new Client(stack.portalUrl);
  const page = await client.request(`/invitation?code=${encodeURIComponent(code)}`);
  const form = forms(page.body).find((f) => f.method === 'post');
  return { client, page, form };
}

describe(`api (${runtime})`, () => {
  test('GET /api/v1/health is 200 JSON with status ok', async () => {
    const response = await fetch(`${stack.apiUrl}/api/v1/health`);
    assert.equal(response.status, 200);
    assert.match(type(response), /^application\/json/);
    assert.equal((await response.json()).status, 'ok');
  });

  test('an unknown API path is a 404 problem document', async () => {
    const response = await fetch(`${stack.apiUrl}/api/v1/no-such-thing`);
    assert.equal(response.status, 404);
    assert.match(type(response), /^application\/problem\+json/);
    assert.equal((await response.json()).status, 404);
  });
});

describe(`portal (${runtime})`, () => {
  test('GET / is HTML with the security headers', async () => {
    const response = await fetch(`${stack.portalUrl}/`);
    assert.equal(response.status, 200);
    assert.match(type(response), /^text\/html/);
    const cspHeader = response.headers.get('content-security-policy');
    assert.ok(cspHeader, 'Content-Security-Policy is set');
    const csp = parseCsp(cspHeader);
    assert.ok(csp['default-src']?.some((s) => s === "'none'" || s === "'self'"),
      `default-src is 'none' or 'self': ${cspHeader}`);
    const scriptSrc = csp['script-src'] ?? csp['default-src'];
    assert.ok(!scriptSrc.includes("'unsafe-inline'"), `no 'unsafe-inline' in script-src: ${cspHeader}`);
    assert.deepEqual(csp['frame-ancestors'], ["'none'"], `frame-ancestors 'none': ${cspHeader}`);
    assert.match(response.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(response.headers.get('referrer-policy'), 'Referrer-Policy is set');
  });

  test('an unknown page is a 404 HTML page', async () => {
    const response = await fetch(`${stack.portalUrl}/no-such-page`);
    assert.equal(response.status, 404);
    assert.match(type(response), /^text\/html/);
    assert.match(await response.text(), /<html/i);
  });

  test('the stylesheet is served as immutable CSS', async () => {
    const html = await (await fetch(`${stack.portalUrl}/`)).text();
    const href = [...html.matchAll(/<link\b([^>]*)>/gi)]
      .map(([, a]) => a)
      .filter((a) => /(^|\s)stylesheet(\s|$)/i.test(attribute(a, 'rel') ?? ''))
      .map((a) => attribute(a, 'href'))[0];
    assert.ok(href, 'the start page links a stylesheet');
    const response = await fetch(new URL(href, stack.portalUrl));
    assert.equal(response.status, 200);
    assert.match(type(response), /^text\/css/);
    assert.match(response.headers.get('cache-control') ?? '', /immutable/);
  });

  test('DELETE / is 405', async () => {
    const response = await fetch(`${stack.portalUrl}/`, { method: 'DELETE' });
    assert.equal(response.status, 405);
  });

  test('a POST without a CSRF token is refused with an HTML page', async () => {
    const client = new Client(stack.portalUrl);
    const response = await client.postForm('/invitation', { code: stack.invitations[0].code });
    assert.ok([400, 403].includes(response.status), `status ${response.status}`);
    assert.match(type(response), /^text\/html/);
  });

  test('a 2 MB form body is 413', async () => {
    const client = new Client(stack.portalUrl);
    const response = await client.postForm('/invitation', { code: 'x'.repeat(2 << 20) });
    assert.equal(response.status, 413);
  });

  /** POST the invitation form with its CSRF token (in the body or a header) and a code of bytes that are not UTF-8. */
  async function postNonUtf8(tokenInHeader) {
    // A real form's token and cookies, so that only the encoding is wrong.
    const { client, form } = await invitationForm(stack.invitations.at(-1).code);
    assert.ok(form, 'the invitation page has a POST form');
    const { csrf, ...rest } = form.fields;
    const fields = new URLSearchParams(tokenInHeader ? rest : { csrf, ...rest });
    fields.delete('code');
    const body = Buffer.concat([Buffer.from(`${fields}&code=`), Buffer.from([0xff, 0xfe, 0x80])]);
    return client.request(form.action || '/invitation', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: stack.portalUrl,
        ...(tokenInHeader ? { 'x-csrf-token': csrf } : {}),
      },
      body,
    });
  }

  test('a form body that is not UTF-8 is 400 (CSRF token in the body, as a form sends it)', async () => {
    assert.equal((await postNonUtf8(false)).status, 400);
  });

  test('a form body that is not UTF-8 is 400 (CSRF token in X-CSRF-Token)', async () => {
    assert.equal((await postNonUtf8(true)).status, 400);
  });

  // Last: these trip this source's limit at one invitation.
  test('a well-formed but wrong invitation code is not recognised', async () => {
    const response = await tryCode(randomCode());
    assert.equal(response.status, 400);
    assert.match(type(response), /^text\/html/);
    assert.match(response.body, /not recogni[sz]ed/i);
  });

  test('many unknown codes from one source are each just not recognised', async () => {
    const statuses = [];
    for (let attempt = 0; attempt < 25; attempt++) {
      statuses.push((await tryCode(randomCode())).status);
    }
    assert.ok(statuses.every((status) => status === 400), `statuses: ${statuses}`);
  });

  test('wrong codes for one invitation from one source are slowed, even the right code (429)', async () => {
    const { code } = stack.invitations.at(-1);
    const last = code.at(-1);
    const wrong = code.slice(0, -1) + (last === '0' ? '1' : '0'); // same selector, wrong secret
    const statuses = [];
    for (let attempt = 0; attempt < 10 && statuses.at(-1) !== 429; attempt++) {
      statuses.push((await tryCode(wrong)).status);
    }
    assert.equal(statuses.at(-1), 429, `statuses: ${statuses}`);
    assert.ok(statuses.slice(0, -1).every((s) => s === 400), `statuses: ${statuses}`);
    const right = await tryCode(code);
    assert.equal(right.status, 429, 'from this source, even the right code waits');
    assert.match(type(right), /^text\/html/);
    assert.match(right.body, /too many/i);
    assert.ok(Number(right.headers.get('retry-after')) > 0, 'Retry-After');
  });

  // After the test above: this source is over its limit at that invitation now, whatever address
  // it claims.
  // Skipped on workers: wrangler dev passes a client's CF-Connecting-IP through unchanged, where
  // Cloudflare's edge overwrites it with the real address, so locally the header is the client's
  // to choose and this cannot hold (nor matter). On Spin the platform's spin-client-addr is the
  // source and the Spin adapter drops a CF-Connecting-IP, which only a client can have sent (and,
  // with no trusted_proxy_header configured, an X-Forwarded-For too).
  test('a client claiming other addresses (CF-Connecting-IP, spin-client-addr) is still limited',
    { skip: runtime === 'workers' && 'wrangler dev forwards a client-sent CF-Connecting-IP (see comment)' },
    async () => {
      const { code } = stack.invitations.at(-1);
      const wrong = code.slice(0, -1) + (code.at(-1) === '0' ? '1' : '0');
      const statuses = [];
      for (let attempt = 0; attempt < 40 && statuses.at(-1) !== 429; attempt++) {
        const forged = {
          'cf-connecting-ip': `192.0.2.${attempt + 1}`,
          'spin-client-addr': `192.0.2.${attempt + 1}:4000`,
          'x-forwarded-for': `192.0.2.${attempt + 1}`,
        };
        const client = new Client(stack.portalUrl);
        const page = await client.request('/invitation', { headers: forged });
        const form = forms(page.body).find((f) => f.method === 'post');
        assert.ok(form, 'the invitation page has a POST form');
        const response = await client.request(form.action || '/invitation', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.portalUrl, ...forged },
          body: new URLSearchParams({ ...form.fields, code: wrong }).toString(),
        });
        statuses.push(response.status);
      }
      assert.equal(statuses.at(-1), 429, `statuses: ${statuses}`);
    });
});

// Finding 12: Workers' own request conversion served any method it did not know as GET. Both
// adapters now answer such a method with 405 and an Allow header, before anything is routed.
describe(`unknown methods (${runtime})`, () => {
  /** Check `response` is the adapter's 405 for a method it does not know. */
  async function notAllowed(response, what) {
    assert.equal(response.status, 405, `${what}: ${response.status}`);
    const allow = response.headers.get('allow') ?? '';
    assert.match(allow, /\bGET\b/, `${what}: Allow: ${allow}`);
    assert.doesNotMatch(allow, /PROPFIND|MKCOL/, `${what}: Allow: ${allow}`);
    assert.doesNotMatch(await response.text(), /<html|"status"\s*:\s*"ok"|"items"/i, `${what}: no page, no data`);
  }

  for (const method of ['PROPFIND', 'MKCOL']) {
    test(`${method} on a portal page is 405, not GET`, async () => {
      await notAllowed(await fetch(`${stack.portalUrl}/`, { method }), `${method} /`);
      await notAllowed(await fetch(`${stack.portalUrl}/sign-in`, { method }), `${method} /sign-in`);
    });

    test(`${method} on a download path is 405, not GET`, async () => {
      await notAllowed(await fetch(`${stack.portalUrl}/people/person-margaret/download/record.json`, { method }),
        `${method} download`);
    });

    test(`${method} on a signed API path is 405, not GET`, async () => {
      const held = stack.credentials.find((c) => c.permissions.includes('people:read'));
      assert.ok(held, 'the seed made a credential with people:read');
      const url = new URL('/api/v1/people', stack.apiUrl);
      // Signed as the GET it would have been turned into, and signed as itself: both refused.
      for (const signedAs of ['GET', method]) {
        const headers = signatureHeaders({ keyId: held.key_id, secret: held.secret, method: signedAs, host: url.host, pathAndQuery: url.pathname });
        await notAllowed(await fetch(url, { method, headers }), `${method} /api/v1/people signed as ${signedAs}`);
      }
      await notAllowed(await fetch(`${stack.apiUrl}/api/v1/health`, { method }), `${method} /api/v1/health`);
    });
  }
});
