import type { Browser, Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineImageCapBytes, inlineImages } from '../src/viewer/message/inline-images.js';
import { sanitizeEmailHtml } from '../src/viewer/message/sanitize-email.js';
import { messagePath } from '../src/viewer/viewer-context.js';
import { launchChromium, recordRequests, screenshotPath } from './chromium.js';
import { sentAt, startMessageViewer, startTracker, type MessageViewer, type Tracker } from './viewer-message-fixture.js';

// A 2×1 GIF (naturalWidth 2 once drawn) and a 1×1 one.
const gif2x1 = 'R0lGODlhAgABAIAAAP8AAP///yH5BAEAAAAALAAAAAACAAEAAAICRAEAOw==';
const gif1x1 = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

/** An email sent as fields whose HTML shows its own attachments by cid: (nodemailer's `cid`, a vendor's `content_id` in brackets), plus a missing, an oversized and a non-image one. */
function cidEmail(tracker: string): Record<string, unknown> {
  return {
    version: 1,
    channel: 'email',
    message_id: 'm-cid',
    project_id: 'shop',
    sent_at: sentAt,
    to: 'ana@example.com',
    from_address: 'shop@example.com',
    subject: 'Your logo inline',
    html_body: `<h1>Inline images</h1>
<p><img alt="logo" src="cid:logo@shop.example"></p>
<p><img alt="banner" src="CID:Banner%40shop.example"></p>
<p><img alt="missing" src="cid:nowhere@shop.example"></p>
<p><img alt="big" src="cid:big@shop.example"></p>
<p><img alt="pdf" src="cid:receipt@shop.example"></p>
<p><img alt="remote" src="${tracker}/remote.png"></p>`,
    attachments: [
      { file_name: 'logo.gif', content_type: 'image/gif', bytes: gif2x1, cid: 'logo@shop.example' },
      { filename: 'banner.gif', contentType: 'image/gif', content: gif1x1, encoding: 'base64', content_id: '<banner@shop.example>' },
      { file_name: 'big.png', content_type: 'image/png', bytes: Buffer.alloc(inlineImageCapBytes + 1, 7).toString('base64'), cid: 'big@shop.example' },
      { file_name: 'receipt.pdf', content_type: 'application/pdf', bytes: Buffer.from('%PDF-1.4\n').toString('base64'), cid: 'receipt@shop.example' },
    ],
  };
}

const ampSource = '<!doctype html><html \u26a14email><head><meta charset="utf-8"><script async src="https://cdn.ampproject.org/v0.js"></script></head><body>Live order status</body></html>';

/** An email stored as raw MIME (as nodemailer builds it) with an AMP alternative, a text/x-amp-html part. */
async function ampRawEmail(): Promise<Record<string, unknown>> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  const raw = await new MailComposer({ from: 'shop@example.com', to: 'ana@example.com', subject: 'AMP order', text: 'Plain', html: '<p>HTML</p>', amp: ampSource, date: new Date(sentAt) }).compile().build();
  return { version: 1, channel: 'email', message_id: 'm-amp-raw', project_id: 'shop', sent_at: sentAt, to: 'ana@example.com', raw_mime: raw.toString('base64') };
}

let tracker: Tracker;
let viewer: MessageViewer;
let browser: Browser;
beforeAll(async () => {
  tracker = await startTracker();
  viewer = await startMessageViewer([cidEmail(tracker.origin), await ampRawEmail()]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
  await tracker?.stop();
});

const image = (frame: Frame, alt: string) =>
  frame.evaluate((name) => {
    const element = document.querySelector(`img[alt="${name}"]`) as HTMLImageElement | null;
    return element === null ? undefined : { src: element.getAttribute('src'), complete: element.complete, naturalWidth: element.naturalWidth };
  }, alt);

describe('cid: images in an email sent as fields', { timeout: 120_000 }, () => {
  it('shows each referenced image attachment inline in Chromium, with zero requests leaving the page', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    const requests = recordRequests(page);
    try {
      const answer = await page.goto(`${viewer.url}${messagePath('archive', viewer.keys.get('m-cid')!)}`, { waitUntil: 'load' });
      expect(answer?.status()).toBe(200);
      const frame = page.frames().find((candidate) => candidate.url() === 'about:srcdoc');
      expect(frame, 'the email frame').toBeDefined();
      await expect.poll(() => frame!.locator('h1').first().textContent()).toBe('Inline images');

      // Drawn from the stored bytes: the browser decoded them (natural width of the GIFs: 2 and 1).
      await expect.poll(async () => (await image(frame!, 'logo'))?.naturalWidth).toBe(2);
      await expect.poll(async () => (await image(frame!, 'banner'))?.naturalWidth).toBe(1);
      expect((await image(frame!, 'logo'))?.src).toBe(`data:image/gif;base64,${gif2x1}`);

      // No matching attachment, or not an image: blank, without a source.
      expect(await image(frame!, 'missing')).toEqual({ src: null, complete: true, naturalWidth: 0 });
      expect(await image(frame!, 'pdf')).toEqual({ src: null, complete: true, naturalWidth: 0 });
      // Over the cap: a visible note in its place.
      expect(await image(frame!, 'big')).toBeUndefined();
      expect(await frame!.locator('body').textContent()).toContain('over the viewer limit of 2.0 MB for inline images; it is in the Attachments tab');
      expect(await frame!.locator('span', { hasText: 'Inline image not shown' }).isVisible()).toBe(true);
      await page.screenshot({ path: screenshotPath('viewer-message-cid'), fullPage: false });

      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)))');
      expect(requests.filter((url) => !url.startsWith(`${viewer.url}/`) && !url.startsWith('data:') && url !== 'about:srcdoc')).toEqual([]);
      expect(tracker.hits).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('maps cid: sources only to image attachments present, leaves the rest blank without error', () => {
    const found = inlineImages(
      [
        { fileName: 'a.gif', contentType: 'image/gif; name=a.gif', bytes: new Uint8Array(Buffer.from(gif1x1, 'base64')), contentId: '<A@x>' },
        { fileName: 'b.pdf', contentType: 'application/pdf', bytes: new Uint8Array(3), contentId: 'b@x' },
        { fileName: 'c.png', contentType: 'image/png', bytes: new Uint8Array(51), contentId: 'c@x' },
        { fileName: 'd.png', contentType: 'image/png', bytes: new Uint8Array(4) },
      ],
      50,
    );
    expect([...found.keys()]).toEqual(['a@x', 'c@x']);
    const { html } = sanitizeEmailHtml('<img alt="a" src="cid:a@x"><img alt="b" src="cid:b@x"><img alt="c" src="cid:c@x"><img alt="z" src="cid:">', { inlineImages: found });
    const note = '[Inline image not shown: 1 KB, over the viewer limit of 1 KB for inline images; it is in the Attachments tab]';
    expect(html).toBe(
      `<img alt="a" src="data:image/gif;base64,${gif1x1}" /><img alt="b" /><span style="display:inline-block;border:1px dashed #888;padding:4px;color:#555;font:12px sans-serif" title="${note}">${note}</span><img alt="z" />`,
    );
    // Without the map (any caller that has none), a cid: source is dropped as before.
    expect(sanitizeEmailHtml('<img alt="a" src="cid:a@x">').html).toBe('<img alt="a" />');
  });

  it("shows raw MIME's AMP part (text/x-amp-html) in the AMP tab as text, never run", async () => {
    const answer = await fetch(`${viewer.url}${messagePath('archive', viewer.keys.get('m-amp-raw')!)}?tab=amp`);
    expect(answer.status).toBe(200);
    const html = await answer.text();
    expect(html).not.toContain('This email has no AMP part.');
    expect(html).toContain('Live order status');
    // As escaped text: the AMP script tag is not markup on the page.
    expect(html).toContain('&lt;script async src=&quot;https://cdn.ampproject.org/v0.js&quot;&gt;&lt;/script&gt;');
    expect(html).not.toContain('<script async src="https://cdn.ampproject.org');
  });
});
