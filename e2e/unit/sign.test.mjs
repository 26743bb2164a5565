// Unit tests for e2e/sign.mjs: the JavaScript signer agrees with the Rust one
// (shared/src/credential.rs, test `known_answer`) on a fixed vector.
// Run: node --test e2e/unit/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { canonicalRequest, contentDigest, signatureHeaders } from '../sign.mjs';

test('the empty body and the RFC 9530 example have the documented digests', () => {
  assert.equal(contentDigest(''), 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  assert.equal(contentDigest('{"hello": "world"}'), 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
});

test('the canonical request is five lines without a trailing newline', () => {
  assert.equal(canonicalRequest({ method: 'get', pathAndQuery: '/a?b=1', timestamp: 1, nonce: 'n', digest: 'd' }), 'GET\n/a?b=1\n1\nn\nd');
});

test('the signer matches the Rust known answer', () => {
  // The derivation a server does: HMAC-SHA256(CREDENTIAL_KEY, "carefront credential v1|" + key id).
  const secret = createHmac('sha256', Buffer.alloc(32, 0x42)).update('carefront credential v1|ck_example').digest('base64url');
  assert.equal(secret, 'tHfOXh252rZtJ0uCX3gHS-e2MkV4I2hSU0BfwkUZ-94');
  const headers = signatureHeaders({
    keyId: 'ck_example', secret, method: 'GET', pathAndQuery: '/api/v1/people?limit=2',
    timestamp: 1795251600, nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
  });
  assert.equal(headers.authorization, 'Carefront-HMAC-SHA256 Credential=ck_example, Signature=YfxRE-vAtBFpYnDjFOkNBoWp2H1LjK-rXTz5O_wFgJ4');
  assert.equal(headers['carefront-timestamp'], '1795251600');
  assert.equal(headers['content-digest'], contentDigest(''));
});
