// e2e/api.test.mjs — the signed API against the built api on the runtime named by
// CAREFRONT_RUNTIME (e2e/harness.mjs): requests signed with the system credentials the seed made
// (stack.credentials, e2e/sign.mjs) are answered; replayed, skewed, mis-digested, forged and
// unsigned ones are refused with the right problem document; a missing permission is 403; a
// person the organisation does not support is 404; pages follow their next links; the record
// categories the provider's grant allows are read (needs with their SNOMED CT codes); a visit
// note written twice with one Idempotency-Key is stored once; the council reads the monitoring
// report and exports a whole record. The same checks in depth are the Rust tests in api/tests/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runtime, startStack } from './harness.mjs';
import { contentDigest, signatureHeaders, signedFetch } from './sign.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const type = (response) => response.headers.get('content-type') ?? '';
const slug = (problem) => String(problem.type ?? '').split('/').at(-1);

/** The seeded credential of `organisation` that has `permission` (and, if given, lacks `without`). */
function credential(organisation, permission, without) {
  const found = stack.credentials.find((c) => c.organisation_id === organisation
    && c.permissions.includes(permission) && !(without && c.permissions.includes(without)));
  assert.ok(found, `the seed made a credential for ${organisation} with ${permission}`);
  return found;
}
const provider = () => credential('org-brookside-care', 'people:read');
const council = () => credential('org-northshire-council', 'people:read');

/** GET `path` with `headers` exactly as given (no signing). */
const raw = (path, headers = {}) => fetch(new URL(path, stack.apiUrl), { headers });
// The Host header fetch sends to the API, which signatures cover.
const apiHost = () => new URL(stack.apiUrl).host;

/** Read a refusal and check it is a problem document of `status` and `expected` type. */
async function refused(response, status, expected) {
  assert.equal(response.status, status);
  assert.match(type(response), /^application\/problem\+json/);
  const problem = await response.json();
  assert.equal(problem.status, status);
  assert.equal(slug(problem), expected, JSON.stringify(problem));
  if (status === 401) assert.equal(response.headers.get('www-authenticate'), 'Carefront-HMAC-SHA256');
  return problem;
}

describe(`signed api (${runtime})`, () => {
  test('the seed made credentials for the provider and the council', () => {
    assert.ok(stack.credentials.length >= 3, JSON.stringify(stack.credentials));
    for (const c of stack.credentials) {
      assert.match(c.key_id, /^ck_[A-Za-z0-9_-]+$/);
      assert.equal(Buffer.from(c.secret, 'base64url').length, 32);
    }
  });

  test('the OpenAPI document is served unsigned and describes the people routes', async () => {
    const response = await fetch(`${stack.apiUrl}/api/v1/openapi.json`);
    assert.equal(response.status, 200);
    assert.match(type(response), /^application\/json/);
    const document = await response.json();
    assert.equal(document.openapi, '3.1.0');
    assert.ok(document.paths['/api/v1/people']?.get, 'GET /api/v1/people is documented');
    assert.ok(document.components.securitySchemes.carefrontSignature);
  });

  test('the provider lists the people it supports', async () => {
    const response = await signedFetch(stack.apiUrl, provider(), '/api/v1/people');
    assert.equal(response.status, 200, await response.clone().text());
    assert.match(type(response), /^application\/json/);
    const page = await response.json();
    const names = page.items.map((item) => item.name).sort();
    assert.deepEqual(names, ['Arthur Jenkins', 'Margaret Okafor']);
    assert.equal(page.next, null);
    const margaret = page.items.find((item) => item.id === 'person-margaret');
    assert.ok(margaret.categories.some((c) => c.category === 'medication' && c.actions.includes('view')));
    assert.ok(!margaret.categories.some((c) => c.category === 'access_log'), 'only what the grant gives');
  });

  test('the council sees the same people on its statutory basis, every category', async () => {
    const response = await signedFetch(stack.apiUrl, council(), '/api/v1/people');
    assert.equal(response.status, 200);
    const page = await response.json();
    assert.deepEqual(page.items.map((item) => item.id).sort(), ['person-arthur', 'person-margaret']);
    for (const item of page.items) assert.equal(item.categories.length, 8);
  });

  test('pages follow their next links, the query signed as sent', async () => {
    const seen = [];
    let path = '/api/v1/people?limit=1';
    for (let pages = 0; path; pages++) {
      assert.ok(pages < 5, 'the pages end');
      const response = await signedFetch(stack.apiUrl, provider(), path);
      assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
      const page = await response.json();
      assert.equal(page.items.length, 1);
      seen.push(page.items[0].id);
      if (page.next) assert.equal(response.headers.get('link'), `<${page.next}>; rel="next"`);
      path = page.next;
    }
    assert.deepEqual(seen, ['person-arthur', 'person-margaret']);
  });

  test('one person is shown; someone the organisation does not support is 404', async () => {
    const response = await signedFetch(stack.apiUrl, provider(), '/api/v1/people/person-margaret');
    assert.equal(response.status, 200);
    const person = await response.json();
    assert.equal(person.name, 'Margaret Okafor');
    assert.ok(person.grants.every((grant) => grant.basis === 'consent'), 'only the provider\'s own grants');
    // Sam is a representative: no grant to the provider is about him.
    await refused(await signedFetch(stack.apiUrl, provider(), '/api/v1/people/person-sam'), 404, 'about:blank');
  });

  test('a credential without people:read is 403', async () => {
    const needsOnly = credential('org-brookside-care', 'needs:read', 'people:read');
    const problem = await refused(await signedFetch(stack.apiUrl, needsOnly, '/api/v1/people'), 403, 'permission-required');
    assert.match(problem.detail, /people:read/);
  });

  test('a replayed request is refused', async () => {
    const headers = signatureHeaders({ keyId: provider().key_id, secret: provider().secret, host: apiHost(), pathAndQuery: '/api/v1/people' });
    assert.equal((await raw('/api/v1/people', headers)).status, 200);
    await refused(await raw('/api/v1/people', headers), 401, 'replayed-request');
  });

  test('a request more than five minutes off the server clock is refused, with the server time', async () => {
    for (const offset of [-600, 600]) {
      const timestamp = Math.floor(Date.now() / 1000) + offset;
      const problem = await refused(await signedFetch(stack.apiUrl, provider(), '/api/v1/people', { timestamp }), 401, 'clock-skew');
      assert.ok(Math.abs(problem.serverTimestamp - Date.now() / 1000) < 60, JSON.stringify(problem));
      assert.ok(!Number.isNaN(Date.parse(problem.serverTime)));
    }
  });

  test('a body that does not match its signed digest is refused', async () => {
    // The signature covers a digest of "tampered"; the body that arrives is empty.
    const response = await signedFetch(stack.apiUrl, provider(), '/api/v1/people', { digest: contentDigest('tampered') });
    await refused(response, 401, 'digest-mismatch');
    const malformed = await signedFetch(stack.apiUrl, provider(), '/api/v1/people', { digest: 'sha-256=oops' });
    await refused(malformed, 400, 'malformed-digest');
  });

  test('finding 11: a request signed for another host is refused; the runtime passes on the Host sent', async () => {
    const signed = (host) => signatureHeaders({ keyId: provider().key_id, secret: provider().secret, host, pathAndQuery: '/api/v1/people' });
    await refused(await raw('/api/v1/people', signed('api.staging.care.example.gov.uk')), 401, 'invalid-credentials');
    assert.equal((await raw('/api/v1/people', signed(apiHost()))).status, 200);
  });

  test('forged, unknown, malformed and unsigned requests are refused alike', async () => {
    const forged = { key_id: provider().key_id, secret: council().secret };
    const a = await refused(await signedFetch(stack.apiUrl, forged, '/api/v1/people'), 401, 'invalid-credentials');
    const unknown = { key_id: 'ck_neverissued00000', secret: provider().secret };
    const b = await refused(await signedFetch(stack.apiUrl, unknown, '/api/v1/people'), 401, 'invalid-credentials');
    assert.deepEqual(a, b, 'no oracle');
    await refused(await raw('/api/v1/people'), 401, 'unauthenticated');
    await refused(await raw('/api/v1/people', { authorization: 'Bearer abc' }), 401, 'malformed-authorization');
    const { 'carefront-nonce': _, ...withoutNonce } = signatureHeaders({ keyId: provider().key_id, secret: provider().secret, host: apiHost(), pathAndQuery: '/api/v1/people' });
    await refused(await raw('/api/v1/people', withoutNonce), 401, 'missing-signature-header');
  });

  test('the public routes still need no signature', async () => {
    assert.equal((await fetch(`${stack.apiUrl}/api/v1/health`)).status, 200);
    const verify = await fetch(`${stack.apiUrl}/api/v1/consent-receipts/verify`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(verify.status, 400, 'reached the handler: the receipt is malformed');
  });

  test('the provider reads what its grant allows: current medicines, and needs with SNOMED CT codes', async () => {
    const records = credential('org-brookside-care', 'record:read');
    const response = await signedFetch(stack.apiUrl, records, '/api/v1/people/person-margaret/medicines');
    assert.equal(response.status, 200, await response.clone().text());
    const medicines = await response.json();
    assert.ok(medicines.medicines.length > 0, 'Margaret has current medicines');
    for (const medicine of medicines.medicines) assert.ok(medicine.stoppedOn === null || medicine.stoppedOn > medicines.on, 'current only');
    assert.ok(Array.isArray(medicines.allergies));

    const needs = await signedFetch(stack.apiUrl, credential('org-brookside-care', 'needs:read', 'people:read'), '/api/v1/people/person-margaret/needs');
    assert.equal(needs.status, 200, await needs.clone().text());
    const page = await needs.json();
    for (const need of page.items) {
      if (need.snomed) assert.equal(need.snomed.system, 'http://snomed.info/sct');
    }
    // Sam is nobody the provider supports: his record does not exist for it.
    await refused(await signedFetch(stack.apiUrl, records, '/api/v1/people/person-sam/medicines'), 404, 'about:blank');
  });

  test('a visit note sent twice with one Idempotency-Key is stored once; another body with that key is refused', async () => {
    const writer = credential('org-brookside-care', 'visits:write');
    const path = '/api/v1/people/person-margaret/visits';
    const startsAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000);
    const body = JSON.stringify({
      startsAt: startsAt.toISOString(),
      endsAt: new Date(startsAt.getTime() + 30 * 60_000).toISOString(),
      status: 'completed',
      carers: 'Jo Bloggs',
      note: `End-to-end visit note ${runtime}`,
    });
    const key = `e2e-visit-${runtime}-${Date.now()}`;
    const post = (payload) => signedFetch(stack.apiUrl, writer, path, {
      method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'idempotency-key': key },
    });
    const first = await post(body);
    assert.equal(first.status, 201, await first.clone().text());
    const made = await first.json();
    const again = await post(body);
    assert.equal(again.status, 200, await again.clone().text());
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await again.json(), made);
    const reused = await post(JSON.stringify({ ...JSON.parse(body), note: 'Something else' }));
    const problem = await refused(reused, 422, 'idempotency-key-reused');
    assert.match(problem.detail, /different body/);

    const listed = await signedFetch(stack.apiUrl, writer, `${path}?limit=100`);
    assert.equal(listed.status, 200);
    const visits = (await listed.json()).items.filter((visit) => visit.note === `End-to-end visit note ${runtime}`);
    assert.equal(visits.length, 1, 'stored once');
    assert.equal(visits[0].id, made.id);

    await refused(await post('not json'), 400, 'malformed-json');
  });

  test('the council reads the monitoring report and exports a whole record; a provider cannot', async () => {
    const monitoring = await signedFetch(stack.apiUrl, council(), '/api/v1/monitoring');
    assert.equal(monitoring.status, 200, await monitoring.clone().text());
    const report = await monitoring.json();
    const brookside = report.providers.find((provider) => provider.organisationId === 'org-brookside-care');
    assert.equal(brookside.people, 2);
    assert.equal(typeof brookside.emergencyAccesses, 'number');

    const exporter = credential('org-northshire-council', 'export:read');
    const json = await signedFetch(stack.apiUrl, exporter, '/api/v1/people/person-margaret/export');
    assert.equal(json.status, 200, await json.clone().text());
    assert.equal((await json.json()).format, 'carefront-record-export/1');
    const fhir = await signedFetch(stack.apiUrl, exporter, '/api/v1/people/person-margaret/export?format=fhir');
    assert.equal(fhir.status, 200);
    assert.match(type(fhir), /^application\/fhir\+json/);
    assert.equal((await fhir.json()).resourceType, 'Bundle');

    await refused(await signedFetch(stack.apiUrl, provider(), '/api/v1/monitoring'), 403, 'permission-required');
  });
});
