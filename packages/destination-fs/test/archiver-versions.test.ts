import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArchiveError, archiveMetadataKeys, createArchiver, parseVersionKey, sampleMessages, serializeJson, type ProfileName } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';

// Same message id, different content: both were sent, so both are kept — the first untouched, the
// second next to it under a version key. Through the real local-folder destination.
const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));
function newRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sentcopy-versions-'));
  roots.push(root);
  return root;
}
const fileOf = (root: string, key: string) => path.join(root, ...key.split('/'));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
// The sentcopy layout keys recipients with this secret; the vendor presets ignore it.
const recipientKey = 'sentcopy-test-recipient-key';
const sms = sampleMessages({ projectId: 'acme', count: 8 }).find((message) => message.channel === 'sms')!;
const edited = (text: string) => ({ ...sms, body: `${String(sms.body)} (${text})` });

describe('createArchiver with the fs destination: a different message under an existing key', () => {
  it.each(['sentcopy', 'braze', 'clevertap', 'iterable'] as ProfileName[])('is stored as a version next to the first with the %s profile; a repeat is idempotent, a third gets its own key', async (profile) => {
    const root = newRoot();
    const archiver = createArchiver({ destination: createFsDestination({ root }), profile, recipientKey });
    const first = await archiver.archive(sms);
    const firstBytes = readFileSync(fileOf(root, first.key));

    const second = await archiver.archive(edited('second'));
    const prepared = await archiver.prepare(edited('second'));
    expect(second).toMatchObject({ created: true, version: true, originalKey: first.key, attempts: 1 });
    expect(second.key).not.toBe(first.key);
    expect(parseVersionKey(second.key)).toEqual({ originalKey: first.key, versionId: prepared.contentSha256.slice(0, 16) });
    expect(second.key.endsWith(`.json${archiver.codec.extension}`)).toBe(true);
    // The first copy's bytes are untouched; the second decodes to exactly its own rendered JSON.
    expect(readFileSync(fileOf(root, first.key)).equals(firstBytes)).toBe(true);
    const secondBytes = readFileSync(fileOf(root, second.key));
    expect(sha256(secondBytes)).toBe(second.sha256);
    expect(Buffer.from(await archiver.codec.decode(secondBytes)).equals(Buffer.from(serializeJson(archiver.profile.render(prepared.message))))).toBe(true);
    expect((await archiver.destination.head(second.key))?.metadata[archiveMetadataKeys.contentSha256]).toBe(prepared.contentSha256);

    // Replaying either copy stores nothing new.
    expect(await archiver.archive(edited('second'))).toEqual({ ...second, created: false });
    expect(await archiver.archive(sms)).toEqual({ ...first, created: false });
    const third = await archiver.archive(edited('third'));
    expect(third).toMatchObject({ created: true, version: true, originalKey: first.key });
    expect(new Set([first.key, second.key, third.key]).size).toBe(3);
    expect(readdirSync(path.dirname(fileOf(root, first.key))).sort()).toEqual([first.key, second.key, third.key].map((key) => path.basename(key)).sort());
    expect(first.version).toBe(false);
  });

  it('keeps a hash-prefix collision on the version key a conflict, and "fail" keeps the old strict conflict', async () => {
    const root = newRoot();
    const destination = createFsDestination({ root });
    const archiver = createArchiver({ destination, recipientKey });
    const first = await archiver.archive(sms);
    const prepared = await archiver.prepare(edited('second'));
    const versionKey = `${first.key.slice(0, -'.json.gz'.length)}~v-${prepared.contentSha256.slice(0, 16)}.json.gz`;
    // Something else already sits at the version key: nothing may be overwritten.
    const squatter = await archiver.prepare(edited('squatter'));
    await destination.put({ ...squatter, key: versionKey });
    const error = await archiver.write(prepared).catch((caught: unknown) => caught);
    expect(ArchiveError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'conflict' });
    expect(sha256(readFileSync(fileOf(root, versionKey)))).toBe(squatter.sha256);

    const strict = createArchiver({ destination, recipientKey, onConflict: 'fail' });
    const refused = await strict.archive(edited('strict')).catch((caught: unknown) => caught);
    expect(refused).toMatchObject({ kind: 'conflict', key: first.key });
    expect(readdirSync(path.dirname(fileOf(root, first.key)))).toHaveLength(2);
    expect(() => createArchiver({ destination, recipientKey, onConflict: 'overwrite' as never })).toThrow(/onConflict/);
  });
});
