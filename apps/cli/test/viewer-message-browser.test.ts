import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messagePath } from '../src/viewer/viewer-context.js';
import { launchChromium, recordRequests, screenshotPath } from './chromium.js';
import { hostileEmail, otherChannelMessages, startMessageViewer, startTracker, type MessageViewer, type Tracker } from './viewer-message-fixture.js';

let tracker: Tracker;
let viewer: MessageViewer;
let browser: Browser;
beforeAll(async () => {
  tracker = await startTracker();
  viewer = await startMessageViewer([hostileEmail(tracker.origin), ...otherChannelMessages(tracker.origin)]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
  await tracker?.stop();
});

/** Polls `check` until it holds (bounded), for conditions the browser reaches on its own time. */
async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openPage(): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const requests = recordRequests(page);
  return { page, requests };
}

const pathOf = (id: string) => messagePath('archive', viewer.keys.get(id)!);
const viewerOnly = (requests: readonly string[]) => requests.filter((url) => !url.startsWith(`${viewer.url}/`));

describe('the message page in Chromium', { timeout: 120_000 }, () => {
  it('renders a hostile email with zero requests leaving the page, no script running, and links that open nothing', async () => {
    const { page, requests } = await openPage();
    try {
      const subject = hostileEmail(tracker.origin)['subject'] as string;
      await page.goto(`${viewer.url}${pathOf('m-hostile')}`, { waitUntil: 'load' });
      const frame = page.frames().find((candidate) => candidate.url() === 'about:srcdoc');
      expect(frame, 'the email frame').toBeDefined();
      // The email rendered (with its own inline style) inside the frame.
      await expect.poll(() => frame!.locator('h1').first().textContent()).toBe('Your order has shipped');
      expect(await frame!.evaluate("getComputedStyle(document.querySelector('h1')).color")).toBe('rgb(0, 170, 85)');
      expect(await page.title()).toBe(`${subject} · sentcopy`);
      await page.screenshot({ path: screenshotPath('viewer-message-email'), fullPage: false });

      // Clicking each link (a plain one and a javascript: one) and the form's button.
      await frame!.getByText('Track your order').click();
      await frame!.getByText('Unsubscribe').click();
      await frame!.getByText('Send').click();
      expect(frame!.url()).toBe('about:srcdoc');
      expect(page.url()).toBe(`${viewer.url}${pathOf('m-hostile')}`);
      // Anything the clicks started would be under way by the time the page has answered a round trip and loaded another page.
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)))');
      await page.goto(`${viewer.url}${pathOf('m-sms')}`, { waitUntil: 'load' });
      expect(tracker.hits).toEqual([]);
      expect(viewerOnly(requests)).toEqual([]);
      expect(await page.title()).not.toContain('pwned');
    } finally {
      await page.close();
    }
  });

  it('loads remote images only after the warning, reached by keyboard: exactly the <img> sources, and logged as view-images', async () => {
    const { page, requests } = await openPage();
    try {
      await page.goto(`${viewer.url}${pathOf('m-hostile')}`, { waitUntil: 'load' });
      const focused = () => page.evaluate('document.activeElement?.textContent ?? null');
      for (let presses = 0; presses < 40 && (await focused()) !== 'Load remote images…'; presses += 1) await page.keyboard.press('Tab');
      expect(await focused()).toBe('Load remote images…');
      await Promise.all([page.waitForURL(/images=ask/), page.keyboard.press('Enter')]);
      await expect.poll(() => page.getByRole('heading', { name: 'Load remote images?' }).isVisible()).toBe(true);
      await page.screenshot({ path: screenshotPath('viewer-message-image-warning'), fullPage: false });
      expect(tracker.hits).toEqual([]);
      const before = viewer.events.length;

      const load = page.getByRole('link', { name: /^Load 2 remote image/ });
      await load.focus();
      await Promise.all([page.waitForURL(/images=load/), page.keyboard.press('Enter')]);
      await waitUntil(() => tracker.hits.includes('/pixel.gif') && tracker.hits.includes('/logo.png'), 'both images were fetched');
      await page.waitForLoadState('load');
      await page.goto('about:blank');
      expect([...tracker.hits].sort()).toEqual(['/logo.png', '/pixel.gif']);
      expect(viewerOnly(requests).sort()).toEqual([`${tracker.origin}/logo.png`, `${tracker.origin}/pixel.gif`]);
      expect(viewer.events.slice(before)).toEqual([expect.objectContaining({ who: 'agent-7', action: 'view-images', what: expect.objectContaining({ key: viewer.keys.get('m-hostile'), images: 2 }) })]);
    } finally {
      await page.close();
      tracker.hits.length = 0;
    }
  });

  it('shows an SMS, a WhatsApp template and a push as text, loading nothing of theirs', async () => {
    const { page, requests } = await openPage();
    try {
      const shown: Record<string, string> = {};
      for (const [id, name] of [
        ['m-sms', 'viewer-message-sms'],
        ['m-whatsapp', 'viewer-message-whatsapp'],
        ['m-push', 'viewer-message-push'],
      ] as const) {
        await page.goto(`${viewer.url}${pathOf(id)}`, { waitUntil: 'load' });
        shown[id] = await page.locator('main').innerText();
        await page.screenshot({ path: screenshotPath(name), fullPage: false });
      }
      expect(shown['m-sms']).toContain(`Your code is 123456 <script>document.title='pwned'</script>`);
      expect(shown['m-sms']).toContain('from ExampleShop · via twilio · 2026-03-02T10:00:00.000Z');
      expect(shown['m-whatsapp']).toContain('order_update');
      expect(shown['m-whatsapp']).toContain(`<b>SC-42</b> <script>document.title='pwned'</script>`);
      expect(shown['m-push']).toContain(`Flash sale <script>document.title='pwned'</script>`);
      expect(shown['m-push']).toContain('Everything 20% off today');
      expect(shown['m-push']).toContain('aps.alert.title');
      expect(await page.title()).not.toBe('pwned');
      expect(tracker.hits).toEqual([]);
      expect(viewerOnly(requests)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
