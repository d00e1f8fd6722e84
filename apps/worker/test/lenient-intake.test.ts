import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createArchiver, messageRecipients, parseJson, parseMessageJson, serializeJson, sha256Hex, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type WorkerConfig } from '../src/index.js';
import { attachmentBytes, realSenderMessages, toJsonText } from './fixtures/real-sender-messages.js';
import { storedKeys, waitFor } from './helpers.js';
import { tempFolders } from './temp-folders.js';

// Issue #15, lenient intake: what real senders send is archived exactly as sent, by the library and
// by the worker's HTTP intake; hostile input beside it is still refused, field by field.
const newFolder = tempFolders('lenient-intake');
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The stored JSON of the object at `key`, decompressed. */
function storedJson(root: string, key: string): string {
  return utf8.decode(gunzipSync(readFileSync(path.join(root, key))));
}

/** What the archive must hold for a message sent as `text`: the deterministic serialization of exactly those values. */
const expectedJson = (text: string): string => utf8.decode(serializeJson(parseJson(text)));

/** Every attachment's bytes, decoded from whichever field holds them. */
function attachmentContents(stored: Record<string, unknown>): Buffer[] {
  const attachments = (stored['attachments'] ?? []) as Record<string, unknown>[];
  return attachments.flatMap((attachment) => {
    const base64 = attachment['bytes'] ?? (attachment['encoding'] === 'base64' ? attachment['content'] : undefined);
    return typeof base64 === 'string' ? [Buffer.from(base64, 'base64')] : [];
  });
}

describe('the library archives what real senders send, exactly as sent', () => {
  it('stores every vendor example and pipeline shape, and each decodes to the bytes sent', async () => {
    const root = newFolder();
    const archiver = createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed', retry: false });
    const messages = realSenderMessages('shop', 'lib');
    for (const [name, message] of Object.entries(messages)) {
      const text = toJsonText(message);
      const result = await archiver.archive(encoder.encode(text));
      expect(result.created, name).toBe(true);
      const stored = storedJson(root, result.key);
      expect(stored, name).toBe(expectedJson(text));
      // Nulls and unknown fields are kept; nothing is dropped or renamed.
      expect(Object.keys(JSON.parse(stored) as object).sort(), name).toEqual(Object.keys(message).sort());
    }
    expect(storedKeys(root)).toHaveLength(Object.keys(messages).length);
  });

  it('decodes every attachment form (MIME-wrapped CRLF and LF, nodemailer content) to the original bytes', async () => {
    const root = newFolder();
    const archiver = createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed', retry: false });
    const { pipelineEmail, brazeEmail } = realSenderMessages('shop', 'bytes');
    for (const message of [pipelineEmail!, brazeEmail!]) {
      const result = await archiver.archive(encoder.encode(toJsonText(message)));
      const contents = attachmentContents(JSON.parse(storedJson(root, result.key)) as Record<string, unknown>);
      for (const content of contents.slice(0, 2)) expect(content.equals(attachmentBytes)).toBe(true);
    }
  });

  it('keys a display-name address by its address part, a numeric id by its text, and exposes every recipient', async () => {
    const root = newFolder();
    const archiver = createArchiver({ destination: createFsDestination({ root }), layout: 'sentcopy-unkeyed', retry: false });
    const { pipelineEmail, rcs } = realSenderMessages('shop', 'keys');
    const email = await archiver.archive(encoder.encode(toJsonText(pipelineEmail)));
    // The sentcopy layout: {project_id}/{sha256(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz
    expect(email.key).toBe(`shop/${sha256Hex(encoder.encode('jane.doe@example.com'))}/email/20240731/987654321.json.gz`);
    const parsed = parseMessageJson(toJsonText(pipelineEmail));
    expect(messageRecipients(parsed)).toEqual(['jane.doe@example.com', 'bob@example.com', 'carol@example.com', 'dan@example.com', 'records@example.com']);
    const custom = await archiver.archive(encoder.encode(toJsonText(rcs)));
    expect(custom.key).toBe(`shop/${sha256Hex(encoder.encode('+1 555 010 0199'))}/rcs/20240731/keys-rcs.json.gz`);
    // The same id as a number and as a string is the same message id: the string copy (other content) lands as a version of the first.
    const again = await archiver.archive({ ...(parseMessageJson(toJsonText(pipelineEmail)) as Message), message_id: '987654321' });
    expect(again.version).toBe(true);
    expect(again.originalKey).toBe(email.key);
  });

  it('reads a file Braze itself wrote (dispatch_id, sent_at in seconds, amp_body and extras null) with the braze profile', async () => {
    const root = newFolder();
    const archiver = createArchiver({ destination: createFsDestination({ root }), profile: 'braze', retry: false });
    const { brazeEmail } = realSenderMessages('shop', 'braze');
    const { message_id: dispatchId, sent_at: sentAt, project_id: _project, channel: _channel, ...rest } = brazeEmail!;
    const brazeFile = { ...rest, dispatch_id: dispatchId, sent_at: (sentAt as number) / 1000 };
    const message = archiver.profile.parse(JSON.parse(JSON.stringify(brazeFile)), { channel: 'email', project_id: 'shop' });
    expect(message['amp_body']).toBeNull();
    expect(message['extras']).toBeNull();
    const result = await archiver.archive(message);
    // Stored as Braze writes it; only the channel and project, which Braze keeps in the path, are added.
    expect(JSON.parse(storedJson(root, result.key))).toEqual({ ...brazeFile, channel: 'email', project_id: 'shop' });
  });
});

describe("the worker's HTTP intake archives what real senders send", () => {
  const key = 'sc_lenient_shop_key_00000000000000000000000000';

  async function startWorker(channels: string[]) {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const config: WorkerConfig = {
      version: 1,
      destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels, api_keys: [{ sha256: hashApiKey(key) }] } },
    };
    writeFileSync(configFile, JSON.stringify(config));
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0 });
    closers.push(() => worker.stop());
    const post = (route: string, body: string) => fetch(`${worker.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
    return { worker, post, root: path.join(folder, 'archive') };
  }

  it('accepts every shape in one batch with hostile messages between them: the good ones stored exactly, each bad one refused naming its field', async () => {
    const { post, root } = await startWorker(['email', 'sms', 'push', 'whatsapp', 'rcs', 'in_app']);
    const good = Object.values(realSenderMessages('shop', 'http'));
    const email = good[0]!;
    const hostile: [Record<string, unknown>, string][] = [
      [{ ...email, message_id: 'h-1', to: 'Jane Doe <not-an-address>' }, 'to'],
      [{ ...email, message_id: 'h-2', to: [] }, 'to'],
      [{ ...email, message_id: 'h-3', to: null }, 'to'],
      [{ ...email, message_id: null }, 'message_id'],
      [{ ...email, message_id: 'h-5', channel: 'E-Mail' }, 'channel'],
      [{ ...email, message_id: 'h-6', headers: { 'X-Bad': { nested: true } } }, 'headers.X-Bad'],
      [{ ...email, message_id: 'h-7', attachments: [{ file_name: 'a.pdf', bytes: 'QUJD\r\nQ' }] }, 'attachments[0].bytes'],
      [{ ...email, message_id: 'h-8', sent_at: 1722443282 }, 'sent_at'],
      [{ ...email, message_id: 'h-9', channel: 'voice', to: '+15555555555' }, 'channel'],
    ];
    const batch = [...good.slice(0, 4), ...hostile.map(([message]) => message), ...good.slice(4)];
    const answer = await post('/v1/messages', `[${batch.map((message) => toJsonText(message)).join(',')}]`);
    expect(answer.status).toBe(202);
    const body = (await answer.json()) as { accepted: number; rejected: number; results: { index: number; status: string; errors?: { field: string }[] }[] };
    expect(body.accepted).toBe(good.length);
    expect(body.rejected).toBe(hostile.length);
    hostile.forEach(([, field], position) => {
      const result = body.results[4 + position]!;
      expect(result.status).toBe('rejected');
      expect(
        result.errors?.map((error) => error.field),
        field,
      ).toContain(field);
    });
    await waitFor(() => storedKeys(root).length === good.length, 30_000, 'every good message to be stored');
    const storedTexts = new Set(storedKeys(root).map((stored) => storedJson(root, stored)));
    for (const message of good) expect(storedTexts.has(expectedJson(toJsonText(message))), String(message['message_id'])).toBe(true);
  }, 60_000);

  it('archives a display-name email with several recipients through POST /v1/archive and answers its key', async () => {
    const { post, root } = await startWorker(['email']);
    const { pipelineEmail } = realSenderMessages('shop', 'gate');
    const text = toJsonText(pipelineEmail);
    const answer = await post('/v1/archive', text);
    expect(answer.status).toBe(201);
    const { key: stored } = (await answer.json()) as { key: string };
    expect(stored).toContain(sha256Hex(encoder.encode('jane.doe@example.com')));
    expect(storedJson(root, stored)).toBe(expectedJson(text));
  }, 60_000);
});
