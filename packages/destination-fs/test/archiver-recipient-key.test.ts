import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createArchiver, createPreparePool, RecipientKeyError } from '@sentcopy/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsDestination } from '../src/index.js';

// createArchiver() and sentcopy's keyed default layout, end to end through the local-folder destination.
const roots: string[] = [];
// One thread, so both archivers' messages meet in it.
const pool = createPreparePool({ threads: 1 });
afterAll(async () => {
  await pool.close();
  roots.forEach((root) => rmSync(root, { recursive: true, force: true }));
});
function newRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sentcopy-recipient-key-'));
  roots.push(root);
  return root;
}
const files = (root: string) =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !path.relative(root, entry.parentPath).startsWith('.sentcopy'))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));

const secret = 'library-user-secret-from-the-environment';
const e164 = '+15550100107';
const hmac = (key: string) => createHmac('sha256', key).update(e164, 'utf8').digest('hex');
const plain = createHash('sha256').update(e164).digest('hex');
const sms = (id: string) => ({ version: 1, channel: 'sms', message_id: id, project_id: 'shop', sent_at: Date.parse('2026-03-01T10:00:00Z'), to: '+1 (555) 010-0107', body: 'Your code is 123456' });

describe('createArchiver and the recipient key', () => {
  it('refuses the default layout without recipientKey, naming the option and the unkeyed alternative', () => {
    let caught: unknown;
    try {
      createArchiver({ destination: createFsDestination({ root: newRoot() }) });
    } catch (error) {
      caught = error;
    }
    expect(RecipientKeyError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toContain('pass the recipientKey option');
    expect((caught as Error).message).toContain('"sentcopy-unkeyed"');
  });

  it('stores under HMAC(secret, E.164) with the default layout, and under the plain SHA-256 only when asked for sentcopy-unkeyed', async () => {
    const keyedRoot = newRoot();
    const keyed = await createArchiver({ destination: createFsDestination({ root: keyedRoot }), recipientKey: secret }).archive(sms('k1'));
    expect(keyed.key).toBe(`shop/${hmac(secret)}/sms/20260301/k1.json.gz`);
    expect(files(keyedRoot)).toEqual([keyed.key]);
    expect(files(keyedRoot).join('\n')).not.toContain(plain);

    const unkeyedRoot = newRoot();
    const unkeyed = await createArchiver({ destination: createFsDestination({ root: unkeyedRoot }), layout: 'sentcopy-unkeyed' }).archive(sms('u1'));
    expect(unkeyed.key).toBe(`shop/${plain}/sms/20260301/u1.json.gz`);
    expect(files(unkeyedRoot)).toEqual([unkeyed.key]);
  });

  it("carries each archiver's own secret to the prepare pool's threads", async () => {
    const other = 'a-second-deployment-secret-0000';
    const [first, second] = [newRoot(), newRoot()];
    const one = createArchiver({ destination: createFsDestination({ root: first }), recipientKey: secret, preparePool: pool, retry: false });
    const two = createArchiver({ destination: createFsDestination({ root: second }), recipientKey: other, preparePool: pool, retry: false });
    const results = await Promise.all([one.archive(sms('p1')), two.archive(sms('p2')), one.archive(sms('p3')), two.archive(sms('p4'))]);
    expect(results.map((result) => result.key)).toEqual([
      `shop/${hmac(secret)}/sms/20260301/p1.json.gz`,
      `shop/${hmac(other)}/sms/20260301/p2.json.gz`,
      `shop/${hmac(secret)}/sms/20260301/p3.json.gz`,
      `shop/${hmac(other)}/sms/20260301/p4.json.gz`,
    ]);
    expect(files(first).sort()).toEqual([results[0]!.key, results[2]!.key].sort());
    expect(files(second).sort()).toEqual([results[1]!.key, results[3]!.key].sort());
  });
});
