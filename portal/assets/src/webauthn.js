/*
 * carefront passkeys: the only JavaScript of the portal.
 *
 * Served as an external file (the Content-Security-Policy forbids inline
 * script). No modules, no bundler, no dependencies: ES2017.
 *
 * Markup contract (rendered by the Rust server):
 *
 *   <button type="button" hidden class="govuk-button"
 *           data-webauthn="register"            (or "authenticate")
 *           data-options-url="/passkeys/create/options"
 *           data-finish-url="/passkeys/create/finish"
 *           data-csrf-token="TOKEN">Create a passkey</button>
 *
 *   <div id="webauthn-unsupported" hidden>...</div>      (optional)
 *
 *   <div id="webauthn-error" class="govuk-error-summary" role="alert"
 *        tabindex="-1" hidden>
 *     <h2 class="govuk-error-summary__title">There is a problem</h2>
 *     <div class="govuk-error-summary__body">
 *       <p id="webauthn-error-message"></p>
 *     </div>
 *   </div>
 *
 * Flow on click: POST {} to data-options-url -> {"publicKey": {...}} in the
 * WebAuthn JSON shape of webauthn-rs 0.6 (binary fields base64url, no
 * padding; "mediation" is ignored: the ceremony is always modal) ->
 * navigator.credentials.create()/get() -> POST the credential as JSON
 * (base64url, no padding) to data-finish-url -> {"redirect": "/path"}.
 * Errors from the server are application/problem+json; its "detail" is shown.
 */
(function () {
  'use strict';

  // ---------------------------------------------------------------------
  // base64url <-> ArrayBuffer
  // ---------------------------------------------------------------------

  // Tag check rather than instanceof, so buffers from another realm count too.
  function isArrayBuffer(value) {
    return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
  }

  function toBytes(data) {
    if (isArrayBuffer(data)) {
      return new Uint8Array(data);
    }
    if (ArrayBuffer.isView(data)) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    throw new TypeError('Expected an ArrayBuffer or a typed array');
  }

  /** ArrayBuffer (or typed array) -> base64url string without padding. */
  function bufferToBase64url(data) {
    var bytes = toBytes(data);
    var binary = '';
    var chunk = 0x8000;
    for (var i = 0; i < bytes.length; i += chunk) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  /** base64url (padded or not; plain base64 is accepted too) -> ArrayBuffer. */
  function base64urlToBuffer(text) {
    if (typeof text !== 'string') {
      throw new TypeError('Expected a base64url string');
    }
    var base64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    if (base64.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(base64)) {
      throw new TypeError('Invalid base64url string');
    }
    while (base64.length % 4 !== 0) {
      base64 += '=';
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  // ---------------------------------------------------------------------
  // Options from the server -> options for navigator.credentials
  // ---------------------------------------------------------------------

  // Drop null members: WebIDL would turn some of them into 0 or "null".
  function withoutNulls(value) {
    if (Array.isArray(value)) {
      return value.map(withoutNulls);
    }
    if (value !== null && typeof value === 'object') {
      var out = {};
      Object.keys(value).forEach(function (key) {
        if (value[key] !== null && value[key] !== undefined) {
          out[key] = withoutNulls(value[key]);
        }
      });
      return out;
    }
    return value;
  }

  function decodeDescriptors(list) {
    if (!Array.isArray(list)) {
      return list;
    }
    return list.map(function (descriptor) {
      var copy = Object.assign({}, descriptor);
      copy.id = base64urlToBuffer(descriptor.id);
      return copy;
    });
  }

  function publicKeyFrom(json) {
    if (!json || typeof json !== 'object' || !json.publicKey || typeof json.publicKey !== 'object') {
      throw new TypeError('The server sent no publicKey options');
    }
    return withoutNulls(json.publicKey);
  }

  /** {"publicKey": {...}} -> PublicKeyCredentialCreationOptions */
  function creationOptionsFromJSON(json) {
    var publicKey = publicKeyFrom(json);
    publicKey.challenge = base64urlToBuffer(publicKey.challenge);
    publicKey.user = Object.assign({}, publicKey.user);
    publicKey.user.id = base64urlToBuffer(publicKey.user.id);
    if (publicKey.excludeCredentials) {
      publicKey.excludeCredentials = decodeDescriptors(publicKey.excludeCredentials);
    }
    return publicKey;
  }

  /** {"publicKey": {...}, "mediation": ...} -> PublicKeyCredentialRequestOptions */
  function requestOptionsFromJSON(json) {
    var publicKey = publicKeyFrom(json);
    publicKey.challenge = base64urlToBuffer(publicKey.challenge);
    if (publicKey.allowCredentials) {
      publicKey.allowCredentials = decodeDescriptors(publicKey.allowCredentials);
    }
    return publicKey;
  }

  // ---------------------------------------------------------------------
  // Credential -> JSON for the server
  // ---------------------------------------------------------------------

  // Client extension results may hold binary values (prf, largeBlob).
  function encodeBinaryDeep(value) {
    if (isArrayBuffer(value) || ArrayBuffer.isView(value)) {
      return bufferToBase64url(value);
    }
    if (Array.isArray(value)) {
      return value.map(encodeBinaryDeep);
    }
    if (value !== null && typeof value === 'object') {
      var out = {};
      Object.keys(value).forEach(function (key) {
        out[key] = encodeBinaryDeep(value[key]);
      });
      return out;
    }
    return value;
  }

  function extensionResults(credential) {
    var results = typeof credential.getClientExtensionResults === 'function'
      ? credential.getClientExtensionResults()
      : {};
    return encodeBinaryDeep(results || {});
  }

  function registrationToJSON(credential) {
    var response = credential.response;
    var transports;
    if (typeof response.getTransports === 'function') {
      try {
        transports = response.getTransports();
      } catch (e) {
        transports = undefined;
      }
    }
    return {
      id: credential.id,
      rawId: bufferToBase64url(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: bufferToBase64url(response.attestationObject),
        clientDataJSON: bufferToBase64url(response.clientDataJSON),
        transports: transports
      },
      extensions: extensionResults(credential)
    };
  }

  function assertionToJSON(credential) {
    var response = credential.response;
    var userHandle = response.userHandle;
    return {
      id: credential.id,
      rawId: bufferToBase64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: bufferToBase64url(response.authenticatorData),
        clientDataJSON: bufferToBase64url(response.clientDataJSON),
        signature: bufferToBase64url(response.signature),
        userHandle: userHandle && userHandle.byteLength > 0 ? bufferToBase64url(userHandle) : null
      },
      extensions: extensionResults(credential)
    };
  }

  // ---------------------------------------------------------------------
  // Talking to the server
  // ---------------------------------------------------------------------

  /**
   * Only a same-origin path is followed: "/home" yes; "//evil.example",
   * "/\evil.example", "https://..." and "javascript:..." no.
   * Returns the URL to go to, or null.
   */
  function safeRedirect(target, origin) {
    if (typeof target !== 'string' || target.charAt(0) !== '/') {
      return null;
    }
    var second = target.charAt(1);
    if (second === '/' || second === '\\') {
      return null;
    }
    // Tabs and newlines are removed by URL parsing and could turn "/\t/x"
    // into "//x"; control characters have no place in a path anyway.
    if (/[\u0000-\u001f\u007f]/.test(target)) {
      return null;
    }
    try {
      var url = new URL(target, origin);
      return url.origin === origin ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** Thrown when the server answered with an error; message is for people. */
  function ServerError(detail, status) {
    this.name = 'ServerError';
    this.detail = detail;
    this.status = status;
  }

  function postJSON(url, token, body) {
    return fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-CSRF-Token': token
      },
      body: body,
      credentials: 'same-origin'
    }).then(function (response) {
      return response.text().then(function (text) {
        var json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch (e) {
          json = null;
        }
        if (!response.ok) {
          var detail = null;
          if (json && typeof json.detail === 'string' && json.detail.trim()) {
            detail = json.detail;
          } else if (json && typeof json.title === 'string' && json.title.trim()) {
            detail = json.title;
          }
          throw new ServerError(detail, response.status);
        }
        if (json === null || typeof json !== 'object') {
          throw new ServerError(null, response.status);
        }
        return json;
      });
    });
  }

  // ---------------------------------------------------------------------
  // Messages
  // ---------------------------------------------------------------------

  var MESSAGES = {
    register: {
      fallback: 'Your passkey was not created. Try again.',
      NotAllowedError: 'Creating your passkey was cancelled or timed out. Try again.',
      InvalidStateError: 'This phone or computer already has a passkey for your account. You can use it to sign in.'
    },
    authenticate: {
      fallback: 'You were not signed in. Try again.',
      NotAllowedError: 'Sign in was cancelled or timed out. Try again.'
    },
    network: 'We could not connect to the service. Check you are online and try again.'
  };

  function messageFor(action, error) {
    var messages = MESSAGES[action] || MESSAGES.register;
    if (error instanceof ServerError) {
      return error.detail || messages.fallback;
    }
    if (error && error.name === 'TypeError' && /fetch|network|load/i.test(String(error.message))) {
      return MESSAGES.network;
    }
    if (error && typeof error.name === 'string' && Object.prototype.hasOwnProperty.call(messages, error.name)) {
      return messages[error.name];
    }
    return messages.fallback;
  }

  function showError(message) {
    var region = document.getElementById('webauthn-error');
    var text = document.getElementById('webauthn-error-message');
    if (!region) {
      window.alert(message);
      return;
    }
    if (text) {
      text.textContent = message;
    } else {
      region.textContent = message;
    }
    region.hidden = false;
    region.focus();
    if (typeof region.scrollIntoView === 'function') {
      region.scrollIntoView();
    }
  }

  function hideError() {
    var region = document.getElementById('webauthn-error');
    if (region) {
      region.hidden = true;
    }
  }

  // ---------------------------------------------------------------------
  // Ceremonies
  // ---------------------------------------------------------------------

  function runCeremony(button) {
    var action = button.getAttribute('data-webauthn');
    var optionsUrl = button.getAttribute('data-options-url');
    var finishUrl = button.getAttribute('data-finish-url');
    var token = button.getAttribute('data-csrf-token') || '';

    if (button.disabled) {
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-disabled', 'true');
    hideError();

    postJSON(optionsUrl, token, '{}')
      .then(function (json) {
        if (action === 'register') {
          return navigator.credentials
            .create({ publicKey: creationOptionsFromJSON(json) })
            .then(registrationToJSON);
        }
        return navigator.credentials
          .get({ publicKey: requestOptionsFromJSON(json) })
          .then(assertionToJSON);
      })
      .then(function (credentialJSON) {
        return postJSON(finishUrl, token, JSON.stringify(credentialJSON));
      })
      .then(function (result) {
        var target = safeRedirect(result && result.redirect, window.location.origin);
        if (!target) {
          throw new ServerError(null, 0);
        }
        window.location.assign(target);
      })
      .catch(function (error) {
        button.disabled = false;
        button.removeAttribute('aria-disabled');
        showError(messageFor(action, error));
      });
  }

  function supported() {
    return typeof window.PublicKeyCredential !== 'undefined' &&
      typeof navigator.credentials !== 'undefined' &&
      typeof navigator.credentials.create === 'function' &&
      typeof navigator.credentials.get === 'function' &&
      typeof window.fetch === 'function';
  }

  function init() {
    var buttons = document.querySelectorAll(
      'button[data-webauthn="register"], button[data-webauthn="authenticate"]'
    );
    if (!supported()) {
      var unsupported = document.getElementById('webauthn-unsupported');
      if (unsupported) {
        unsupported.hidden = false;
      }
      return;
    }
    Array.prototype.forEach.call(buttons, function (button) {
      if (!button.getAttribute('data-options-url') || !button.getAttribute('data-finish-url')) {
        return;
      }
      button.addEventListener('click', function (event) {
        event.preventDefault();
        runCeremony(button);
      });
      button.hidden = false;
    });
  }

  // Unit tests (e2e/unit) load this file in a bare VM context and read the
  // pure helpers from here; browsers never set the flag.
  if (typeof globalThis !== 'undefined' && globalThis.__CAREFRONT_TEST__) {
    globalThis.__carefrontWebauthnCodec = {
      bufferToBase64url: bufferToBase64url,
      base64urlToBuffer: base64urlToBuffer,
      creationOptionsFromJSON: creationOptionsFromJSON,
      requestOptionsFromJSON: requestOptionsFromJSON,
      registrationToJSON: registrationToJSON,
      assertionToJSON: assertionToJSON,
      safeRedirect: safeRedirect,
      messageFor: messageFor,
      ServerError: ServerError
    };
  }

  if (typeof document === 'undefined') {
    return;
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
