import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { hashApiKey, runWorker } from '@sentcopy/worker';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveWith, SendHeldError, type ArchiveFailedEvent } from '../src/index.js';
import { startSmtpServer, type SmtpFixture } from './smtp-fixture.js';

const folders: string[] = [];
function newFolder(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-nodemailer-'));
  folders.push(folder);
  return folder;
}
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}, 120_000);

/** Every archived document in a local-folder destination, read from the files themselves (the back door). */
function storedDocuments(root: string): Record<string, unknown>[] {
  const documents: Record<string, unknown>[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        // The destination's own files (sidecars, temp files) live under .sentcopy.
        if (entry.name !== '.sentcopy') walk(file);
      } else if (entry.name.endsWith('.json.gz')) documents.push(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, unknown>);
    }
  };
  walk(root);
  return documents;
}

function transport(smtp: SmtpFixture, pool = false) {
  return nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true, ...(pool ? { pool: true, maxConnections: 4, maxMessages: Number.POSITIVE_INFINITY } : {}) });
}

/** A realistic message: names with accents, HTML and text, and every fifth one two attachments (binary and text). */
function mail(index: number) {
  const attachments =
    index % 5 === 0
      ? [
          { filename: `invoice-${index}.pdf`, content: randomBytes(20_000 + (index % 7) * 1000), contentType: 'application/pdf' },
          { filename: 'notes.txt', content: `Grüße, order ${index}\n`.repeat(50) },
        ]
      : [];
  return {
    from: '"Example Shop" <shop@example.com>',
    to: `"Jörg Müller ${index}" <customer-${index}@example.net>`,
    ...(index % 3 === 0 ? { cc: `team-${index}@example.org` } : {}),
    subject: `Your order #${index} ✓`,
    text: `Hello Jörg,\nyour order ${index} has shipped.\n`,
    html: `<p>Hello J&ouml;rg,</p><p>your order <b>${index}</b> has shipped.</p>`,
    attachments,
  };
}

let smtp: SmtpFixture;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(async () => {
  await smtp?.close();
});

describe('@sentcopy/nodemailer', () => {
  it('after-send: 2,000 messages through nodemailer → SMTP server → archive; counts equal and every archived MIME is byte-for-byte what the server received', async () => {
    const root = newFolder();
    const archiver = createArchiver({ destination: createFsDestination({ root }), recipientKey: 'sentcopy-test-recipient-key' });
    const transporter = transport(smtp, true);
    const failures: ArchiveFailedEvent[] = [];
    const archiving = archiveWith(transporter, { archiver, projectId: 'shop', fields: (data) => ({ campaign_id: String(data['subject']).includes('#1') ? 'one' : 'other' }), onArchiveFailed: (event) => failures.push(event) });
    const before = smtp.received.size;
    const ids: string[] = [];
    const total = 2000;
    try {
      for (let start = 0; start < total; start += 50) {
        const infos = await Promise.all(Array.from({ length: Math.min(50, total - start) }, (_, offset) => transporter.sendMail(mail(start + offset))));
        for (const info of infos) ids.push(info.messageId.replace(/^<|>$/g, ''));
      }
      await archiving.flush();
    } finally {
      await archiving.close();
      transporter.close();
    }
    expect(failures).toEqual([]);
    expect(smtp.received.size - before).toBe(total);
    const documents = storedDocuments(root);
    expect(documents).toHaveLength(total);
    const byId = new Map(documents.map((document) => [document['message_id'] as string, document]));
    expect(byId.size).toBe(total);
    let withAttachments = 0;
    let withCc = 0;
    for (const id of ids) {
      const received = smtp.received.get(id);
      const document = byId.get(id);
      expect(received, `the server received ${id}`).toBeDefined();
      expect(document, `the archive holds ${id}`).toBeDefined();
      const archived = Buffer.from(document!['raw_mime'] as string, 'base64');
      expect(archived.equals(received!.bytes), `bytes of ${id}`).toBe(true);
      if (archived.includes('application/pdf')) withAttachments++;
      const delivery = document!['delivery'] as Record<string, unknown>;
      expect(delivery['queue_id']).toBe(received!.queueId);
      expect(delivery['response']).toBe(`250 2.0.0 Ok: queued as ${received!.queueId}`);
      expect((delivery['envelope'] as { to: string[] }).to).toEqual(received!.recipients);
      // Every recipient the server was given is stored (and so listed in the ledger): To, then the Cc read from the headers.
      expect([document!['to'], document!['cc'] ?? []].flat()).toEqual(received!.recipients);
      expect(document!['derived_from_raw_mime']).toEqual(['to', 'sent_at', 'message_id', ...(document!['cc'] === undefined ? [] : ['cc'])]);
      if (document!['cc'] !== undefined) withCc++;
    }
    expect(withAttachments).toBe(total / 5);
    expect(withCc).toBe(Math.ceil(total / 3));
  }, 300_000);

  it('gate: the copy is stored before the send, and the server receives exactly the archived bytes', async () => {
    const root = newFolder();
    const transporter = transport(smtp);
    const archiving = archiveWith(transporter, { archiver: createArchiver({ destination: createFsDestination({ root }), recipientKey: 'sentcopy-test-recipient-key' }), projectId: 'shop', mode: 'gate' });
    try {
      const info = await transporter.sendMail(mail(5));
      const id = info.messageId.replace(/^<|>$/g, '');
      const [document] = storedDocuments(root);
      expect(document?.['message_id']).toBe(id);
      expect(Buffer.from(document!['raw_mime'] as string, 'base64').equals(smtp.received.get(id)!.bytes)).toBe(true);
      // A gate has no transport answer yet to record.
      expect(document?.['delivery']).toBeUndefined();
    } finally {
      await archiving.close();
      transporter.close();
    }
  }, 60_000);

  it('gate: when the copy cannot be archived the send is held (SendHeldError) and the SMTP server receives nothing', async () => {
    const transporter = transport(smtp);
    // A port that was free a moment ago: nothing listens there.
    const probe = await startSmtpServer();
    const deadPort = probe.port;
    await probe.close();
    const archiving = archiveWith(transporter, { worker: { url: `http://127.0.0.1:${deadPort}`, apiKey: 'sc_secret_key_never_shown' }, projectId: 'shop', mode: 'gate', gateAttempts: 2 });
    const before = smtp.received.size;
    try {
      const error = await transporter.sendMail({ ...mail(7), subject: 'held' }).catch((caught: unknown) => caught);
      expect(SendHeldError.isInstance(error)).toBe(true);
      expect((error as SendHeldError).code).toBe('EARCHIVE');
      expect((error as Error).message).toMatch(/not sent: its copy could not be archived \(the worker could not be reached \(ECONNREFUSED\)\)/);
      expect((error as Error).message).not.toContain('sc_secret_key_never_shown');
      expect(smtp.received.size).toBe(before);
    } finally {
      await archiving.close();
      transporter.close();
    }
  }, 60_000);

  it('after-send: a copy that cannot be archived does not stop the send, is retried, and is reported loudly (never silently dropped)', async () => {
    const transporter = transport(smtp);
    const probe = await startSmtpServer();
    const deadPort = probe.port;
    await probe.close();
    const failures: ArchiveFailedEvent[] = [];
    const archiving = archiveWith(transporter, { worker: { url: `http://127.0.0.1:${deadPort}`, apiKey: 'sc_secret_key_never_shown' }, projectId: 'shop', retryForMs: 1_500, onArchiveFailed: (event) => failures.push(event) });
    try {
      const info = await transporter.sendMail(mail(8));
      const id = info.messageId.replace(/^<|>$/g, '');
      expect(smtp.received.has(id)).toBe(true);
      await archiving.flush();
      expect(failures.length).toBeGreaterThan(1);
      expect(failures.filter((event) => event.final)).toHaveLength(1);
      expect(failures.at(-1)).toMatchObject({ messageId: id, final: true, reason: 'the worker could not be reached (ECONNREFUSED)' });
      expect(JSON.stringify(failures.map((event) => event.reason))).not.toContain('sc_secret_key_never_shown');
    } finally {
      await archiving.close();
      transporter.close();
    }
  }, 60_000);

  it('through a real worker: gate over POST /v1/archive and after-send over POST /v1/messages store the bytes the server received', async () => {
    const folder = newFolder();
    const root = path.join(folder, 'archive');
    const apiKey = `sc_nodemailer_test_${randomBytes(12).toString('hex')}`;
    const configFile = path.join(folder, 'sentcopy.config.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['email'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      }),
    );
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, logger: () => {} });
    const gated = transport(smtp);
    const after = transport(smtp);
    const gate = archiveWith(gated, { worker: { url: worker.url, apiKey }, projectId: 'shop', mode: 'gate' });
    const background = archiveWith(after, { worker: { url: worker.url, apiKey }, projectId: 'shop' });
    try {
      const first = await gated.sendMail(mail(10));
      const second = await after.sendMail(mail(11));
      await background.flush();
      const ids = [first.messageId, second.messageId].map((id) => id.replace(/^<|>$/g, ''));
      const deadline = Date.now() + 30_000;
      while (storedDocuments(root).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      const byId = new Map(storedDocuments(root).map((document) => [document['message_id'] as string, document]));
      expect(byId.size).toBe(2);
      for (const id of ids) expect(Buffer.from(byId.get(id)!['raw_mime'] as string, 'base64').equals(smtp.received.get(id)!.bytes)).toBe(true);
      expect((byId.get(ids[1]!)!['delivery'] as Record<string, unknown>)['queue_id']).toBe(smtp.received.get(ids[1]!)!.queueId);
    } finally {
      await gate.close();
      await background.close();
      gated.close();
      after.close();
      await worker.stop();
    }
  }, 120_000);
});
