// Raw MIME at the intake: message/rfc822 bodies and emails that carry only raw_mime, through a real worker into a local folder.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey, runWorker, type RunningWorker } from '../src/index.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('intake-raw-mime');
const apiKey = 'sc_raw_mime_key_00000000000000000000000000000';
let worker: RunningWorker;
let root: string;

beforeAll(async () => {
  const folder = newFolder();
  root = path.join(folder, 'archive');
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email', 'sms'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    }),
  );
  worker = await runWorker({ configFile, port: 0, prepareThreads: 0, logger: () => {} });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
});

/** An email with CRLF line ends and an 8-bit ISO-8859-1 body: bytes that are not UTF-8. */
function rawEmail(id: string, headers: Record<string, string> = {}): Buffer {
  const head = {
    From: 'shop@example.com',
    To: `"Ana" <ana.${id}@example.net>`,
    Subject: 'Receipt',
    Date: 'Fri, 04 Dec 2026 21:29:40 +0000',
    'Message-ID': `<${id}@mail.example.com>`,
    'Content-Type': 'text/plain; charset=iso-8859-1',
    ...headers,
  };
  const lines = Object.entries(head)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\nMerci, caf`, 'latin1'), Buffer.from([0xe9]), Buffer.from('\r\n')]);
}

/** Every stored document, read from the folder's files (the back door), by message id. */
function storedById(): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.sentcopy') walk(file);
      } else if (entry.name.endsWith('.json.gz')) {
        const document = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, unknown>;
        found.set(String(document['message_id']), document);
      }
    }
  };
  try {
    walk(root);
  } catch {
    // Not created yet.
  }
  return found;
}

async function storedDocument(id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const document = storedById().get(id);
    if (document !== undefined) return document;
    if (Date.now() > deadline) throw new Error(`${id} was not stored within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const post = (route: string, body: string | Buffer, contentType: string) => fetch(`${worker.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType }, body });

describe('intake: raw MIME', () => {
  it('POST /v1/messages with a message/rfc822 body queues one email whose stored raw_mime is the identical bytes, keyed by its headers', async () => {
    const bytes = rawEmail('rfc822-batch');
    const response = await post('/v1/messages', bytes, 'message/rfc822');
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, duplicates: 0, rejected: 0, results: [{ index: 0, message_id: 'rfc822-batch@mail.example.com', status: 'accepted' }] });
    const document = await storedDocument('rfc822-batch@mail.example.com');
    expect(Buffer.from(document['raw_mime'] as string, 'base64').equals(bytes)).toBe(true);
    expect(document).toMatchObject({ channel: 'email', project_id: 'shop', to: 'ana.rfc822-batch@example.net', sent_at: Date.UTC(2026, 11, 4, 21, 29, 40), derived_from_raw_mime: ['to', 'sent_at', 'message_id'] });
  });

  it('POST /v1/archive with a message/rfc822 body stores it before answering; message_id and sent_at from the query win over the headers', async () => {
    const bytes = rawEmail('rfc822-gate');
    const response = await post('/v1/archive?message_id=order-77&sent_at=1764883780123', bytes, 'message/rfc822; charset=binary');
    expect(response.status).toBe(201);
    const answer = (await response.json()) as { key: string; created: boolean };
    expect(answer.created).toBe(true);
    expect(answer.key).toMatch(/\/order-77\.json\.gz$/);
    const document = storedById().get('order-77');
    expect(document).toMatchObject({ message_id: 'order-77', sent_at: 1_764_883_780_123, to: 'ana.rfc822-gate@example.net', derived_from_raw_mime: ['to'] });
    expect(Buffer.from(document!['raw_mime'] as string, 'base64').equals(bytes)).toBe(true);
  });

  it('a JSON batch: an email given only as raw_mime is accepted, one whose headers lack the fields is refused naming them, and the good message beside it is kept', async () => {
    const good = rawEmail('json-raw');
    const bare = rawEmail('json-bare', { To: '', Date: '', 'Message-ID': '' });
    const sms = { version: 1, channel: 'sms', message_id: 'sms-beside-raw', project_id: 'shop', sent_at: 1_764_883_780_000, to: '+15550100000', body: 'hi' };
    const response = await post(
      '/v1/messages',
      JSON.stringify([{ version: 1, channel: 'email', project_id: 'shop', raw_mime: good.toString('base64') }, { version: 1, channel: 'email', project_id: 'shop', raw_mime: bare.toString('base64') }, sms]),
      'application/json',
    );
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { results: { status: string; message_id?: string; errors?: { field: string; problem: string }[] }[] };
    expect(answer.results.map((result) => result.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(answer.results[0]!.message_id).toBe('json-raw@mail.example.com');
    expect(answer.results[1]!.errors!.map((error) => error.field)).toEqual(['to', 'sent_at', 'message_id']);
    expect(answer.results[1]!.errors![0]!.problem).toMatch(/raw_mime has no To, Cc or Bcc address/);
    expect(Buffer.from((await storedDocument('json-raw@mail.example.com'))['raw_mime'] as string, 'base64').equals(good)).toBe(true);
    await storedDocument('sms-beside-raw');
  });

  it('one check for intake and storage: a raw-MIME email keyed by its Cc or Bcc is accepted and stored under it; one without a usable recipient anywhere is refused naming to, and the good ones beside it are kept', async () => {
    const byCc = rawEmail('by-cc', { To: 'undisclosed-recipients:;', Cc: 'Bo <bo.by-cc@example.net>' });
    const byBcc = rawEmail('by-bcc', { To: '', Bcc: 'cy.by-bcc@example.net' });
    const nobody = rawEmail('nobody', { To: 'undisclosed-recipients:;', Cc: 'not an address' });
    const asJson = (bytes: Buffer) => ({ version: 1, channel: 'email', project_id: 'shop', raw_mime: bytes.toString('base64') });
    const response = await post('/v1/messages', JSON.stringify([asJson(byCc), asJson(nobody), asJson(byBcc)]), 'application/json');
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { accepted: number; rejected: number; results: { status: string; message_id?: string; errors?: { field: string; problem: string }[] }[] };
    expect(answer.results.map((result) => [result.status, result.message_id])).toEqual([
      ['accepted', 'by-cc@mail.example.com'],
      ['rejected', undefined],
      ['accepted', 'by-bcc@mail.example.com'],
    ]);
    expect(answer.results[1]!.errors).toEqual([{ field: 'to', problem: 'is required: raw_mime has no To, Cc or Bcc address to read it from (send to with the message)' }]);
    const [ccDocument, bccDocument] = [await storedDocument('by-cc@mail.example.com'), await storedDocument('by-bcc@mail.example.com')];
    expect(ccDocument).toMatchObject({ to: 'bo.by-cc@example.net', derived_from_raw_mime: ['to', 'sent_at', 'message_id'] });
    expect(bccDocument).toMatchObject({ to: 'cy.by-bcc@example.net', derived_from_raw_mime: ['to', 'sent_at', 'message_id'] });
    expect(Buffer.from(ccDocument['raw_mime'] as string, 'base64').equals(byCc)).toBe(true);
    expect(storedById().has('nobody@mail.example.com')).toBe(false);
    // The same email as a message/rfc822 body is refused the same way, with 422 and the field.
    const alone = await post('/v1/messages', nobody, 'message/rfc822');
    expect(alone.status).toBe(422);
    expect(((await alone.json()) as { results: { errors: unknown }[] }).results[0]!.errors).toEqual(answer.results[1]!.errors);
  });

  it('refuses a query parameter it cannot use, naming it, and an empty body', async () => {
    const bad = await post('/v1/messages?sent_at=yesterday', rawEmail('bad-query'), 'message/rfc822');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'bad_request', message: 'The query parameter sent_at must be epoch milliseconds (digits only).', parameter: 'sent_at' } });
    const empty = await post('/v1/archive', Buffer.alloc(0), 'message/rfc822');
    expect(empty.status).toBe(400);
    const other = await post('/v1/messages', 'hello', 'text/plain');
    expect(other.status).toBe(415);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(/message\/rfc822/);
  });
});
