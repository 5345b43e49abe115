// The demo's web pages in a real Chromium: sign-in, "your devices", the admin pages, CSRF and
// escaping as a browser meets them. Takes the README's screenshots: into .test-results/screenshots/
// on every run, and into docs/screenshots/ (the committed ones) with NILVA_UPDATE_SCREENSHOTS=1
// (`npm run screenshots`), so that a test run does not leave the tree changed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDatabase } from 'nilva-session/kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunningDemo, startDemo } from '../../examples/demo/demo-app.js';
import { DESKTOP_CHROME, launchChromium } from '../helpers/browser.js';
import { Client } from '../helpers/http-client.js';

const SCREENSHOTS = fileURLToPath(
  new URL(process.env.NILVA_UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../../.test-results/screenshots/', import.meta.url),
);
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const WINDOWS_FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';
const ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36';
const MAC_SAFARI = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const EVIL_UA = '<script>alert("pwned")</script><img src=x onerror=alert(2)>';

describe('the demo pages in Chromium', () => {
  let demo: RunningDemo;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'nilva-browser-'));

  /** The API as a client on another device sees it. */
  const api = (userAgent: string) => new Client(demo.url, userAgent);

  async function newPage(userAgent = DESKTOP_CHROME): Promise<Page> {
    const context = await browser.newContext({ userAgent, viewport: { width: 1360, height: 820 } });
    contexts.push(context);
    const page = await context.newPage();
    // No page of ours may run a script: any dialog is a failure.
    page.on('dialog', (dialog) => {
      throw new Error(`a dialog opened: ${dialog.message()}`);
    });
    return page;
  }

  async function signIn(page: Page, path: string, username: string): Promise<void> {
    await page.goto(`${demo.url}${path}`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username}-password`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === path);
  }

  beforeAll(async () => {
    demo = await startDemo({
      databaseUrl: `sqlite:${join(dir, 'demo.sqlite')}`,
      signingKey: 'browser-test-signing-key-of-32-bytes!!',
      host: '127.0.0.1',
      port: 0,
    });
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a user signs in, sees two devices, revokes the other, and the API refuses its token', async () => {
    const phone = await api(IPHONE).login('alice', 'alice-password');
    const page = await newPage();
    await signIn(page, '/devices', 'alice');

    const cookies = await page.context().cookies();
    const cookie = cookies.find((c) => c.name === 'nilva_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
    // HttpOnly: the page's scripts (had it any) could not read it.
    expect(await page.evaluate('document.cookie')).toBe('');

    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const current = page.locator('tr', { hasText: 'This device' });
    await expect.poll(() => current.count()).toBe(1);
    expect(await current.textContent()).toContain('Chrome on Linux');
    const other = page.locator(`tr[data-session-id="${phone.session_id}"]`);
    expect(await other.textContent()).toContain('Mobile Safari on iOS');
    expect(await other.textContent()).toContain('Apple iPhone');
    // "just now", with the exact time on hover.
    expect(await other.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'devices.png'), fullPage: true });

    expect((await api(IPHONE).request('GET', '/api/me', { token: phone.token })).status).toBe(200);
    await other.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL((url) => url.searchParams.get('done') === 'revoked');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator(`tr[data-session-id="${phone.session_id}"]`).count()).toBe(0);
    expect(await page.getByRole('status').textContent()).toBe('The device was signed out.');
    const refused = await api(IPHONE).request('GET', '/api/me', { token: phone.token });
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ detail: 'User session is suspended.' });
  });

  test('an admin filters inactive sessions, searches by user, deactivates a session, and the API refuses its token', async () => {
    // Bob's devices: three active, one signed out; one with a hostile User-Agent.
    const bobFirefox = await api(WINDOWS_FIREFOX).login('bob', 'bob-password');
    await api(ANDROID).login('bob', 'bob-password');
    const bobMac = await api(MAC_SAFARI).login('bob', 'bob-password');
    expect((await api(MAC_SAFARI).request('POST', '/api/logout', { token: bobMac.token })).status).toBe(204);
    await api(EVIL_UA).login('bob', 'bob-password');
    await api(IPHONE).login('alice', 'alice-password');
    expect((await api(WINDOWS_FIREFOX).request('GET', '/api/me', { token: bobFirefox.token })).status).toBe(200); // cached

    const page = await newPage();
    await signIn(page, '/admin', 'admin');
    await page.screenshot({ path: join(SCREENSHOTS, 'admin.png'), fullPage: true });

    // Filter: inactive only.
    await page.getByLabel('Status').selectOption('inactive');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((url) => url.searchParams.get('status') === 'inactive');
    const statuses = await page.locator('tbody tr td:nth-child(8)').allTextContents();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['inactive']));
    expect(await page.locator(`tr[data-session-id="${bobMac.session_id}"]`).count()).toBe(1);

    // Search: bob's sessions (user id 2), any status.
    await page.getByLabel('Status').selectOption('all');
    await page.getByLabel('User id').fill('2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((url) => url.searchParams.get('user') === '2');
    const users = await page.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(users).toHaveLength(4);
    expect(new Set(users)).toEqual(new Set(['2']));

    // The hostile User-Agent is text, never markup.
    expect(await page.locator('script, img').count()).toBe(0);

    // Deactivate Bob's Firefox session.
    await page.locator(`tr[data-session-id="${bobFirefox.session_id}"] input[type=checkbox]`).check();
    await page.getByLabel('Action').selectOption('deactivate');
    await page.getByRole('button', { name: 'Go' }).click();
    await page.waitForURL((url) => url.searchParams.get('done') === 'deactivated');
    expect(await page.getByRole('status').textContent()).toBe('1 session deactivated.');
    expect(await page.locator(`tr[data-session-id="${bobFirefox.session_id}"] td:nth-child(8)`).textContent()).toBe('inactive');
    const refused = await api(WINDOWS_FIREFOX).request('GET', '/api/me', { token: bobFirefox.token });
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ detail: 'User session is suspended.' });

    await page.goto(`${demo.url}/admin/dashboard`);
    expect(await page.locator('[data-stat="active-now"]').textContent()).toMatch(/^\d+$/);
    expect(await page.locator('svg').count()).toBe(3);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
  });

  test('a stored <script> in a User-Agent renders as text on the detail page', async () => {
    const evil = await api(EVIL_UA).login('bob', 'bob-password');
    const page = await newPage();
    await signIn(page, '/admin', 'admin');
    await page.goto(`${demo.url}/admin/sessions/${evil.session_id}`);
    const shown = page.locator('dl.detail dd.wrap');
    expect(await shown.textContent()).toBe(EVIL_UA);
    expect(await page.locator('script, img').count()).toBe(0);
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
  });

  test('a user who is not staff gets 403 from the admin page', async () => {
    const page = await newPage();
    await signIn(page, '/devices', 'alice');
    const response = await page.goto(`${demo.url}/admin`);
    expect(response?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('Forbidden');
    expect(await page.locator('nav').textContent()).not.toContain('Sessions');
  });

  describe('a form on another site that posts to the pages', () => {
    let attacker: Server;
    let attackerPort: number;

    beforeAll(async () => {
      // The attacker's page: a form that signs the victim out of every other device.
      attacker = createServer((_req, res) => {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(`<!doctype html><form method="post" action="${demo.url}/devices/revoke-others"><button>Win a prize</button></form>`);
      });
      attacker.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => attacker.once('listening', () => resolve()));
      attackerPort = (attacker.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => attacker.close(() => resolve()));
    });

    test('from a sibling origin (same site, so the cookie is sent): refused with 403, nothing revoked', async () => {
      const phone = await api(IPHONE).login('alice', 'alice-password');
      const page = await newPage();
      await signIn(page, '/devices', 'alice');
      await page.goto(`http://127.0.0.1:${attackerPort}/`);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/devices/revoke-others')),
        page.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      expect(response.status()).toBe(403);
      expect(await page.locator('main').textContent()).toContain('sent from another site');
      expect((await api(IPHONE).request('GET', '/api/me', { token: phone.token })).status).toBe(200);
    });

    test('from another site (localhost vs 127.0.0.1): SameSite=Lax keeps the cookie home, nothing revoked', async () => {
      const phone = await api(IPHONE).login('alice', 'alice-password');
      const page = await newPage();
      await signIn(page, '/devices', 'alice');
      await page.goto(`http://localhost:${attackerPort}/`);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/devices/revoke-others')),
        page.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      // The POST arrived without the cookie, so as an anonymous request: sent to sign in.
      expect((await response.request().allHeaders()).cookie).toBeUndefined();
      expect(response.status()).toBe(303);
      expect(response.headers().location).toBe('/login?next=%2Fdevices');
      expect((await api(IPHONE).request('GET', '/api/me', { token: phone.token })).status).toBe(200);
      // Still signed in at home: the top-level GET to /login carried the cookie and went on to /devices.
      await page.waitForURL((url) => url.pathname === '/devices');
    });
  });
});

// The same pages on a phone: 390 CSS pixels wide, as an iPhone 14 or 15 shows them. A mobile
// browser that meets a page wider than the screen zooms out to fit it (the layout viewport
// grows), so "fits" means both that the viewport stayed 390 px wide and that nothing in the
// page reaches past its right edge.
describe('the pages on a 390 px wide phone', () => {
  const PHONE = { width: 390, height: 844 };
  const IPV6 = '2001:db8:85a3:1234:5678:8a2e:370:7334';
  const LONG_DETAIL = 'Signed in from a device the user does not recognise; the user was asked to confirm it by phone';
  let demo: RunningDemo;
  let browser: Browser;
  let phone: BrowserContext;
  const dir = mkdtempSync(join(tmpdir(), 'nilva-phone-'));
  const databaseUrl = `sqlite:${join(dir, 'demo.sqlite')}`;

  beforeAll(async () => {
    demo = await startDemo({ databaseUrl, signingKey: 'browser-phone-signing-key-of-32-bytes!', host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    phone = await browser.newContext({ userAgent: IPHONE, viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await phone?.close().catch(() => undefined);
    await browser?.close();
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Everything a user could see on the page that reaches past the right edge of the screen, and
   * the widths. Run in the page (as a string: these tests are compiled without the DOM types).
   */
  const MEASURE = `(() => {
    const outside = [];
    for (const element of document.body.querySelectorAll('*')) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.right > window.innerWidth + 0.5) {
        const classes = typeof element.className === 'string' && element.className !== '' ? '.' + element.className.replaceAll(' ', '.') : '';
        outside.push(element.tagName.toLowerCase() + classes + ' (right edge at ' + Math.round(box.right) + ' px): ' + (element.textContent ?? '').trim().slice(0, 40));
      }
    }
    return { innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, outside };
  })()`;

  async function expectFits(page: Page, screenshot: string): Promise<void> {
    const { innerWidth, scrollWidth, outside } = await page.evaluate<{ innerWidth: number; scrollWidth: number; outside: string[] }>(
      MEASURE,
    );
    expect(outside).toEqual([]);
    expect(innerWidth).toBe(PHONE.width);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await page.screenshot({ path: join(SCREENSHOTS, screenshot), fullPage: true });
  }

  async function signIn(page: Page, path: string, username: string): Promise<void> {
    await page.goto(`${demo.url}${path}`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username}-password`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === path);
  }

  test('"your devices", the admin list, a session and the dashboard fit the screen, long values wrapped', async () => {
    // Alice on three devices: this phone, a Windows PC whose address is a full IPv6 one, and a
    // client with a long, hostile User-Agent.
    const pc = await new Client(demo.url, WINDOWS_FIREFOX).login('alice', 'alice-password');
    const evil = await new Client(demo.url, EVIL_UA).login('alice', 'alice-password');
    await new Client(demo.url, ANDROID).login('bob', 'bob-password');
    const database = await connectDatabase(databaseUrl);
    try {
      await database.db.updateTable('user_session').set({ last_ip: IPV6 }).where('id', 'in', [pc.session_id, evil.session_id]).execute();
      await database.db.updateTable('user_session').set({ detail: LONG_DETAIL }).where('id', '=', evil.session_id).execute();
    } finally {
      await database.close();
    }

    const page = await phone.newPage();
    page.on('dialog', (dialog) => {
      throw new Error(`a dialog opened: ${dialog.message()}`);
    });
    await signIn(page, '/devices', 'alice');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    // The table became cards: each value beside its label, the address whole.
    const pcCard = page.locator(`tr[data-session-id="${pc.session_id}"]`);
    expect(await pcCard.locator('td[data-label="IP address"]').textContent()).toBe(IPV6);
    expect(await pcCard.getByRole('button', { name: 'Revoke' }).isVisible()).toBe(true);
    await expectFits(page, 'devices-phone.png');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await signIn(page, '/admin', 'admin');
    expect(await page.getByRole('button', { name: 'Apply' }).isVisible()).toBe(true);
    expect(await page.locator(`tr[data-session-id="${evil.session_id}"] input[type=checkbox]`).isVisible()).toBe(true);
    await expectFits(page, 'admin-phone.png');

    await page.goto(`${demo.url}/admin/sessions/${evil.session_id}`);
    expect(await page.locator('dl.detail dd.wrap').textContent()).toBe(EVIL_UA);
    expect(await page.locator('script, img').count()).toBe(0);
    await expectFits(page, 'session-phone.png');

    await page.goto(`${demo.url}/admin/dashboard`);
    expect(await page.locator('svg').count()).toBe(3);
    await expectFits(page, 'dashboard-phone.png');
  });
});
