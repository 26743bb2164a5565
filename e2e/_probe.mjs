import { launchBrowser } from './browser.mjs';
import { startStack } from './harness.mjs';
import { chooseLargePrint, enrolled } from './pages.mjs';
const stack = await startStack();
const browser = await launchBrowser();
try {
  const sam = await enrolled(browser, stack, 'Sam Okafor', { width: 390, height: 844 });
  await chooseLargePrint(sam.page, stack.portalUrl, 28, 'person-sam');
  await sam.page.goto(`${stack.portalUrl}/home`);
  await sam.page.screenshot({ path: '/tmp/sam-home-28.png', fullPage: true });
  await sam.page.goto(`${stack.portalUrl}/people/person-margaret/medicines`);
  await sam.page.screenshot({ path: '/tmp/sam-meds-28.png' });
  const m = await enrolled(browser, stack, 'Margaret Okafor', { width: 390, height: 844 });
  await m.page.goto(`${stack.portalUrl}/home`);
  await m.page.screenshot({ path: '/tmp/m-home.png', fullPage: true });
  await chooseLargePrint(m.page, stack.portalUrl, 28);
  await m.page.goto(`${stack.portalUrl}/home`);
  await m.page.screenshot({ path: '/tmp/m-home-28.png', fullPage: true });
  await m.page.goto(`${stack.portalUrl}/people/person-margaret/medicines`);
  await m.page.screenshot({ path: '/tmp/m-meds-28.png' });
} finally { await browser.close(); await stack.stop(); }
