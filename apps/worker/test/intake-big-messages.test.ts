import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { defaultMaxBodyBytes, defaultMaxMessageBytes, sampleMessages, sha256Hex } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #15, big messages: an email with 25 MiB of attachments is accepted with the default limits,
// alone and in a batch, and stored byte for byte; a larger one is refused naming the setting.
const newFolder = tempFolders('big-messages');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const key = 'sc_big_messages_key_00000000000000000000000000';
const mebibyte = 1024 * 1024;

async function startWorker() {
  const folder = newFolder();
  const configFile = path.join(folder, 'sentcopy.config.json');
  const config: WorkerConfig = {
    version: 1,
    destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email'], api_keys: [{ sha256: hashApiKey(key) }] } },
  };
  writeFileSync(configFile, JSON.stringify(config));
  const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
  closers.push(() => worker.stop());
  const post = (route: string, body: string) => fetch(`${worker.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  return { post, root: path.join(folder, 'archive') };
}

/** An email carrying `attachmentBytes` of attachments in 5 files, base64 wrapped at 76 columns with CRLF as MIME does. */
function bigEmail(messageId: string, attachmentBytes: number): { text: string; files: Buffer[] } {
  const email = sampleMessages({ projectId: 'shop', count: 8, seed: 5 }).find((message) => message.channel === 'email')!;
  const files = Array.from({ length: 5 }, () => randomBytes(attachmentBytes / 5));
  const attachments = files.map((file, index) => ({ file_name: `scan-${index}.pdf`, content_type: 'application/pdf', bytes: file.toString('base64').replace(/.{76}/g, '$&\r\n') }));
  return { text: JSON.stringify({ ...email, message_id: messageId, attachments }), files };
}

describe('big messages with the default limits', () => {
  it('accept an email with 25 MiB of attachments on /v1/archive and in a batch, stored byte for byte', async () => {
    const { post, root } = await startWorker();
    const single = bigEmail('big-1', 25 * mebibyte);
    const bytes = Buffer.byteLength(single.text);
    // About 36 MiB of JSON: over the old 5 MiB limit, within the new defaults.
    expect(bytes).toBeGreaterThan(35 * mebibyte);
    expect(bytes).toBeLessThan(defaultMaxMessageBytes);
    expect(bytes + 2).toBeLessThan(defaultMaxBodyBytes);

    const archived = await post('/v1/archive', single.text);
    expect(archived.status).toBe(201);
    const { key: storedKey, sha256 } = (await archived.json()) as { key: string; sha256: string };
    const stored = readFileSync(path.join(root, storedKey));
    expect(sha256Hex(stored)).toBe(sha256);
    const document = JSON.parse(gunzipSync(stored).toString('utf8')) as { attachments: { bytes: string }[] };
    document.attachments.forEach((attachment, index) => expect(Buffer.from(attachment.bytes, 'base64').equals(single.files[index]!)).toBe(true));
    expect(document.attachments[0]!.bytes).toBe(JSON.parse(single.text).attachments[0].bytes);

    const batched = bigEmail('big-2', 25 * mebibyte);
    const answer = await post('/v1/messages', `[${batched.text}]`);
    expect(answer.status).toBe(202);
    expect(((await answer.json()) as { accepted: number }).accepted).toBe(1);
    await waitFor(() => storedKeys(root).length === 2, 60_000, 'the batched big email to be stored');
  }, 180_000);

  it('refuse a message over the default limit, naming limits.max_message_bytes', async () => {
    const { post, root } = await startWorker();
    const over = 'x'.repeat(defaultMaxMessageBytes + 1);
    const answer = await post('/v1/archive', over);
    expect(answer.status).toBe(413);
    const body = (await answer.json()) as { error: { code: string; message: string; limit_bytes: number } };
    expect(body.error).toMatchObject({ code: 'message_too_large', limit_bytes: defaultMaxMessageBytes });
    expect(body.error.message).toContain('limits.max_message_bytes');
    expect(storedKeys(root)).toEqual([]);
  }, 120_000);
});
