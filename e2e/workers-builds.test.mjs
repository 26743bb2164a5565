// e2e/workers-builds.test.mjs — on Workers with PostgreSQL only (CAREFRONT_RUNTIME=workers,
// CAREFRONT_STORE=postgres): the D1 build (portal/build/, api/build/), which has no PostgreSQL
// client, run where HYPERDRIVE is bound. It must not fall back to D1, a different database from
// the council's: every request is refused with 503 and Retry-After, and the Worker's log says
// why (carefront_shared::log on Workers: console.error, since the target's stderr goes nowhere).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runtime, startStack, store } from './harness.mjs';

const applies = runtime === 'workers' && store === 'postgres';

describe('the D1 build where HYPERDRIVE is bound', { skip: !applies && 'only on CAREFRONT_RUNTIME=workers CAREFRONT_STORE=postgres' }, () => {
  let stack;
  before(async () => {
    stack = await startStack({ seed: false, workersBuild: 'build', readyStatus: 503 });
  });
  after(async () => { await stack?.stop(); });

  const log = (crate) => readFileSync(path.join(stack.dir, `${crate}.log`), 'utf8');
  const why = 'HYPERDRIVE \\(PostgreSQL\\) is bound but this is the D1 build';

  test('the API answers 503 with Retry-After and logs the reason', async () => {
    const response = await fetch(`${stack.apiUrl}/api/v1/people`);
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'), 'Retry-After is set');
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = await response.json();
    assert.doesNotMatch(JSON.stringify(problem), /HYPERDRIVE|D1/, 'the reason is for the log only');
    assert.match(log('api'), new RegExp(`carefront-api unavailable: .*${why}`), 'api.log names the reason');
  });

  test('the portal answers 503 with an HTML page and Retry-After, and logs the reason', async () => {
    const response = await fetch(`${stack.portalUrl}/sign-in`);
    assert.equal(response.status, 503);
    assert.ok(response.headers.get('retry-after'), 'Retry-After is set');
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const body = await response.text();
    assert.doesNotMatch(body, /HYPERDRIVE|D1 build/, 'the reason is for the log only');
    assert.match(log('portal'), new RegExp(`carefront-portal unavailable: .*${why}`), 'portal.log names the reason');
  });
});
