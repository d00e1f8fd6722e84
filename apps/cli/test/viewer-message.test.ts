import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { createArchiver, decodeLedgerSegment, encodeLedgerSegment, ledgerPrefix, ledgerSegmentKey } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerLocator } from '../src/viewer/message/ledger-check.js';
import { messagePath } from '../src/viewer/viewer-context.js';
import { testRecipientKey } from './ingest-fixture.js';
import { composeRawMime, hostileEmail, hostileText, otherChannelMessages, sentAt, startMessageViewer, type MessageViewer } from './viewer-message-fixture.js';

const tracker = 'http://127.0.0.1:9';
const rawAddresses = ['ana.garcia@example.com', 'ben.okafor@example.com', 'dana.raw@example.com', '+15550100100', '+447946000000'];

let rawMime: Buffer;
let viewer: MessageViewer;
beforeAll(async () => {
  rawMime = await composeRawMime();
  const raw = { version: 1, channel: 'email', message_id: 'm-raw', project_id: 'shop', sent_at: sentAt, to: 'dana.raw@example.com', raw_mime: rawMime.toString('base64') };
  const rcs = { version: 1, channel: 'rcs', message_id: 'm-rcs', project_id: 'shop', sent_at: sentAt, to: '+15550100100', card: { title: hostileText, suggestions: ['Track'] } };
  viewer = await startMessageViewer([hostileEmail(tracker), raw, ...otherChannelMessages(tracker), rcs]);
});
afterAll(async () => {
  await viewer?.stop();
});

const pathOf = (id: string) => messagePath('archive', viewer.keys.get(id)!);
const get = (url: string) => fetch(`${viewer.url}${url}`);
const page = async (url: string) => {
  const response = await get(url);
  return { status: response.status, html: await response.text(), headers: response.headers };
};
const bytes = async (url: string) => {
  const response = await get(url);
  expect(response.status, url).toBe(200);
  return { body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
};
const storedFile = (key: string) => path.join(viewer.folder, 'archive', key);

describe('message page downloads', { timeout: 60_000 }, () => {
  it('/json is the stored JSON byte for byte (gunzipped from the file in the folder), as an attachment, and is logged as a download', async () => {
    const key = viewer.keys.get('m-hostile')!;
    const expected = gunzipSync(readFileSync(storedFile(key)));
    const before = viewer.events.length;
    const { body, headers } = await bytes(`${pathOf('m-hostile')}/json`);
    expect(body.equals(expected)).toBe(true);
    expect(headers.get('content-disposition')).toBe('attachment; filename="m-hostile.json"');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(viewer.events.slice(before)).toEqual([expect.objectContaining({ who: 'agent-7', action: 'download', what: expect.objectContaining({ destination: 'archive', key, part: 'json', bytes: expected.length }) })]);
  });

  it('/attachments/N are the decoded bytes, as application/octet-stream attachments under safe file names', async () => {
    const message = hostileEmail(tracker);
    const attachments = message['attachments'] as { bytes: string; file_name: string }[];
    for (const [index, attachment] of attachments.entries()) {
      const { body, headers } = await bytes(`${pathOf('m-hostile')}/attachments/${index}`);
      expect(body.equals(Buffer.from(attachment.bytes, 'base64'))).toBe(true);
      expect(headers.get('content-type')).toBe('application/octet-stream');
      const disposition = headers.get('content-disposition')!;
      expect(disposition.startsWith('attachment; filename="')).toBe(true);
      const asciiName = /filename="([^"]*)"/.exec(disposition)![1]!;
      expect(asciiName).toMatch(/^[A-Za-z0-9][A-Za-z0-9._ -]*$/);
      expect(disposition).not.toMatch(/[<>/\\]/);
    }
    expect((await get(`${pathOf('m-hostile')}/attachments/7`)).status).toBe(404);
    expect((await get(`${pathOf('m-hostile')}/attachments/-1`)).status).toBe(404);
  });

  it('/eml and /raw of an email carrying raw MIME are its exact bytes', async () => {
    expect((await bytes(`${pathOf('m-raw')}/eml`)).body.equals(rawMime)).toBe(true);
    expect((await bytes(`${pathOf('m-raw')}/raw`)).body.equals(rawMime)).toBe(true);
    // Its attachment comes out of the raw MIME, decoded.
    expect((await bytes(`${pathOf('m-raw')}/attachments/0`)).body.equals(Buffer.from('line 1\r\nline 2\r\n\u00e9'))).toBe(true);
  });

  it('/eml built from the fields parses back (mailparser) to the same subject, bodies and attachments', async () => {
    const message = hostileEmail(tracker);
    const { body } = await bytes(`${pathOf('m-hostile')}/eml`);
    const parsed = await simpleParser(body);
    expect(parsed.subject).toBe(message['subject']);
    expect(parsed.html).toBe(message['html_body']);
    expect(parsed.text).toBe(message['plaintext_body']);
    expect(parsed.from?.value[0]?.address).toBe('orders@shop.example.com');
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((entry) => entry.address) : []).toEqual(['ana.garcia@example.com']);
    const attachments = message['attachments'] as { bytes: string; file_name: string }[];
    // mailparser lists the AMP alternative among its attachments; the files are the ones sent as attachments.
    const files = parsed.attachments.filter((attachment) => attachment.contentDisposition === 'attachment');
    expect(files.map((attachment) => attachment.filename)).toEqual(attachments.map((attachment) => attachment.file_name));
    for (const [index, attachment] of attachments.entries()) expect(files[index]!.content.equals(Buffer.from(attachment.bytes, 'base64'))).toBe(true);
    expect((await get(`${pathOf('m-sms')}/eml`)).status).toBe(404);
  });

  it('/stored is the object exactly as in the folder', async () => {
    const key = viewer.keys.get('m-sms')!;
    expect((await bytes(`${pathOf('m-sms')}/stored`)).body.equals(readFileSync(storedFile(key)))).toBe(true);
  });
});

describe('message page text', { timeout: 60_000 }, () => {
  it('shows subjects, SMS bodies, WhatsApp template parameters, push titles, headers and attachment names carrying HTML as literal text', async () => {
    const escaped = '&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;';
    for (const [id, tab] of [
      ['m-hostile', ''],
      ['m-hostile', '?tab=attachments'],
      ['m-hostile', '?tab=headers'],
      ['m-raw', ''],
      ['m-sms', ''],
      ['m-whatsapp', ''],
      ['m-push', ''],
      ['m-rcs', ''],
    ] as const) {
      const { status, html } = await page(`${pathOf(id)}${tab}`);
      expect(status, `${id}${tab}`).toBe(200);
      expect(html, `${id}${tab}`).toContain(escaped.replace(/'/g, '&#39;'));
      expect(html, `${id}${tab}`).not.toContain(hostileText);
      expect(html, `${id}${tab}`).not.toContain("<script>document.title='pwned'");
    }
    const whatsapp = (await page(pathOf('m-whatsapp'))).html;
    expect(whatsapp).toContain('order_update');
    expect(whatsapp).toContain('&lt;b&gt;SC-42&lt;/b&gt;');
    expect(whatsapp).toContain(`<code>${tracker}/wa.jpg</code>`);
    expect(whatsapp).not.toContain(`src="${tracker}/wa.jpg"`);
    expect(whatsapp).not.toContain(`href="${tracker}/wa.jpg"`);
  });

  it('shows recipients masked with their ledger hash, on every tab, and keeps them out of the access log', async () => {
    const pages: string[] = [];
    for (const id of ['m-hostile', 'm-raw', 'm-sms', 'm-whatsapp', 'm-push', 'm-rcs']) {
      for (const tab of ['', '?tab=text', '?tab=headers', '?tab=raw', '?tab=html', '?tab=amp', '?tab=attachments']) pages.push((await page(`${pathOf(id)}${tab}`)).html);
    }
    for (const html of pages) for (const address of rawAddresses) expect(html.toLowerCase()).not.toContain(address.toLowerCase());
    const hostile = (await page(pathOf('m-hostile'))).html;
    expect(hostile).toContain('a***@example.com');
    expect(hostile).toContain('b***@example.com');
    // The hash the ledger entry lists for Ana (HMAC-SHA-256 under the deployment's key, of the normalized address).
    const { createHmac } = await import('node:crypto');
    expect(hostile).toContain(`${createHmac('sha256', testRecipientKey).update('ana.garcia@example.com').digest('hex')}</code> (in the ledger entry)`);
    expect((await page(pathOf('m-sms'))).html).toContain('+1555***0100');
    // A channel the viewer has no view for: its fields and JSON, the recipient masked in both.
    const rcs = (await page(pathOf('m-rcs'))).html;
    expect(rcs).toContain('<caption>Fields</caption>');
    expect(rcs).toContain('&quot;to&quot;: &quot;+1555***0100&quot;');
    const raw = (await page(`${pathOf('m-raw')}?tab=raw`)).html;
    expect(raw).toContain('To: d***@example.com');
    const log = JSON.stringify(viewer.events).toLowerCase();
    for (const address of rawAddresses) expect(log).not.toContain(address.toLowerCase());
  });

  it('serves the page with a strict policy: remote images only on the page that loads them, and logs which', async () => {
    const plain = await page(pathOf('m-hostile'));
    const policy = plain.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("img-src 'self' data:;");
    expect(plain.html).toContain('sandbox=""');
    expect(plain.html).not.toMatch(/allow-scripts|allow-same-origin/);
    expect(plain.html).toContain(`csp="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:"`);
    // The sanitized document carries no script, handler, refresh, base, link, form target or remote load.
    const srcdoc = /srcdoc="([^"]*)"/.exec(plain.html)![1]!;
    for (const gone of [
      '/script',
      '/onload',
      '/onerror',
      '/refresh',
      '/base/',
      '/link.css',
      '/import.css',
      '/import2.css',
      '/font.woff2',
      '/background.png',
      '/escaped.png',
      '/inline-style.png',
      '/pixel.gif',
      '/logo.png',
      '/srcset-2x.png',
      '/source.webp',
      '/poster.png',
      '/table-bg.png',
      '/form',
      '/iframe',
      '/object',
      '/embed',
      'href=',
    ]) {
      expect(srcdoc, gone).not.toContain(gone);
    }
    // AMP and HTML sources are text: escaped, never markup.
    const amp = (await page(`${pathOf('m-hostile')}?tab=amp`)).html;
    expect(amp).toContain(`&lt;script async src=&quot;${tracker}/amp.js&quot;&gt;`);
    expect(amp).not.toContain('<script async');
    const source = (await page(`${pathOf('m-hostile')}?tab=html`)).html;
    expect(source).toContain('&lt;meta http-equiv=&quot;refresh&quot;');
    expect(source).not.toContain('<meta http-equiv="refresh"');
    const warned = await page(`${pathOf('m-hostile')}?images=ask`);
    expect(warned.html).toContain('Load remote images?');
    expect(warned.html).toContain('tells the sender that this message was opened');
    expect(warned.headers.get('content-security-policy')).toContain("img-src 'self' data:;");
    const before = viewer.events.length;
    const loaded = await page(`${pathOf('m-hostile')}?images=load`);
    expect(loaded.headers.get('content-security-policy')).toContain("img-src 'self' data: https: http:;");
    const loadedDocument = /srcdoc="([^"]*)"/.exec(loaded.html)![1]!;
    expect(loadedDocument).toContain('/pixel.gif');
    expect(loadedDocument).toContain('/logo.png');
    expect(loadedDocument).not.toContain('/background.png');
    expect(viewer.events.slice(before)).toEqual([expect.objectContaining({ action: 'view-images', what: expect.objectContaining({ key: viewer.keys.get('m-hostile'), images: 2 }) })]);
    // Anything but an email keeps the strict policy, and is logged as a plain view.
    const sms = await page(`${pathOf('m-sms')}?images=load`);
    expect(sms.headers.get('content-security-policy')).toContain("img-src 'self' data:;");
    expect(viewer.events.at(-1)).toEqual(expect.objectContaining({ action: 'view' }));
  });

  it('answers 404 naming what is missing, without echoing a raw recipient', async () => {
    const noDestination = await page(messagePath('elsewhere', viewer.keys.get('m-sms')!));
    expect(noDestination.status).toBe(404);
    expect(noDestination.html).toContain('No destination named &quot;elsewhere&quot;');
    const before = viewer.events.length;
    const noKey = await page(messagePath('archive', 'shop/ana.garcia@example.com/+15550100100/missing.json.gz'));
    expect(noKey.status).toBe(404);
    expect(noKey.html).toContain('No object with the key');
    expect(noKey.html).toContain('shop/a***@example.com/+1555***0100/missing.json.gz');
    for (const address of rawAddresses) expect(noKey.html).not.toContain(address);
    expect(JSON.stringify(viewer.events.slice(before))).not.toContain('ana.garcia');
    expect(viewer.events.slice(before)).toEqual([expect.objectContaining({ action: 'view', what: expect.objectContaining({ found: false }) })]);
  });

  it('sends nothing when the access log cannot be written', async () => {
    viewer.auditFailure.fail = true;
    try {
      for (const suffix of ['', '/json', '/eml', '/attachments/0', '/stored']) {
        const response = await get(`${pathOf('m-hostile')}${suffix}`);
        const body = await response.text();
        expect(response.status, suffix).toBe(500);
        expect(body).not.toContain('Order shipped');
        expect(body).not.toContain('PDF');
      }
    } finally {
      viewer.auditFailure.fail = false;
    }
  });
});

describe('integrity panel', { timeout: 60_000 }, () => {
  let own: MessageViewer;
  beforeAll(async () => {
    // Three segments of two entries: the first two messages in segment 0, and so on.
    own = await startMessageViewer([hostileEmail(tracker, 'm-a'), hostileEmail(tracker, 'm-b'), ...otherChannelMessages(tracker), { ...otherChannelMessages(tracker)[0]!, message_id: 'm-alter' }]);
    // One more object, written without a ledger.
    const archiver = createArchiver({ destination: own.destination, recipientKey: testRecipientKey, retry: false });
    (own.keys as Map<string, string>).set('m-unlisted', (await archiver.archive({ ...otherChannelMessages(tracker)[0]!, message_id: 'm-unlisted' })).key);
  });
  afterAll(async () => {
    await own?.stop();
  });
  const view = async (id: string) => {
    const response = await fetch(`${own.url}${messagePath('archive', own.keys.get(id)!)}`);
    expect(response.status).toBe(200);
    return response.text();
  };

  it('reports matching hashes, the ledger entry, its segment and the link to the next segment', async () => {
    const html = await view('m-a');
    expect(html).not.toContain('MISMATCH');
    expect(html.match(/<strong class="ok">match<\/strong>/g)?.length).toBe(3);
    expect(html).toContain('<code>viewer-test</code>');
    expect(html).toContain(`sequence 0 <code>${ledgerSegmentKey('viewer-test', 0)}</code>`);
    expect(html).toContain('The next segment (sequence 1) records this segment&#39;s hash as its predecessor: the link holds.');
    expect(html).toContain('Not checked here');
    expect(await view('m-alter')).toContain('Segment 2 is the newest segment of chain viewer-test: no later segment records its hash yet.');
    expect(await view('m-unlisted')).toContain('This object is not listed in the ledger of destination &quot;archive&quot;.');
  });

  it('finds entries again after forgetting what it remembered (memory cap)', async () => {
    const locator = new LedgerLocator(1);
    for (const [id, seq] of [
      ['m-a', 0],
      ['m-whatsapp', 1],
      ['m-alter', 2],
      ['m-b', 0],
    ] as const) {
      const check = await locator.check(own.destination, own.keys.get(id)!);
      expect(check.listed && check.seq, id).toBe(seq);
    }
    expect((await locator.check(own.destination, own.keys.get('m-unlisted')!)).listed).toBe(false);
  });

  it('reports a mismatch once the object is replaced behind the archive’s back by other (valid) JSON', async () => {
    const key = own.keys.get('m-alter')!;
    const file = path.join(own.folder, 'archive', key);
    const original = gunzipSync(readFileSync(file)).toString('utf8');
    writeFileSync(file, gzipSync(Buffer.from(original.replace('Your code is 123456', 'Your code is 999999'))));
    const html = await view('m-alter');
    expect(html).toContain('Your code is 999999');
    // The folder's sidecar no longer fits the file (another size), so only the ledger still holds the hash it was stored with.
    expect(html.match(/<strong class="bad">MISMATCH<\/strong>/g)?.length).toBe(1);
    expect(html).toMatch(/SHA-256 in the ledger entry<\/dt><dd><code class="hash">[0-9a-f]{64}<\/code> <strong class="bad">MISMATCH/);
  });

  it('reports both mismatches when a byte of the object flips in place', async () => {
    const key = own.keys.get('m-b')!;
    const file = path.join(own.folder, 'archive', key);
    const stored = readFileSync(file);
    const middle = Math.floor(stored.length / 2);
    stored[middle] = stored[middle]! ^ 0xff;
    writeFileSync(file, stored);
    const html = await view('m-b');
    expect(html.match(/<strong class="bad">MISMATCH<\/strong>/g)?.length).toBe(2);
    expect(html).toContain('This object is corrupt');
  });

  it('still opens an object that does not decode: says what is wrong and offers the stored bytes', async () => {
    const key = own.keys.get('m-alter')!;
    const file = path.join(own.folder, 'archive', key);
    writeFileSync(file, Buffer.from('not gzip at all <script>alert(1)</script>'));
    const html = await view('m-alter');
    expect(html).toContain('does not decode as gzip');
    expect(html).toContain('/stored"');
    expect(html).not.toContain('<script>alert(1)');
    expect((await fetch(`${own.url}${messagePath('archive', key)}/json`)).status).toBe(404);
    const stored = await fetch(`${own.url}${messagePath('archive', key)}/stored`);
    expect(Buffer.from(await stored.arrayBuffer()).equals(readFileSync(file))).toBe(true);
  });

  it('opens an object under a key the layout does not explain, and one that is not JSON, saying what is wrong', async () => {
    const { createHash } = await import('node:crypto');
    const put = async (key: string, body: Buffer) => {
      await own.destination.put({ key, body: new Uint8Array(body), sha256: createHash('sha256').update(body).digest('hex'), contentType: 'application/json', contentEncoding: 'gzip' });
    };
    const json = Buffer.from(JSON.stringify({ version: 1, channel: 'sms', message_id: 'm-odd', project_id: 'shop', sent_at: sentAt, to: '+15550100100', body: 'Odd place' }));
    await put('odd/place/m-odd.json.gz', gzipSync(json));
    await put('odd/place/garbage.json.gz', Buffer.from('\u0000\u0001 not gzip'));
    const odd = await fetch(`${own.url}${messagePath('archive', 'odd/place/m-odd.json.gz')}`);
    const oddHtml = await odd.text();
    expect(odd.status).toBe(200);
    expect(oddHtml).toContain('Key: the key does not fit the layout');
    expect(oddHtml).toContain('Odd place');
    expect(oddHtml).toContain('This object is not listed in the ledger of destination &quot;archive&quot;.');
    expect(Buffer.from(await (await fetch(`${own.url}${messagePath('archive', 'odd/place/m-odd.json.gz')}/json`)).arrayBuffer()).equals(json)).toBe(true);
    const garbage = await fetch(`${own.url}${messagePath('archive', 'odd/place/garbage.json.gz')}`);
    const garbageHtml = await garbage.text();
    expect(garbage.status).toBe(200);
    expect(garbageHtml).toContain('Unreadable object');
    expect(garbageHtml).toContain('does not decode as gzip');
    expect(garbageHtml).toContain(`${messagePath('archive', 'odd/place/garbage.json.gz')}/stored`);
  });

  it('opens documents of every odd shape another tool may have written (wrong types, impossible times) without failing', async () => {
    const { createHash } = await import('node:crypto');
    const odd: Record<string, unknown>[] = [
      { version: 1, channel: 'email', message_id: 'x-1', sent_at: 1e300, to: 42, subject: ['a'], html_body: { html: true }, attachments: 'none', headers: ['To: x'], raw_mime: 'not base64 MIME at all' },
      { version: 1, channel: 'email', message_id: 'x-2', sent_at: 'yesterday', to: ['ana.garcia@example.com', 7], attachments: [null, 'x', { bytes: 12, file_name: 3 }], headers: { To: null, Received: ['a', 1] } },
      { version: 1, channel: 'sms', message_id: 'x-3', sent_at: -1e20, to: null, body: { nested: [1, 2] }, media_urls: { a: 1 } },
      { version: 1, channel: 'whatsapp', message_id: 'x-4', template_name: 5, template_params: 'Ana', body: null },
      { version: 1, channel: 'push', message_id: 'x-5', payload: [1, { title: 'T' }], platform: 7 },
      { channel: '', message_id: 'x-6' },
    ];
    for (const [index, document] of odd.entries()) {
      const body = gzipSync(Buffer.from(JSON.stringify(document)));
      const key = `odd/shapes/x-${index + 1}.json.gz`;
      await own.destination.put({ key, body: new Uint8Array(body), sha256: createHash('sha256').update(body).digest('hex'), contentType: 'application/json', contentEncoding: 'gzip' });
      const response = await fetch(`${own.url}${messagePath('archive', key)}`);
      const html = await response.text();
      expect(response.status, key).toBe(200);
      expect(html, key).toContain('not a valid message');
      expect(html.toLowerCase(), key).not.toContain('ana.garcia@example.com');
      for (const tab of ['text', 'headers', 'attachments', 'raw']) expect((await fetch(`${own.url}${messagePath('archive', key)}?tab=${tab}`)).status, `${key} ${tab}`).toBe(200);
      expect((await fetch(`${own.url}${messagePath('archive', key)}/eml`)).status, key).toBeLessThan(500);
      expect((await fetch(`${own.url}${messagePath('archive', key)}/attachments/0`)).status, key).toBeLessThan(500);
    }
  });

  it('reports a broken chain once the segment listing the entry is rewritten', async () => {
    const segmentFile = path.join(own.folder, 'archive', ledgerSegmentKey('viewer-test', 0));
    const decoded = decodeLedgerSegment(readFileSync(segmentFile), ledgerSegmentKey('viewer-test', 0));
    const { body } = encodeLedgerSegment(decoded.header, [...decoded.entries.map((entry) => ({ ...entry, stored_at: entry.stored_at + 1 })), ...decoded.tombstones]);
    writeFileSync(segmentFile, body);
    const html = await view('m-a');
    expect(html).toContain('BROKEN: the next segment (sequence 1) records');
    expect(html).toContain('class="bad">BROKEN');
  });
});

describe('finding the ledger entry of an old message in a long ledger', { timeout: 120_000 }, () => {
  let long: MessageViewer;
  let ledgerReads = 0;
  const root = path.join(tmpdir(), `sentcopy-viewer-long-${process.pid}-${Date.now()}`);
  beforeAll(async () => {
    const messages = Array.from({ length: 80 }, (_, index) => ({ ...otherChannelMessages(tracker)[0]!, message_id: `m-long-${String(index).padStart(3, '0')}` }));
    long = await startMessageViewer(messages, {
      index: true,
      spacingMs: 2,
      destination: {
        create: () => {
          const inner = createFsDestination({ root, fsync: false });
          return { ...inner, get: (key, options) => ((ledgerReads += key.startsWith(ledgerPrefix) ? 1 : 0), inner.get(key, options)) };
        },
        entry: { type: 'fs', root: '/nonexistent-not-opened', acknowledge_personal_data: true },
      },
    });
  });
  afterAll(async () => {
    await long?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('reads a few of the 40 segments, not all of them, when the index says when the object was stored', async () => {
    ledgerReads = 0;
    const html = await (await fetch(`${long.url}${messagePath('archive', long.keys.get('m-long-021')!)}`)).text();
    expect(html).toContain(`sequence 10 <code>${ledgerSegmentKey('viewer-test', 10)}</code>`);
    expect(html).toContain('the link holds');
    // A binary search over 40 segments (6 reads), the segment and its successor read again, and a few to spare; reading newest first would take 30.
    expect(ledgerReads).toBeLessThanOrEqual(12);
  });
});
