// Archives written by the real archiver (three codecs, one ledger) for the export tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createArchiver, createHmacRecipientHash, createLedgerWriter, keyLayoutPresets, type CodecName, type DestinationV1 } from '@sentcopy/core';
import { unzipSync } from 'fflate';
import type { BundleManifest } from '../src/viewer/export/bundle-manifest.js';
import { testRecipientKey } from './ingest-fixture.js';

/** A subject that is HTML and script: the offline viewer must show it as text. */
export const hostileSubject = '<script>alert("subject")</script><b>Refund</b> & <img src=x onerror=alert(1)>';

/** An email body with a tracking pixel, a remote stylesheet, a script and a javascript: link, all aimed at `tracker`. */
export const hostileHtml = (tracker: string) =>
  `<html><head><link rel="stylesheet" href="${tracker}/remote.css"><script>parent.postMessage("ran","*");alert("body")</script></head><body><p>Your refund of <strong>€42</strong> is on its way.</p><img src="${tracker}/pixel.gif" width="1" height="1"><a href="javascript:alert(2)">Details</a></body></html>`;

/** An email as its exact MIME bytes: an HTML part with a remote image (aimed at `tracker`), and a text attachment. */
export const rawMime = (tracker: string) =>
  [
    'From: Example Shop <orders@shop.example.com>',
    'To: Ana Garcia <ana.garcia@example.com>',
    'Subject: Raw receipt R-9',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    `<p>Receipt <b>R-9</b> is attached.</p><img src="${tracker}/raw-pixel.gif"><link rel="stylesheet" href="${tracker}/raw.css">`,
    '--b1',
    'Content-Type: text/plain; charset=utf-8; name="note.txt"',
    'Content-Disposition: attachment; filename="note.txt"',
    '',
    'hello from the attachment',
    '--b1--',
    '',
  ].join('\r\n');

/** One message of the mixed archive, with the codec it is stored with. */
export interface MixedMessage {
  readonly codec: CodecName;
  readonly message: Record<string, unknown>;
}

const sentAt = (minute: number) => Date.parse('2026-03-02T10:00:00Z') + minute * 60_000;

/** Email with HTML and an attachment, SMS, push, WhatsApp, raw MIME; gzip, LZ4 and none; one message id full of unusual characters. Remote loads point at `tracker`. */
export function mixedMessages(tracker = 'http://127.0.0.1:9'): MixedMessage[] {
  const base = { version: 1, project_id: 'shop' };
  return [
    {
      codec: 'gzip',
      message: {
        ...base,
        channel: 'email',
        message_id: 'e-1',
        sent_at: sentAt(1),
        to: 'Ana Garcia <ana.garcia@example.com>',
        cc: ['ben.okafor@example.com'],
        from_name: 'Example Shop',
        from_address: 'orders@shop.example.com',
        subject: hostileSubject,
        html_body: hostileHtml(tracker),
        plaintext_body: 'Your refund of €42 is on its way.',
        attachments: [{ file_name: '<b>invoice</b>.pdf', content_type: 'application/pdf', bytes: Buffer.from('%PDF-1.4 not really a pdf').toString('base64') }],
      },
    },
    { codec: 'lz4', message: { ...base, channel: 'email', message_id: 'e-2', sent_at: sentAt(2), to: 'ben.okafor@example.com', subject: 'Your order shipped', plaintext_body: 'Order SC-2 shipped.\nTrack it online.' } },
    { codec: 'none', message: { ...base, channel: 'sms', message_id: 's-1', sent_at: sentAt(3), to: '+1 (555) 010-0100', body: 'Code 123456 <img src=x onerror=alert(3)>', provider: 'twilio' } },
    {
      codec: 'gzip',
      message: { ...base, channel: 'push', message_id: 'p-1', sent_at: sentAt(4), to: 'f3c1a9e0d7b84c2e9a6b5d4c3b2a1f0e9d8c7b6a', platform: 'ios', payload: { aps: { alert: { title: 'Back in stock', body: 'The blue kettle is back.' } } } },
    },
    { codec: 'lz4', message: { ...base, channel: 'whatsapp', message_id: 'w-1', sent_at: sentAt(5), to: '+44 20 7946 0000', body: 'Hola Ana, tu pedido llegó ✅', provider: 'meta' } },
    { codec: 'none', message: { ...base, channel: 'sms', message_id: 'ünï cödé #7 & (x) 100%', sent_at: sentAt(6), to: '+1 (555) 010-0100', body: 'Unusual key' } },
    { codec: 'gzip', message: { ...base, channel: 'email', message_id: 'r-1', sent_at: sentAt(7), to: 'ana.garcia@example.com', raw_mime: Buffer.from(rawMime(tracker), 'utf8').toString('base64') } },
  ];
}

/** What was archived: each message's key and SHA-256. */
export interface ArchivedObject {
  readonly key: string;
  readonly sha256: string;
  readonly message: Record<string, unknown>;
  readonly codec: CodecName;
}

const extensions: Record<CodecName, string> = { gzip: '.gz', lz4: '.lz4', none: '' };

/** Archives `messages` into `destination` with one ledger, each with its codec (an archiver per codec, as projects with different profiles would). */
export async function archiveMixed(destination: DestinationV1, messages: readonly MixedMessage[], writerId = 'w-export'): Promise<ArchivedObject[]> {
  const ledger = createLedgerWriter({ destination, writerId, recipientHash: createHmacRecipientHash(testRecipientKey), maxEntries: 4 });
  const archivers = new Map<CodecName, ReturnType<typeof createArchiver>>();
  const archived: ArchivedObject[] = [];
  for (const { codec, message } of messages) {
    let archiver = archivers.get(codec);
    if (archiver === undefined) archivers.set(codec, (archiver = createArchiver({ destination, recipientKey: testRecipientKey, ledger, codec, layout: keyLayoutPresets.sentcopy.replace(/\.gz$/, extensions[codec]), retry: false })));
    const result = await archiver.archive(message);
    archived.push({ key: result.key, sha256: result.sha256, message, codec });
  }
  await ledger.close();
  return archived;
}

/** The files of a ZIP file, by path. */
export function readZip(file: string): Record<string, Uint8Array> {
  return unzipSync(new Uint8Array(readFileSync(file)));
}

/** The manifest of a bundle file. */
export function manifestOf(file: string): BundleManifest {
  return JSON.parse(Buffer.from(readZip(file)['manifest.json']!).toString('utf8'));
}

/** `path.join` for bundle paths inside an unzipped folder. */
export const inFolder = (folder: string, bundlePath: string) => path.join(folder, ...bundlePath.split('/'));
