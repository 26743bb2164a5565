// Unit tests for e2e/sign.mjs: the JavaScript signer agrees with the Rust one
// (shared/src/credential.rs, test `known_answer`) and the README on fixed vectors.
// Run: node --test e2e/unit/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { canonicalRequest, contentDigest, signatureHeaders } from '../sign.mjs';

test('the empty body and the RFC 9530 example have the documented digests', () => {
  assert.equal(contentDigest(''), 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  assert.equal(contentDigest('{"hello": "world"}'), 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
});

test('the canonical request is eight lines without a trailing newline, absent headers empty', () => {
  assert.equal(
    canonicalRequest({ method: 'get', pathAndQuery: '/a?b=1', host: 'h:1', timestamp: 1, nonce: 'n', digest: 'd' }),
    'GET\n/a?b=1\nhost:h:1\ncontent-type:\nidempotency-key:\ncarefront-timestamp:1\ncarefront-nonce:n\ncontent-digest:d',
  );
});

test('the signer matches the Rust known answer', () => {
  // The derivation a server does: HMAC-SHA256(CREDENTIAL_KEY, "carefront credential v1|" + key id).
  const secret = createHmac('sha256', Buffer.alloc(32, 0x42)).update('carefront credential v1|ck_example').digest('base64url');
  assert.equal(secret, 'tHfOXh252rZtJ0uCX3gHS-e2MkV4I2hSU0BfwkUZ-94');
  const headers = signatureHeaders({
    keyId: 'ck_example', secret, method: 'GET', host: 'localhost:8788', pathAndQuery: '/api/v1/people?limit=2',
    timestamp: 1795251600, nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
  });
  assert.equal(headers.authorization, 'Carefront-HMAC-SHA256 Credential=ck_example, Signature=SCjUYxLFqe_XDhtFeB11Lwni7z31y4GlD0oPxqQ91Rs');
  assert.equal(headers['carefront-timestamp'], '1795251600');
  assert.equal(headers['content-digest'], contentDigest(''));
});

test('the signer gives the README worked example', () => {
  const secret = 'tHfOXh252rZtJ0uCX3gHS-e2MkV4I2hSU0BfwkUZ-94';
  const body = '{"status":"completed"}';
  assert.equal(contentDigest(body), 'sha-256=:0HZfc81dHfOb41PVOOp8R6AX1mqL0AHcRwckDbtx5Yw=:');
  const headers = signatureHeaders({
    keyId: 'ck_example', secret, method: 'POST', host: 'api.care.example.gov.uk',
    pathAndQuery: '/api/v1/people/person-margaret/visits', contentType: 'application/json',
    idempotencyKey: 'visit-2026-11-21-0800', body, timestamp: 1795251600, nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
  });
  assert.equal(headers.authorization, 'Carefront-HMAC-SHA256 Credential=ck_example, Signature=801M9X0ZnZthUgZx7-_fdyEu8ti9y4014SkWX8RJg9c');
});
