// e2e/sign.mjs — sign requests to the carefront API with a system credential, as the README and
// the OpenAPI document describe: HMAC-SHA256, keyed with the 32 bytes the secret encodes, over
// eight lines: the method, the path and query as sent, then `name:value` for Host, Content-Type,
// Idempotency-Key, Carefront-Timestamp, Carefront-Nonce and Content-Digest (names lower-case,
// values as sent, empty when absent). A reference for providers' and the council's systems in
// JavaScript.
//
//   const headers = signatureHeaders({ keyId, secret, method: 'GET', host: 'api.example', pathAndQuery: '/api/v1/people' });
//   const response = await signedFetch(apiUrl, { key_id, secret }, '/api/v1/people?limit=20');

import { createHash, createHmac, randomBytes } from 'node:crypto';

export const SCHEME = 'Carefront-HMAC-SHA256';

/** The headers the signature covers after the method and the path, in order. */
export const SIGNED_HEADERS = ['host', 'content-type', 'idempotency-key', 'carefront-timestamp', 'carefront-nonce', 'content-digest'];

/** The RFC 9530 Content-Digest of `body` (a string or bytes): `sha-256=:<base64>:`. */
export function contentDigest(body = '') {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/** The string a request's signature covers. */
export function canonicalRequest({ method, pathAndQuery, host = '', contentType = '', idempotencyKey = '', timestamp, nonce, digest }) {
  const values = [host, contentType, idempotencyKey, String(timestamp), nonce, digest];
  return [method.toUpperCase(), pathAndQuery, ...SIGNED_HEADERS.map((name, i) => `${name}:${String(values[i]).trim()}`)].join('\n');
}

/** A new nonce: 16 random bytes, base64url (22 characters). */
export function newNonce() {
  return randomBytes(16).toString('base64url');
}

/**
 * The four headers of a signed request. `host` is the Host header the request will carry (the
 * URL's host and port, as fetch sends it); `contentType` and `idempotencyKey` those it will carry,
 * if any. `timestamp` is whole seconds since the epoch (default now); `nonce` defaults to a fresh
 * one; `digest` may be given to sign a digest other than the body's (tests of the server's digest
 * check).
 */
export function signatureHeaders({
  keyId, secret, method = 'GET', host = '', pathAndQuery, contentType = '', idempotencyKey = '', body = '',
  timestamp = Math.floor(Date.now() / 1000), nonce = newNonce(), digest = contentDigest(body),
}) {
  const canonical = canonicalRequest({ method, pathAndQuery, host, contentType, idempotencyKey, timestamp, nonce, digest });
  const signature = createHmac('sha256', Buffer.from(secret, 'base64url')).update(canonical).digest('base64url');
  return {
    authorization: `${SCHEME} Credential=${keyId}, Signature=${signature}`,
    'carefront-timestamp': String(timestamp),
    'carefront-nonce': nonce,
    'content-digest': digest,
  };
}

/** The value of header `name` in a plain headers object, whatever the case of its key. */
function header(headers, name) {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : String(headers[key]);
}

/**
 * fetch `pathAndQuery` from `baseUrl`, signed with `credential` ({ key_id, secret }, as the
 * seed writes it). Options: method, body, headers (sent as given; their Content-Type and
 * Idempotency-Key are signed), and any of signatureHeaders' timestamp, nonce and digest. The Host
 * signed is the URL's, as fetch sends it. A string body without a Content-Type is sent, and
 * signed, as `text/plain;charset=UTF-8`, which fetch would otherwise add unsigned.
 */
export function signedFetch(baseUrl, credential, pathAndQuery, { method = 'GET', body, headers = {}, timestamp, nonce, digest } = {}) {
  const url = new URL(pathAndQuery, baseUrl);
  const sent = { ...headers };
  if (typeof body === 'string' && header(sent, 'content-type') === undefined) sent['content-type'] = 'text/plain;charset=UTF-8';
  const signed = signatureHeaders({
    keyId: credential.key_id, secret: credential.secret, method, host: url.host, pathAndQuery,
    contentType: header(sent, 'content-type') ?? '', idempotencyKey: header(sent, 'idempotency-key') ?? '', body: body ?? '',
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(nonce === undefined ? {} : { nonce }),
    ...(digest === undefined ? {} : { digest }),
  });
  return fetch(url, { method, body, headers: { ...signed, ...sent } });
}
