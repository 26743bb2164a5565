// Unit tests for the pure helpers of portal/assets/src/webauthn.js.
// Run: node --test e2e/unit/
//
// The script is an IIFE for browsers; here it runs in a bare VM context (no
// document, so it does not wire up any buttons) with __CAREFRONT_TEST__ set,
// which makes it publish its helpers on globalThis.__carefrontWebauthnCodec.
// The minified build in portal/assets/dist is tested too when it exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sources = [`${root}portal/assets/src/webauthn.js`];
if (existsSync(`${root}portal/assets/dist/webauthn.js`)) {
  sources.push(`${root}portal/assets/dist/webauthn.js`);
}

function load(file) {
  const context = vm.createContext({ __CAREFRONT_TEST__: true, atob, btoa, URL });
  vm.runInContext(readFileSync(file, 'utf8'), context, { filename: file });
  const codec = context.__carefrontWebauthnCodec;
  assert.ok(codec, `${file} did not expose its helpers`);
  return codec;
}

const bytes = (buffer) => Array.from(new Uint8Array(buffer));

for (const file of sources) {
  const name = file.slice(root.length);
  const codec = load(file);

  test(`${name}: base64url round-trips every length and byte`, () => {
    for (let length = 0; length < 70; length++) {
      const input = new Uint8Array(length);
      for (let i = 0; i < length; i++) input[i] = (i * 37 + length * 11) & 0xff;
      const text = codec.bufferToBase64url(input.buffer);
      assert.match(text, /^[A-Za-z0-9_-]*$/, 'no padding, url-safe alphabet');
      assert.deepEqual(bytes(codec.base64urlToBuffer(text)), Array.from(input));
      assert.equal(text, Buffer.from(input).toString('base64url'), 'matches Node');
    }
  });

  test(`${name}: encodes typed-array views and large buffers`, () => {
    const backing = new Uint8Array([9, 0xfb, 0xff, 0xbf, 9]);
    assert.equal(codec.bufferToBase64url(backing.subarray(1, 4)), '-_-_');
    const big = new Uint8Array(200000).map((_, i) => i % 251);
    assert.equal(codec.bufferToBase64url(big), Buffer.from(big).toString('base64url'));
  });

  test(`${name}: decodes padded input and rejects garbage`, () => {
    assert.deepEqual(bytes(codec.base64urlToBuffer('AQ==')), [1]);
    assert.deepEqual(bytes(codec.base64urlToBuffer('AQ')), [1]);
    assert.deepEqual(bytes(codec.base64urlToBuffer('')), []);
    assert.throws(() => codec.base64urlToBuffer('A'));
    assert.throws(() => codec.base64urlToBuffer('a b'));
    assert.throws(() => codec.base64urlToBuffer(null));
  });

  test(`${name}: creation options from webauthn-rs JSON`, () => {
    const options = codec.creationOptionsFromJSON({
      publicKey: {
        rp: { id: 'localhost', name: 'carefront' },
        user: { id: 'AAEC', name: 'pat', displayName: 'Pat' },
        challenge: 'q83v',
        pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
        timeout: 300000,
        excludeCredentials: [{ type: 'public-key', id: '_w', transports: ['internal'] }],
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        attestation: 'none',
        extensions: { credProps: true },
      },
    });
    assert.deepEqual(bytes(options.challenge), [0xab, 0xcd, 0xef]);
    assert.deepEqual(bytes(options.user.id), [0, 1, 2]);
    assert.equal(options.user.displayName, 'Pat');
    assert.deepEqual(bytes(options.excludeCredentials[0].id), [0xff]);
    assert.deepEqual([...options.excludeCredentials[0].transports], ['internal']);
    assert.equal(options.timeout, 300000);
  });

  test(`${name}: request options ignore mediation and drop nulls`, () => {
    const options = codec.requestOptionsFromJSON({
      publicKey: {
        challenge: 'AAAA',
        rpId: 'localhost',
        allowCredentials: [{ type: 'public-key', id: 'AQID' }],
        userVerification: 'required',
        hints: null,
      },
      mediation: 'conditional',
    });
    assert.deepEqual(bytes(options.challenge), [0, 0, 0]);
    assert.deepEqual(bytes(options.allowCredentials[0].id), [1, 2, 3]);
    assert.equal('hints' in options, false);
    assert.equal('mediation' in options, false);
    assert.throws(() => codec.requestOptionsFromJSON({}));
  });

  test(`${name}: credentials serialise to base64url JSON`, () => {
    const buf = (...b) => new Uint8Array(b).buffer;
    const registration = codec.registrationToJSON({
      id: 'AQI',
      rawId: buf(1, 2),
      type: 'public-key',
      response: {
        attestationObject: buf(3),
        clientDataJSON: buf(4),
        getTransports: () => ['internal', 'hybrid'],
      },
      getClientExtensionResults: () => ({ credProps: { rk: true } }),
    });
    assert.deepEqual(JSON.parse(JSON.stringify(registration)), {
      id: 'AQI',
      rawId: 'AQI',
      type: 'public-key',
      response: { attestationObject: 'Aw', clientDataJSON: 'BA', transports: ['internal', 'hybrid'] },
      extensions: { credProps: { rk: true } },
    });

    const assertion = (userHandle) =>
      JSON.parse(JSON.stringify(codec.assertionToJSON({
        id: 'BQ',
        rawId: buf(5),
        type: 'public-key',
        response: { authenticatorData: buf(6), clientDataJSON: buf(7), signature: buf(8), userHandle },
        getClientExtensionResults: () => ({ prf: { results: { first: buf(0xff) } } }),
      })));
    assert.deepEqual(assertion(buf(9)), {
      id: 'BQ',
      rawId: 'BQ',
      type: 'public-key',
      response: { authenticatorData: 'Bg', clientDataJSON: 'Bw', signature: 'CA', userHandle: 'CQ' },
      extensions: { prf: { results: { first: '_w' } } },
    });
    assert.equal(assertion(null).response.userHandle, null);
    assert.equal(assertion(buf()).response.userHandle, null);
  });

  test(`${name}: only same-origin paths are followed`, () => {
    const origin = 'https://portal.example';
    assert.equal(codec.safeRedirect('/home', origin), 'https://portal.example/home');
    assert.equal(codec.safeRedirect('/passkeys?created=1#done', origin),
      'https://portal.example/passkeys?created=1#done');
    for (const bad of ['//evil.example/x', '/\\evil.example', '/\t/evil.example', 'https://evil.example/',
      'javascript:alert(1)', 'home', '', null, undefined, 42]) {
      assert.equal(codec.safeRedirect(bad, origin), null, `rejects ${JSON.stringify(bad)}`);
    }
  });

  test(`${name}: plain-language messages`, () => {
    const err = (name) => Object.assign(new Error('x'), { name });
    assert.equal(codec.messageFor('register', err('UnknownError')), 'Your passkey was not created. Try again.');
    assert.equal(codec.messageFor('authenticate', err('NotAllowedError')),
      'Sign in was cancelled or timed out. Try again.');
    assert.equal(codec.messageFor('authenticate', new codec.ServerError('Your session has expired.', 403)),
      'Your session has expired.');
    assert.equal(codec.messageFor('register', new codec.ServerError(null, 500)),
      'Your passkey was not created. Try again.');
    assert.match(codec.messageFor('register', new TypeError('Failed to fetch')), /Check you are online/);
  });
}
