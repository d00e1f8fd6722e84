import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createArchiver, resolveRetryPolicy, sampleMessages, type Archiver, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createJsonLineLogger, createProcessor, type DeadLetter, type LogEntry } from '../src/index.js';
import { queued, seededRandom } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup, wrongCredentials, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('leak');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

const hour = 3_600_000;

/** Every recipient a message names (to, cc, bcc), as given and lower-cased. */
function recipientsOf(messages: readonly Message[]): string[] {
  const found = new Set<string>();
  for (const message of messages) {
    const record = message as unknown as Record<string, unknown>;
    for (const value of [record.to, record.cc, record.bcc].flat()) {
      if (typeof value === 'string' && value !== '') {
        found.add(value);
        found.add(value.toLowerCase());
      }
    }
  }
  return [...found];
}

describe('no raw recipient or secret leaks', () => {
  it('into the logs or the dead-letter records, whatever goes wrong', async () => {
    const work = newFolder();
    const logFile = path.join(work, 'worker.log');
    writeFileSync(logFile, '');
    let clock = Date.UTC(2025, 2, 14, 10, 0, 0);
    const now = () => clock;
    const logger = createJsonLineLogger((line) => appendFileSync(logFile, line), { level: 'debug', now });
    const seen: LogEntry[] = [];
    const queue = await createEmbeddedQueue({ directory: path.join(work, 'queue'), now });

    const locked = createS3Destination(s3.settings({ credentials: wrongCredentials }));
    const archivers: Record<string, Archiver> = {
      good: createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: path.join(work, 'archive') }), retry: false }),
      locked: createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: locked, retry: false }),
    };
    const messagesFor = (project: string, seed: number) => sampleMessages({ projectId: project, count: 16, seed });
    const good = messagesFor('good', 1);
    const refused = messagesFor('locked', 2);
    const unroutable = messagesFor('nowhere', 3);
    const invalid = messagesFor('good', 4).map((message, index) => {
      const record = { ...message, message_id: `bad-${index}` } as Record<string, unknown>;
      if (index % 4 === 0) record.cc = [String(message.to), 42];
      else if (index % 4 === 1) record.to = { address: message.to };
      else if (index % 4 === 2) record.sent_at = `${String(message.to)} yesterday`;
      else record.channel = `fax:${String(message.to)}`;
      return record;
    });
    await queue.enqueue([...good, ...refused, ...unroutable, ...invalid].map((message) => queued(message)));

    const processor = createProcessor({
      queue,
      archiverFor: (project) => archivers[project],
      now,
      random: seededRandom(9),
      retryPolicy: resolveRetryPolicy({ outage: { maxAgeMs: 24 * hour } }),
      logger: (entry) => {
        seen.push(entry);
        logger(entry);
      },
    });
    while ((await queue.stats()).depth > 0) {
      await processor.processAvailable();
      clock += hour / 4;
    }

    const deadLetters: DeadLetter[] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.listDeadLetters({ ...(cursor === undefined ? {} : { cursor }) });
      deadLetters.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    const exportFile = path.join(work, 'dead-letters.json');
    writeFileSync(exportFile, JSON.stringify(deadLetters, null, 2));

    // The search below only means something if every path that writes was taken.
    expect(new Set(seen.map((entry) => entry.event))).toEqual(new Set(['message.archived', 'message.retry_scheduled', 'message.dead_lettered', 'destination.unhealthy']));
    expect(new Set(deadLetters.map((deadLetter) => deadLetter.kind))).toEqual(new Set(['unauthorized', 'no_destination', 'invalid']));
    expect(deadLetters).toHaveLength(refused.length + unroutable.length + invalid.length);

    const recipients = recipientsOf([...good, ...refused, ...unroutable]);
    expect(recipients.length).toBeGreaterThan(10);
    const secrets = [wrongCredentials.secretAccessKey, goodCredentials.secretAccessKey, goodCredentials.accessKeyId];
    for (const file of [logFile, exportFile]) {
      const text = readFileSync(file, 'utf8');
      expect(text.length).toBeGreaterThan(1_000);
      const leaked = [...recipients, ...secrets].filter((needle) => text.includes(needle) || text.toLowerCase().includes(needle.toLowerCase()));
      expect(leaked, `found in ${path.basename(file)}`).toEqual([]);
    }
    await queue.close();
    await locked.close?.();
  }, 60_000);
});
