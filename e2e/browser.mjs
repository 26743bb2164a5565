// e2e/browser.mjs — headless Chromium (the system's /usr/bin/chromium, driven by playwright-core)
// with a virtual WebAuthn authenticator per browser context, and the passkey flows of the portal.
// Used by e2e/browser.test.mjs and bench/latency.mjs.

import { chromium } from 'playwright-core';

export const SESSION_COOKIE = '__Host-carefront_session';

/** Launch headless Chromium. CHROMIUM overrides the executable. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A new context (one person's phone) with a page and a virtual platform authenticator
 * (resident keys, user verification) that answers WebAuthn prompts by itself.
 */
export async function newPerson(browser, { width = 320, height = 720 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  context.setDefaultTimeout(10_000); // pages answer in milliseconds; fail fast when they do not
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  return { context, page, cdp, authenticatorId, credentials };
}

/** Wait until the page is on `path` (ignoring the query). */
export function waitForPath(page, path, timeout = 15_000) {
  return page.waitForURL((url) => url.pathname === path, { timeout });
}

/** Click `target` and return the response to the POST it makes to `path`; fail clearly on an error. */
async function clickAndPost(page, target, path) {
  const posted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path);
  await target.click();
  const response = await posted;
  if (response.status() >= 400) {
    const body = await response.text().catch(() => '');
    const summary = body.match(/<title>([^<]*)<\/title>/i)?.[1] ?? body.replace(/\s+/g, ' ').slice(0, 300);
    throw new Error(`POST ${path} answered ${response.status()}: ${summary}`);
  }
  return response;
}

/** Open an invitation link and Continue to the "Create a passkey" page. */
export async function openInvitation(page, invitation) {
  await page.goto(invitation.url);
  await clickAndPost(page, page.getByRole('button', { name: /continue/i }), '/invitation');
  await page.waitForSelector('[data-webauthn="register"]');
}

/** On the "Create a passkey" page: create the passkey and land on /home. */
export async function createPasskey(page) {
  await clickAndPost(page, page.locator('[data-webauthn="register"]'), '/passkeys/create/finish');
  await waitForPath(page, '/home');
}

/** Sign in with the passkey from /sign-in and land on /home; returns the finish request's timing. */
export async function signIn(page, baseUrl) {
  await page.goto(`${baseUrl}/sign-in`);
  const response = await clickAndPost(page, page.locator('[data-webauthn="authenticate"]'), '/sign-in/finish');
  await waitForPath(page, '/home');
  return response;
}

/** The session cookie of a context, or undefined. */
export async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
}
