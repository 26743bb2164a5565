// e2e/sign.mjs — sign requests to the carefront API with a system credential, as the README and
// the OpenAPI document describe: HMAC-SHA256, keyed with the 32 bytes the secret encodes, over
// five lines (method, path and query as sent, Carefront-Timestamp, Carefront-Nonce,
// Content-Digest). A reference for providers' and the council's systems in JavaScript.
//
//   const headers = signatureHeaders({ keyId, secret, method: 'GET', pathAndQuery: '/api/v1/people' });
//   const response = await signedFetch(apiUrl, { key_id, secret }, '/api/v1/people?limit=20');

import { createHash, createHmac, randomBytes } from 'node:crypto';

export const SCHEME = 'Carefront-HMAC-SHA256';

/** The RFC 9530 Content-Digest of `body` (a string or bytes): `sha-256=:<base64>:`. */
export function contentDigest(body = '') {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/** The string a request's signature covers. */
export function canonicalRequest({ method, pathAndQuery, timestamp, nonce, digest }) {
  return [method.toUpperCase(), pathAndQuery, String(timestamp), nonce, digest].join('\n');
}

/** A new nonce: 16 random bytes, base64url (22 characters). */
export function newNonce() {
  return randomBytes(16).toString('base64url');
}

/**
 * The four headers of a signed request. `timestamp` is whole seconds since the epoch (default
 * now); `nonce` defaults to a fresh one; `digest` may be given to sign a digest other than the
 * body's (tests of the server's digest check).
 */
export function signatureHeaders({
  keyId, secret, method = 'GET', pathAndQuery, body = '',
  timestamp = Math.floor(Date.now() / 1000), nonce = newNonce(), digest = contentDigest(body),
}) {
  const canonical = canonicalRequest({ method, pathAndQuery, timestamp, nonce, digest });
  const signature = createHmac('sha256', Buffer.from(secret, 'base64url')).update(canonical).digest('base64url');
  return {
    authorization: `${SCHEME} Credential=${keyId}, Signature=${signature}`,
    'carefront-timestamp': String(timestamp),
    'carefront-nonce': nonce,
    'content-digest': digest,
  };
}

/**
 * fetch `pathAndQuery` from `baseUrl`, signed with `credential` ({ key_id, secret }, as the
 * seed writes it). Options: method, body, headers (added after the signature's), and any of
 * signatureHeaders' timestamp, nonce and digest.
 */
export function signedFetch(baseUrl, credential, pathAndQuery, { method = 'GET', body, headers = {}, timestamp, nonce, digest } = {}) {
  const signed = signatureHeaders({
    keyId: credential.key_id, secret: credential.secret, method, pathAndQuery, body: body ?? '',
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(nonce === undefined ? {} : { nonce }),
    ...(digest === undefined ? {} : { digest }),
  });
  return fetch(new URL(pathAndQuery, baseUrl), { method, body, headers: { ...signed, ...headers } });
}
