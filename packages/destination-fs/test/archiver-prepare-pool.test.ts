import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createPreparePool, getProfile, MessageValidationError, profiles, sampleMessages, type ProfileName } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';

// createArchiver() with a prepare pool: the same objects as preparing on the calling thread, end to end.
const roots: string[] = [];
const pool = createPreparePool({ threads: 2 });
afterAll(async () => {
  await pool.close();
  roots.forEach((root) => rmSync(root, { recursive: true, force: true }));
});
function newRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sentcopy-pool-'));
  roots.push(root);
  return root;
}
const fileOf = (root: string, key: string) => path.join(root, ...key.split('/'));
const messages = sampleMessages({ projectId: 'acme', count: 40 });

describe('createArchiver with a prepare pool', () => {
  it.each(Object.keys(profiles) as ProfileName[])('stores byte-identical objects under the same keys as in-thread preparation (%s profile)', async (name) => {
    const [here, pooled] = [newRoot(), newRoot()];
    const local = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: here }), profile: name, retry: false });
    const threaded = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: pooled }), profile: name, retry: false, preparePool: pool });
    // All at once, so the batches spread over both threads.
    const results = await Promise.all(messages.map((message) => threaded.archive(message)));
    for (const [index, message] of messages.entries()) {
      const expected = await local.archive(message);
      expect(results[index]).toEqual(expected);
      expect(readFileSync(fileOf(pooled, expected.key)).equals(readFileSync(fileOf(here, expected.key)))).toBe(true);
    }
    const prepared = await threaded.prepare(messages[0]);
    expect(prepared.message).toEqual(await local.prepare(messages[0]).then((object) => object.message));
  });

  it('rejects invalid messages with the same field issues as in-thread preparation, and keeps going', async () => {
    const root = newRoot();
    const local = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newRoot() }), retry: false });
    const threaded = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), retry: false, preparePool: pool });
    const broken = [
      { ...messages[0], to: 42 },
      { version: 1, channel: 'fax' },
      { ...messages[1], sent_at: 'yesterday' },
      { ...messages[2], callback: () => 1 },
    ];
    for (const input of broken) {
      const expected = await local.prepare(input).catch((error: unknown) => error);
      const error = await threaded.prepare(input).catch((caught: unknown) => caught);
      expect(MessageValidationError.isInstance(error)).toBe(true);
      expect((error as MessageValidationError).issues).toEqual((expected as MessageValidationError).issues);
    }
    const stored = await threaded.archive(messages[3]);
    expect(readFileSync(fileOf(root, stored.key)).length).toBe(stored.size);
  });

  it('takes a message as its JSON text in UTF-8 bytes, on the pool and in-thread alike, and names undecodable input', async () => {
    const local = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newRoot() }), retry: false });
    const threaded = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newRoot() }), retry: false, preparePool: pool });
    for (const message of messages.slice(0, 8)) {
      const bytes = new TextEncoder().encode(JSON.stringify(message));
      const expected = await local.prepare(message);
      for (const archiver of [local, threaded]) {
        const prepared = await archiver.prepare(bytes);
        expect({ key: prepared.key, sha256: prepared.sha256, messageId: prepared.messageId, projectId: prepared.projectId, channel: prepared.channel }).toEqual({
          key: expected.key,
          sha256: expected.sha256,
          messageId: message.message_id,
          projectId: 'acme',
          channel: message.channel,
        });
        expect(prepared.message).toEqual(expected.message);
      }
      // The caller's bytes are copied, not taken: still readable after the pool used them.
      expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual(message);
    }
    for (const [input, problem] of [
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'must be UTF-8 text (the payload holds bytes that are not valid UTF-8)'],
      [new TextEncoder().encode('{"version":1,'), 'must be a JSON document (the payload could not be parsed as JSON)'],
    ] as const) {
      for (const archiver of [local, threaded]) {
        const error = await archiver.prepare(input).catch((caught: unknown) => caught);
        expect((error as MessageValidationError).issues).toEqual([{ path: '', problem }]);
      }
    }
  });

  it('refuses a custom profile, which cannot be sent to a thread', () => {
    const custom = { ...getProfile('sentcopy'), name: 'mine' as ProfileName };
    expect(() => createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newRoot() }), profile: custom, preparePool: pool })).toThrow(/built-in profile/);
  });

  it('rejects work after close() with a clear error', async () => {
    const closing = createPreparePool({ threads: 1 });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newRoot() }), retry: false, preparePool: closing });
    await archiver.prepare(messages[0]);
    await closing.close();
    await expect(archiver.prepare(messages[1])).rejects.toThrow(/prepare pool was closed/);
  });

  it('does not keep an idle process alive when the pool is never closed', () => {
    const script = `
      import { createArchiver, createPreparePool, sampleMessages } from ${JSON.stringify(new URL('../../core/dist/index.js', import.meta.url).href)};
      import { createFsDestination } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: ${JSON.stringify(newRoot())} }), preparePool: createPreparePool({ threads: 3 }) });
      for (const message of sampleMessages({ projectId: 'p', count: 5 })) await archiver.archive(message);
      console.log('archived');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('archived');
    expect(child.status).toBe(0);
  });
});
