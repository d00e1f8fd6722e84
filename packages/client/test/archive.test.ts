import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sampleMessages } from '@sentcopy/core';
import { describe, expect, it } from 'vitest';
import { ArchiveFailedError, ClientClosedError, createSentcopyClient, MessageRejectedError, WorkerRefusedError, type ClientMessage } from '../src/index.js';
import { apiKey, newFolder, startWorker } from './worker-fixture.js';

const sample = (count: number, seed = 3) => sampleMessages({ projectId: 'shop', count, seed }) as unknown as ClientMessage[];
const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('archive() (the before-send gate)', () => {
  it('resolves with the key and SHA-256 of the stored copy, which exists with those bytes; archiving it again stores it once', async () => {
    const target = await startWorker();
    const client = createSentcopyClient({ url: target.url, apiKey });
    try {
      const [message] = sample(1);
      const result = await client.archive(message!);
      expect(result).toMatchObject({ created: true, version: false, originalKey: undefined });
      const file = path.join(target.root, ...result.key.split('/'));
      const bytes = readFileSync(file);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
      expect(bytes.length).toBe(result.size);
      expect(JSON.parse(gunzipSync(bytes).toString('utf8'))).toEqual(message);
      expect(await client.archive(message!)).toEqual({ ...result, created: false });
    } finally {
      await target.worker.stop();
    }
  }, 60_000);

  it('maps each failure to its error: invalid fields, too large, a refused key, a destination not ready, a failed write, an unreachable worker', async () => {
    const target = await startWorker({ limits: { maxMessageBytes: 4096 } });
    const client = createSentcopyClient({ url: target.url, apiKey, archiveAttempts: 2, retryBaseDelayMs: 10 });
    const sms = sample(8).find((message) => message.channel === 'sms')!;
    try {
      const { sent_at: _dropped, ...withoutTime } = sms;
      const invalid = await caught(client.archive({ ...withoutTime, message_id: 'no-time' } as unknown as ClientMessage));
      expect(MessageRejectedError.isInstance(invalid)).toBe(true);
      expect((invalid as MessageRejectedError).errors.map((error) => error.field)).toContain('sent_at');

      const big = await caught(client.archive({ ...sms, message_id: 'big', body: 'x'.repeat(5000) }));
      expect(MessageRejectedError.isInstance(big)).toBe(true);
      expect((big as MessageRejectedError).reason).toBe('too_large');
      expect((big as MessageRejectedError).message).toContain('limits.max_message_bytes');

      const wrongKey = 'sc_not_a_key_of_this_worker_000000000000000';
      const refused = await caught(createSentcopyClient({ url: target.url, apiKey: wrongKey }).archive(sms));
      expect(WorkerRefusedError.isInstance(refused)).toBe(true);
      expect(refused).toMatchObject({ status: 401, workerCode: 'unauthorized' });
      expect((refused as Error).message).not.toContain(wrongKey);

      // A write that fails on the real folder: where the project's folder should be, a file.
      rmSync(path.join(target.root, 'shop'), { recursive: true, force: true });
      writeFileSync(path.join(target.root, 'shop'), 'not a folder');
      // What the worker itself answers for such a write, asked directly.
      const direct = await fetch(`${target.url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...sms, message_id: 'write-fails-direct' }) });
      const answer = ((await direct.json()) as { error: { code: string; kind: string; reason: string } }).error;
      expect({ status: direct.status, code: answer.code }).toEqual({ status: 502, code: 'failed_to_archive' });
      const failed = await caught(client.archive({ ...sms, message_id: 'write-fails' }));
      expect(failed).toBeInstanceOf(ArchiveFailedError);
      expect((failed as ArchiveFailedError).status).toBe(502);
      expect((failed as ArchiveFailedError).kind).toBe(answer.kind);
      expect(['invalid', 'unknown', 'unreachable', 'unauthorized', 'rate_limited', 'conflict']).toContain(answer.kind);
      expect((failed as ArchiveFailedError).reason).toBe(answer.reason);
    } finally {
      await target.worker.stop();
    }

    const down = await caught(client.archive(sms));
    expect(ArchiveFailedError.isInstance(down)).toBe(true);
    expect(down).toMatchObject({ kind: 'unreachable', status: undefined });
    expect((down as Error).message).toContain('ECONNREFUSED');

    // A destination whose probe fails is not ready: the gate answers 503 failed_to_archive.
    const folder = newFolder();
    const blocked = path.join(folder, 'blocked');
    writeFileSync(blocked, 'a file where the archive folder should be');
    const notReady = await startWorker({ folder, root: blocked });
    try {
      const holding = await caught(createSentcopyClient({ url: notReady.url, apiKey }).archive(sms));
      expect(ArchiveFailedError.isInstance(holding)).toBe(true);
      expect(holding).toMatchObject({ kind: 'unreachable', status: 503 });
      expect(existsSync(path.join(folder, 'blocked'))).toBe(true);
    } finally {
      await notReady.worker.stop();
    }
    const closed = createSentcopyClient({ url: notReady.url, apiKey });
    await closed.close();
    expect(ClientClosedError.isInstance(await caught(closed.archive(sms)))).toBe(true);
  }, 60_000);

  it('stops when its signal aborts', async () => {
    const target = await startWorker();
    try {
      const controller = new AbortController();
      controller.abort(new Error('caller gave up'));
      const client = createSentcopyClient({ url: target.url, apiKey });
      const error = await caught(client.archive(sample(1)[0]!, { signal: controller.signal }));
      expect((error as Error).message).toBe('caller gave up');
    } finally {
      await target.worker.stop();
    }
  }, 60_000);
});
