import { createArchiver, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createProcessor, type DeadLetter, type QueueMessageInput } from '../src/index.js';
import { expectFolderHoldsExactly, queued, waitForEmptyQueue } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('hostile');
const project = 'acme';

interface Hostile {
  readonly input: QueueMessageInput;
  /** The field the rejection must name (`''`: the message as a whole). */
  readonly path: string;
}

const samples = sampleMessages({ projectId: project, count: 8 });
const byChannel = (channel: string, nth = 0) => samples.filter((message) => message.channel === channel)[nth]!;
const [email, sms, push, whatsapp] = [byChannel('email'), byChannel('sms'), byChannel('push'), byChannel('whatsapp')];
const receipt = samples.find((message) => message.channel === 'email' && 'attachments' in message)!;

/** Builds hostile message number `index`: every kind of bad input, each naming the field it breaks. */
function hostile(index: number): Hostile {
  const messageId = `hostile-${index}`;
  const entry = (value: unknown, path: string): Hostile => ({ input: { project, messageId, payload: JSON.stringify(value) }, path });
  const raw = (payload: string | Uint8Array, path: string): Hostile => ({ input: { project, messageId, payload }, path });
  const base = { message_id: messageId };
  const cases: (() => Hostile)[] = [
    () => raw('{"version":1,"channel":"sms",', ''),
    () => raw(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), ''),
    () => raw('', ''),
    () => entry(null, ''),
    () => entry([sms], ''),
    () => entry(42, ''),
    () => entry('a string', ''),
    () => entry((({ to: _to, ...rest }) => ({ ...rest, ...base }))(sms), 'to'),
    () => entry({ ...sms, ...base, to: 42 }, 'to'),
    () => entry({ ...email, ...base, to: 'not-an-email' }, 'to'),
    () => entry({ ...sms, ...base, sent_at: 'yesterday' }, 'sent_at'),
    () => entry({ ...sms, ...base, sent_at: -5 }, 'sent_at'),
    () => entry({ ...sms, ...base, channel: 'FAX' }, 'channel'),
    () => entry({ ...sms, ...base, version: 2 }, 'version'),
    () =>
      raw(
        JSON.stringify({ ...sms, ...base })
          .replace('"extras":', '"x":')
          .replace(/}$/, `,"extras":${'{"a":'.repeat(500)}1${'}'.repeat(500)}}`),
        'extras',
      ),
    () => entry({ ...receipt, ...base, attachments: [{ file_name: 'r.pdf', content_type: 'application/pdf', bytes: '***not base64***' }] }, 'attachments[0].bytes'),
    () => entry({ ...sms, message_id: 'x'.repeat(600) }, 'message_id'),
    () => raw(JSON.stringify({ ...email, ...base }).replace('"subject":"', '"subject":"\\ud800'), 'subject'),
    () => entry({ ...email, ...base, cc: ['someone@example.com', 42] }, 'cc[1]'),
    () => entry({ ...push, ...base, payload: 'not an object' }, 'payload'),
    () => entry({ ...whatsapp, ...base, template_params: 'x' }, 'template_params'),
    () => entry({ ...email, ...base, from_address: 'nope' }, 'from_address'),
    () => entry({ ...sms, ...base, project_id: 'someone-else' }, 'project_id'),
    () => entry({ ...sms, message_id: `not-${messageId}` }, 'message_id'),
  ];
  return cases[index % cases.length]!();
}

/** Valid but hostile-looking messages: they must be stored, safely inside the archive folder. */
function hostileButValid(index: number): Message {
  const variants: Record<string, unknown>[] = [
    { campaign_id: '../../../../etc/passwd' },
    { campaign_id: 'a\u0000b\nc/../..' },
    { extras: JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}') as Record<string, unknown> },
    { body: '\u202e\u0000'.repeat(1000) },
  ];
  return { ...sms, message_id: `odd-${index}`, ...variants[index % variants.length] } as Message;
}

describe('hostile input', () => {
  it('rejects 1,000 malformed messages interleaved with valid ones: no crash, each rejection names the field, every valid one stored', async () => {
    const root = newFolder();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false, layout: '{project_id}/{campaign_id|unassociated}/{message_id}.json.gz' });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const valid: Message[] = [...sampleMessages({ projectId: project, count: 200, seed: 3 }), ...Array.from({ length: 12 }, (_, index) => hostileButValid(index))];
    const bad = Array.from({ length: 1_000 }, (_, index) => hostile(index));
    const inputs: QueueMessageInput[] = [];
    for (let index = 0, next = 0; index < bad.length; index++) {
      inputs.push(bad[index]!.input);
      if (index % 5 === 4 && next < valid.length) inputs.push(queued(valid[next++]!));
    }
    inputs.push(...valid.slice(200).map((message) => queued(message)));
    expect(inputs).toHaveLength(1_212);
    for (let start = 0; start < inputs.length; start += 100) await queue.enqueue(inputs.slice(start, start + 100));

    const processor = createProcessor({ queue, archiverFor: () => archiver, idleWaitMs: 50 });
    processor.start();
    await waitForEmptyQueue(queue, 30_000);
    expect(processor.running).toBe(true);
    await processor.stop();

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectFolderHoldsExactly(root, archiver, valid);

    const deadLetters: DeadLetter[] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.listDeadLetters({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      deadLetters.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(deadLetters).toHaveLength(1_000);
    const expectedPath = new Map(bad.map((entry) => [entry.input.messageId, entry.path]));
    for (const deadLetter of deadLetters) {
      const path = expectedPath.get(deadLetter.messageId);
      expect(deadLetter.kind).toBe('invalid');
      expect(deadLetter.attempts).toBe(0);
      const named = deadLetter.issues.some((issue) => (path === '' ? issue.path === '' : issue.path === path || issue.path.startsWith(`${path}.`)));
      if (!named) expect({ messageId: deadLetter.messageId, issues: deadLetter.issues }).toEqual({ messageId: deadLetter.messageId, issues: [{ path }] });
      expect(deadLetter.reason).toMatch(/^Invalid message: /);
      for (const issue of deadLetter.issues) {
        expect(issue.problem).not.toMatch(/not-an-email|yesterday|not base64|fax|someone-else|someone@example/i);
      }
    }
    expect(await queue.stats()).toMatchObject({ depth: 0, inFlight: 0, deadLetters: 1_000 });
    await queue.close();
  }, 60_000);
});
