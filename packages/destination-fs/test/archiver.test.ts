import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ArchiveError, archiveMetadataKeys, createArchiver, getCodec, MessageValidationError, profiles, sampleMessages, serializeJson, type ProfileName } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';

// createArchiver() end to end through the real local-folder destination.
const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
function newRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sentcopy-archiver-'));
  roots.push(root);
  return root;
}
const fileOf = (root: string, key: string) => path.join(root, ...key.split('/'));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const messages = sampleMessages({ projectId: 'acme', count: 8 });

describe('createArchiver with the fs destination', () => {
  it.each(Object.keys(profiles) as ProfileName[])('stores every channel with the %s profile: exact bytes, recorded SHA-256, lossless', async (name) => {
    const root = newRoot();
    const destination = createFsDestination({ root });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, profile: name });
    for (const message of messages) {
      const result = await archiver.archive(message);
      expect(result).toMatchObject({ created: true, attempts: 1 });
      const stored = readFileSync(fileOf(root, result.key));
      expect(stored.length).toBe(result.size);
      expect(sha256(stored)).toBe(result.sha256);
      const json = await archiver.codec.decode(stored);
      expect(Buffer.from(json).equals(Buffer.from(serializeJson(profiles[name].render(message))))).toBe(true);
      expect(profiles[name].parse(JSON.parse(Buffer.from(json).toString('utf8')))).toEqual(message);
      const head = await destination.head(result.key);
      expect(head?.sha256).toBe(result.sha256);
      expect(head?.metadata[archiveMetadataKeys.contentSha256]).toBe(sha256(json));
      expect(head?.contentType).toBe(archiver.codec.contentType);
    }
  });

  it('stores the same bytes when many archive() calls run at once', async () => {
    const root = newRoot();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }) });
    const many = sampleMessages({ projectId: 'acme', count: 60 });
    const results = await Promise.all(many.map((message) => archiver.archive(message)));
    for (const [index, result] of results.entries()) {
      const alone = await archiver.prepare(many[index]);
      expect(result.key).toBe(alone.key);
      expect(sha256(readFileSync(fileOf(root, result.key)))).toBe(alone.sha256);
    }
  });

  it('stores a repeated message once and, with onConflict "fail", refuses different content under the same key', async () => {
    const root = newRoot();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }), onConflict: 'fail' });
    const message = messages.find((candidate) => candidate.channel === 'sms')!;
    const first = await archiver.archive(message);
    const second = await archiver.archive(structuredClone(message));
    expect(second).toEqual({ ...first, created: false });

    const error = await archiver.archive({ ...message, body: `${String(message.body)} (edited)` }).catch((caught: unknown) => caught);
    expect(ArchiveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'conflict', attempts: 1, key: first.key });
    expect(sha256(readFileSync(fileOf(root, first.key)))).toBe(first.sha256);
    expect(readdirSync(path.dirname(fileOf(root, first.key)))).toEqual([path.basename(first.key)]);
  });

  it('treats a copy of the same JSON compressed differently as already stored', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root });
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination });
    const prepared = await archiver.prepare(messages[0]);
    const otherBytes = gzipSync(serializeJson(profiles.sentcopy.render(prepared.message)), { level: 1 });
    expect(sha256(otherBytes)).not.toBe(prepared.sha256);
    await destination.put({ ...prepared, body: otherBytes, sha256: sha256(otherBytes) });
    const result = await archiver.archive(messages[0]);
    expect(result).toMatchObject({ created: false, sha256: sha256(otherBytes), size: otherBytes.length });
  });

  it('rejects an invalid message naming the field, and writes nothing', async () => {
    const root = newRoot();
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root }) });
    const error = await archiver.archive({ ...messages[0], to: 42, sent_at: 'yesterday' }).catch((caught: unknown) => caught);
    expect(MessageValidationError.isInstance(error)).toBe(true);
    const paths = (error as MessageValidationError).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['to', 'sent_at']));
    expect(readdirSync(root).filter((entry) => entry !== '.sentcopy')).toEqual([]);
  });

  it('reports a failing destination as "failed to archive" with the kind', async () => {
    const parent = newRoot();
    writeFileSync(path.join(parent, 'not-a-folder'), 'x');
    const archiver = createArchiver({
      recipientKey: 'sentcopy-test-recipient-key',
      destination: createFsDestination({ root: path.join(parent, 'not-a-folder', 'archive') }),
      retry: { sleep: async () => {}, random: () => 0 },
    });
    const error = await archiver.archive(messages[0]).catch((caught: unknown) => caught);
    expect(ArchiveError.isInstance(error)).toBe(true);
    expect((error as ArchiveError).message).toMatch(/^Failed to archive /);
    expect(['invalid', 'unreachable', 'unknown']).toContain((error as ArchiveError).kind);
  });

  it('refuses a layout whose extension contradicts the codec', () => {
    const destination = createFsDestination({ root: newRoot() });
    expect(() => createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, profile: 'braze', codec: 'lz4' })).toThrow(/ends with "\.json\.gz" but the codec is "lz4"/);
    expect(createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, codec: getCodec('none'), layout: '{project_id}/{message_id}.json' }).codec.name).toBe('none');
  });
});
