// e2e/postgres-outage.test.mjs — on PostgreSQL only (CAREFRONT_STORE=postgres): the server is
// stopped while the stack runs (`pg_ctl stop -m immediate`, as a crash would), then started
// again. Every request meanwhile is refused with 503 and Retry-After, a write refused then left
// nothing behind, and service resumes by itself once PostgreSQL is back, on either runtime.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runtime, startStack, store } from './harness.mjs';
import { Client, forms } from './http.mjs';
import { signedFetch } from './sign.mjs';

const run = promisify(execFile);

/** pg_ctl on the server scripts/lib.sh start_postgres started (as `postgres` when we are root). */
async function pgCtl(...args) {
  const data = process.env.POSTGRES_DATA;
  const pgCtlPath = path.join(process.env.POSTGRES_BIN ?? '', 'pg_ctl');
  const command = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', pgCtlPath, '-D', data, ...args]] : [pgCtlPath, ['-D', data, ...args]];
  await run(command[0], command[1]);
}

/** Starts the server again, its output to start_postgres's log: without -l the server would
 * keep pg_ctl's output pipes open, and waiting for pg_ctl would never end. */
function startServer() {
  return pgCtl('-w', '-t', '60', '-l', path.join(path.dirname(process.env.POSTGRES_DATA), 'postgres.log'), 'start');
}

const onPostgres = store === 'postgres';

describe(`PostgreSQL stopped and started under a running stack (${runtime})`, { skip: !onPostgres && 'only on CAREFRONT_STORE=postgres' }, () => {
  let stack;
  before(async () => {
    assert.ok(process.env.POSTGRES_DATA && process.env.POSTGRES_BIN, 'POSTGRES_DATA and POSTGRES_BIN name the server (scripts/lib.sh start_postgres)');
    stack = await startStack();
  });
  after(async () => {
    // Whatever happened, the server is left running for the tests after this one.
    await startServer().catch(() => {});
    await stack?.stop();
  });

  const credential = (permission) => {
    const found = stack.credentials.find((c) => c.organisation_id === 'org-brookside-care' && c.permissions.includes(permission));
    assert.ok(found, `a seeded credential with ${permission}`);
    return found;
  };
  const visitsPath = '/api/v1/people/person-margaret/visits';
  const write = (key, note) => {
    const startsAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000);
    return signedFetch(stack.apiUrl, credential('visits:write'), visitsPath, {
      method: 'POST',
      body: JSON.stringify({ startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 30 * 60_000).toISOString(), status: 'completed', carers: 'Jo Bloggs', note }),
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
    });
  };
  const notes = async () => {
    const listed = await signedFetch(stack.apiUrl, credential('visits:write'), `${visitsPath}?limit=100`);
    assert.equal(listed.status, 200, await listed.clone().text());
    return (await listed.json()).items.map((visit) => visit.note);
  };

  test('503 with Retry-After while it is down, nothing half-written, and back by itself', async () => {
    assert.equal((await signedFetch(stack.apiUrl, credential('people:read'), '/api/v1/people')).status, 200);
    const key = `e2e-outage-${runtime}-${Date.now()}`;
    const note = `Written during the outage (${runtime})`;

    // The portal's invitation form, fetched while the server is up (Spin opens the store before
    // routing, so while it is down even this page is a 503 there).
    const client = new Client(stack.portalUrl);
    const form = forms((await client.request('/invitation')).body).find((each) => 'code' in each.fields);
    assert.ok(form, 'the invitation form');

    await pgCtl('-m', 'immediate', 'stop');
    try {
      const read = await signedFetch(stack.apiUrl, credential('people:read'), '/api/v1/people');
      assert.equal(read.status, 503, await read.clone().text());
      assert.ok(Number(read.headers.get('retry-after')) >= 1, 'Retry-After on the API');
      assert.match(read.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const written = await write(key, note);
      assert.equal(written.status, 503, await written.clone().text());
      // The portal: an invitation code, which must be looked up (the form was fetched before).
      const page = await client.postForm(form.action || '/invitation', { ...form.fields, code: stack.invitations[0].code });
      assert.equal(page.status, 503, 'the portal answers 503 too');
      assert.ok(Number(page.headers.get('retry-after')) >= 1, 'Retry-After on the portal');
      assert.match(page.body, /Try again in a few minutes/);
    } finally {
      await startServer();
    }

    // Back by itself: no restart of the runtime, only new connections.
    const deadline = Date.now() + 30_000;
    let status;
    do {
      status = (await signedFetch(stack.apiUrl, credential('people:read'), '/api/v1/people')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
    } while (status !== 200 && Date.now() < deadline);
    assert.equal(status, 200, 'reads work again within 30 s of PostgreSQL starting');

    // The refused write left nothing: not the visit, not its idempotency key (the same key now
    // makes it, 201, rather than replaying a half-kept answer).
    assert.ok(!(await notes()).includes(note), 'no visit from the refused write');
    const retried = await write(key, note);
    assert.equal(retried.status, 201, await retried.clone().text());
    assert.equal((await notes()).filter((each) => each === note).length, 1);
  });
});
