// Shared by the viewer-message tests: a real archive (the real archiver and ledger writer into a
// temp folder), the message routes on a real HTTP server, an in-memory access log, and a local
// server that counts every request an email could make.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createArchiver, createHmacRecipientHash, createLedgerWriter, type DestinationV1 } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { openLedgerIndex } from '@sentcopy/ledger-index';
import { Hono } from 'hono';
import { readConfig } from '../src/cli-kit/index.js';
import { messageAssets, registerMessageRoutes } from '../src/viewer/message/index.js';
import type { AccessEvent, ViewerContext, ViewerEnv } from '../src/viewer/viewer-context.js';
import { testRecipientKey, writeRecipientKeyEnvFile } from './ingest-fixture.js';
import { fsEntry, writeConfigFile } from './ls-fixtures.js';

/** A running viewer over a fresh archive. */
export interface MessageViewer {
  readonly url: string;
  readonly folder: string;
  readonly destination: DestinationV1;
  /** Object key of each archived message, by message id. */
  readonly keys: ReadonlyMap<string, string>;
  /** The access log, in order. */
  readonly events: AccessEvent[];
  /** Set to make the access log refuse every event (a full disk): no answer may then be sent. */
  readonly auditFailure: { fail: boolean };
  stop(): Promise<void>;
}

const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** A local HTTP server standing in for a sender's tracking and asset hosts: answers every request with a 1×1 GIF and records it. */
export interface Tracker {
  readonly origin: string;
  /** Paths requested, in order. */
  readonly hits: string[];
  stop(): Promise<void>;
}

export async function startTracker(): Promise<Tracker> {
  const hits: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    hits.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'image/gif', 'cache-control': 'no-store' });
    response.end(gif);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, hits, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Archives `messages` with the real archiver and a ledger (a segment every `segmentEntries` entries) into a temp folder (or the destination given), and serves the message routes over it. */
export async function startMessageViewer(
  messages: readonly Record<string, unknown>[],
  options: {
    segmentEntries?: number;
    destination?: { readonly create: () => DestinationV1; readonly entry: Record<string, unknown> };
    /** Build the local ledger index (as `sentcopy index` does) and give it to the routes. @default false */
    index?: boolean;
    /** Milliseconds to wait between two messages, so ledger segments close at distinct times. @default 0 */
    spacingMs?: number;
  } = {},
): Promise<MessageViewer> {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-viewer-message-'));
  const root = path.join(folder, 'archive');
  const destination = options.destination?.create() ?? createFsDestination({ root, fsync: false });
  const ledger = createLedgerWriter({ destination, writerId: 'viewer-test', recipientHash: createHmacRecipientHash(testRecipientKey), maxEntries: options.segmentEntries ?? 2 });
  const archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, retry: false });
  const keys = new Map<string, string>();
  for (const message of messages) {
    keys.set(message['message_id'] as string, (await archiver.archive(message)).key);
    if (options.spacingMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.spacingMs));
  }
  await ledger.close();
  const index = options.index === true ? openLedgerIndex({ file: path.join(folder, 'ledger-index.sqlite') }) : undefined;
  await index?.update('archive', destination);

  const channels = [...new Set(messages.map((message) => message['channel'] as string))];
  const configFile = writeConfigFile(folder, { destinations: { archive: options.destination?.entry ?? fsEntry(root) }, projects: { shop: { destination: 'archive', channels, api_keys: [] } } });
  writeRecipientKeyEnvFile(configFile);
  const loaded = await readConfig(configFile);
  const events: AccessEvent[] = [];
  const auditFailure = { fail: false };
  const context: ViewerContext = {
    loaded,
    destinations: new Map([['archive', destination]]),
    index,
    audit: async (event) => {
      if (auditFailure.fail) throw new Error('the access log cannot be written');
      events.push({ ...event, at: event.at ?? Date.now() });
    },
  };
  const app = new Hono<ViewerEnv>();
  app.use(async (c, next) => {
    c.set('user', 'agent-7');
    await next();
  });
  app.get('/assets/:name', (c) => {
    const asset = messageAssets.get(c.req.param('name'));
    return asset === undefined ? c.notFound() : c.body(asset.body, 200, { 'content-type': asset.type });
  });
  registerMessageRoutes(app, context);
  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    folder,
    destination,
    keys,
    events,
    auditFailure,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      index?.close();
      await destination.close?.();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** 2026-03-02 10:00 UTC. */
export const sentAt = Date.UTC(2026, 2, 2, 10, 0, 0);
export const hostileText = `<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">`;

/** An email carrying every way HTML can reach out, run script or navigate, all pointing at `tracker`. */
export function hostileEmail(tracker: string, id = 'm-hostile'): Record<string, unknown> {
  const html = `<!doctype html><html><head><title>Hi</title>
<base href="${tracker}/base/">
<meta http-equiv="refresh" content="0;url=${tracker}/refresh">
<link rel="stylesheet" href="${tracker}/link.css">
<style>@import url("${tracker}/import.css"); @import '${tracker}/import2.css';
@font-face { font-family: Tracked; src: url(${tracker}/font.woff2) format("woff2"); }
body { font-family: Tracked, sans-serif; background: url('${tracker}/background.png'); }
.hero { background-image: u\\72l(${tracker}/escaped.png); }
h1 { color: #0a5; }</style></head>
<body onload="fetch('${tracker}/onload')">
<h1 id="greeting">Your order has shipped</h1>
<p class="hero" style="background:url(${tracker}/inline-style.png)">Thanks for shopping with us.</p>
<img src="${tracker}/pixel.gif" width="1" height="1" alt="">
<img src="${tracker}/logo.png" alt="Shop logo" onerror="fetch('${tracker}/onerror')">
<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" alt="inline">
<img srcset="${tracker}/srcset-2x.png 2x" alt="srcset">
<picture><source srcset="${tracker}/source.webp"><img alt="picture"></picture>
<video poster="${tracker}/poster.png"></video>
<table background="${tracker}/table-bg.png"><tr><td>Cell</td></tr></table>
<script>fetch('${tracker}/script'); parent.document.title = 'pwned';</script>
<form action="${tracker}/form" method="post"><input name="q" value="x"><button type="submit" id="submit">Send</button></form>
<p><a id="track" href="${tracker}/click">Track your order</a> · <a id="js" href="javascript:fetch('${tracker}/javascript')">Unsubscribe</a></p>
<iframe src="${tracker}/iframe"></iframe><object data="${tracker}/object"></object><embed src="${tracker}/embed">
</body></html>`;
  return {
    version: 1,
    channel: 'email',
    message_id: id,
    project_id: 'shop',
    sent_at: sentAt,
    to: 'Ana Garcia <ana.garcia@example.com>',
    cc: ['ben.okafor@example.com'],
    from_name: 'Example Shop',
    from_address: 'orders@shop.example.com',
    subject: `Order shipped ${hostileText}`,
    html_body: html,
    plaintext_body: 'Your order has shipped.\nTrack it at the shop.',
    amp_body: `<!doctype html><html ⚡4email><head><script async src="${tracker}/amp.js"></script></head><body>AMP</body></html>`,
    headers: { 'X-Campaign': 'spring', To: 'ana.garcia@example.com', 'X-Hostile': hostileText },
    attachments: [
      { file_name: `invoice ${hostileText}.pdf`, content_type: 'application/pdf', bytes: Buffer.from('%PDF-1.4 fake invoice \u0000\u00ff bytes').toString('base64') },
      { file_name: '../../etc/passwd', content_type: 'text/html', bytes: Buffer.from(`<script>fetch('${tracker}/attachment')</script>`).toString('base64') },
    ],
  };
}

/** The exact MIME bytes of an email, built by nodemailer's composer (as the nodemailer plugin would capture them). */
export async function composeRawMime(): Promise<Buffer> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  return new MailComposer({
    from: 'Example Shop <orders@shop.example.com>',
    to: 'Dana Raw <dana.raw@example.com>',
    subject: `Raw receipt ${hostileText}`,
    text: 'Receipt attached.',
    html: '<p>Receipt <b>attached</b>.</p>',
    date: new Date(sentAt),
    messageId: '<raw-1@shop.example.com>',
    attachments: [{ filename: 'receipt.txt', content: Buffer.from('line 1\r\nline 2\r\n\u00e9') }],
  })
    .compile()
    .build();
}

/** The channels besides email, each carrying hostile text where a person reads it. */
export function otherChannelMessages(tracker: string): Record<string, unknown>[] {
  const base = { version: 1, project_id: 'shop', sent_at: sentAt };
  return [
    { ...base, channel: 'sms', message_id: 'm-sms', to: '+15550100100', from: 'ExampleShop', body: `Your code is 123456 ${hostileText}`, provider: 'twilio', media_urls: [`${tracker}/mms.png`] },
    {
      ...base,
      channel: 'whatsapp',
      message_id: 'm-whatsapp',
      to: '+447946000000',
      provider: 'meta',
      template_name: 'order_update',
      template_params: ['Ana', `<b>SC-42</b> ${hostileText}`],
      body: 'Hi Ana, your order SC-42 is on its way.',
      media_urls: `${tracker}/wa.jpg`,
    },
    {
      ...base,
      channel: 'push',
      message_id: 'm-push',
      to: 'f3c1a9e0d7b84c2e9a6b5d4c3b2a1f0e9d8c7b6a',
      platform: 'ios',
      app_id: 'com.example.shop',
      payload: { aps: { alert: { title: `Flash sale ${hostileText}`, body: 'Everything 20% off today' }, badge: 1, sound: 'default' }, deep_link: 'shop://sale' },
    },
  ];
}
