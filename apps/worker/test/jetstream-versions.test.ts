import { createHash, randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsTestServer } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamQueue, type ClaimedMessage, type JetStreamQueue } from '../src/index.js';
import { messageKey, projectToken } from '../src/queue/jetstream/jetstream-names.js';

// Issue #14 item 8 on the JetStream queue, beyond the shared suite (`queue-version-behaviour.ts`,
// run from jetstream-queue.test.ts): several workers sending versions of one message id at once,
// discards run by two workers at once, and what a queue of the earlier layout left on the server.
let nats: NatsTestServer;
let connection: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  connection = await connect({ servers: nats.url });
});
afterAll(async () => {
  await connection?.close();
  await nats?.stop();
});

const deployment = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const text = (message: ClaimedMessage) => Buffer.from(message.payload).toString('utf8');
const streamMessages = async (stream: string) => (await (await jetstreamManager(connection)).streams.info(stream)).state.messages;

async function withQueues(name: string, count: number, run: (queues: JetStreamQueue[]) => Promise<void>): Promise<void> {
  const queues = await Promise.all(Array.from({ length: count }, () => createJetStreamQueue({ servers: nats.url, name, ackWaitMs: 2_000 })));
  try {
    await run(queues);
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

describe('JetStream versions sent by two workers at once', () => {
  it('keeps both contents of every message id, answers exactly one of them as the original, and keeps one queued entry per id', async () => {
    const name = deployment('w');
    await withQueues(name, 2, async ([one, two]) => {
      const ids = Array.from({ length: 40 }, (_, index) => `m-${index}`);
      const batch = (from: string) => ids.map((messageId) => ({ project: 'acme', messageId, payload: `{"from":"${from}","id":"${messageId}"}` }));
      const [first, second] = await Promise.all([one!.enqueue(batch('one')), two!.enqueue(batch('two'))]);
      for (const [index] of ids.entries()) {
        expect([first![index]!.status, second![index]!.status]).toEqual(['accepted', 'accepted']);
        // The two raced on one entry: one created it, the other added its version to it.
        expect([first![index]!.version, second![index]!.version].filter((flag) => flag === true)).toHaveLength(1);
        expect(first![index]!.id).not.toBe(second![index]!.id);
      }
      // One entry per message id, not per version: what a lookup of "any version of this id" reads.
      expect(await streamMessages(`KV_${name}-queued`)).toBe(ids.length);
      const entries = await new Kvm(connection).open(`${name}-queued`);
      expect(Object.keys((await entries.get(messageKey('acme', 'm-7')))!.json<{ v: Record<string, unknown> }>().v)).toHaveLength(2);

      const seen = new Map<string, number>();
      for (let round = 0; round < 60 && seen.size < ids.length * 2; round++) {
        for (const message of await (round % 2 === 0 ? one! : two!).claim({ limit: 50, waitMs: 300 })) {
          expect(await (round % 2 === 0 ? one! : two!).ack(message)).toBe(true);
          seen.set(text(message), (seen.get(text(message)) ?? 0) + 1);
        }
      }
      expect([...seen.keys()].sort()).toEqual([...batch('one'), ...batch('two')].map((input) => input.payload).sort());
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
      // Both versions' removals reach the shared entry, so the bucket empties.
      await expect.poll(() => streamMessages(`KV_${name}-queued`), { timeout: 15_000 }).toBe(0);
      const again = await Promise.all([one!.enqueue(batch('one')), two!.enqueue(batch('two'))]);
      expect(again.flat().every((result) => result.status === 'duplicate')).toBe(true);
      expect((await one!.stats()).depth).toBe(0);
    });
  }, 90_000);
});

describe('JetStream discards run by two workers at once', () => {
  it('discards each dead letter once, counted by the worker that removed it, with one record each', async () => {
    const name = deployment('x');
    await withQueues(name, 2, async ([one, two]) => {
      const total = 20;
      await one!.enqueue(Array.from({ length: total }, (_, index) => ({ project: 'acme', messageId: `d-${index}`, payload: `{"n":${index}}` })));
      let dead = 0;
      for (let round = 0; round < 20 && dead < total; round++) {
        for (const message of await one!.claim({ limit: total, waitMs: 500 })) {
          if (await one!.deadLetter(message, { kind: 'conflict', reason: 'test' })) dead++;
        }
      }
      expect(await one!.countDeadLetters()).toBe(total);
      const results = await Promise.all([one!.discardDeadLetters({ project: 'acme' }, 'bad deploy'), two!.discardDeadLetters({ project: 'acme' }, 'bad deploy')]);
      const ids = results.flatMap((result) => result.ids);
      expect(results[0]!.discarded + results[1]!.discarded).toBe(total);
      expect(new Set(ids).size).toBe(total);
      expect(await two!.countDeadLetters()).toBe(0);
      const records = await two!.listDiscardedDeadLetters({ project: 'acme', limit: 1000 });
      expect(records.items.map((record) => record.id).sort()).toEqual([...ids].sort());
      expect(records.items.map((record) => record.payloadSha256).sort()).toEqual(Array.from({ length: total }, (_, index) => sha256(`{"n":${index}}`)).sort());
      expect(new Set(records.items.map((record) => record.discardReason))).toEqual(new Set(['bad deploy']));
      // Payloads are gone with the records: the dead-letter stream is empty.
      expect(await streamMessages(`${name.toUpperCase()}_DEAD`)).toBe(0);
    });
  }, 60_000);
});

describe('JetStream queue upgraded from the layout without versions', () => {
  it('archives a message queued before versions, through a retry, and discards a dead letter recorded before them with its payload hash', async () => {
    const name = deployment('o');
    await withQueues(name, 1, async ([queue]) => {
      const client = jetstream(connection);
      const token = projectToken('acme');
      const oldKey = messageKey('acme', 'old-1');
      const oldPayload = '{"sent":"before the upgrade"}';
      // What the earlier layout kept: the id alone as the queue id, the entry key and the Nats-Msg-Id base.
      const old = headers();
      old.set('Sc-Id', oldKey);
      old.set('Sc-Key', oldKey);
      old.set('Sc-Generation', 'oldlife');
      old.set('Sc-Message-Id', Buffer.from('old-1', 'utf8').toString('base64url'));
      old.set('Sc-Enqueued-At', String(Date.now()));
      old.set('Sc-Deliveries', '0');
      await (await new Kvm(connection).open(`${name}-queued`)).put(oldKey, JSON.stringify({ g: 'oldlife' }));
      await client.publish(`${name}.queue.${token}`, oldPayload, { headers: old, msgID: `${oldKey}.oldlife` });

      const [claimed] = await queue!.claim({ limit: 1, waitMs: 3_000 });
      expect(claimed).toMatchObject({ id: oldKey, messageId: 'old-1', attempts: 0 });
      expect(await queue!.reschedule(claimed!, { notBefore: Date.now(), attempt: { at: Date.now(), kind: 'unreachable', reason: 'Down.' } })).toBe(true);
      // The retried copy is checked against the entry of the earlier form, and found current.
      const [retried] = await queue!.claim({ limit: 1, waitMs: 3_000 });
      expect(retried).toMatchObject({ id: oldKey, messageId: 'old-1', attempts: 1 });
      expect(text(retried!)).toBe(oldPayload);
      expect(await queue!.ack(retried!)).toBe(true);
      // Its entry is removed like any other.
      await expect.poll(() => streamMessages(`KV_${name}-queued`), { timeout: 10_000 }).toBe(0);
      // Its archived mark names no content: the same content sent again is queued again (the
      // write-once archive finds it stored), neither dropped nor counted as a version.
      await expect.poll(() => streamMessages(`KV_${name}-archived`), { timeout: 10_000 }).toBe(1);
      const [resent] = await queue!.enqueue([{ project: 'acme', messageId: 'old-1', payload: oldPayload }]);
      expect(resent).toEqual({ status: 'accepted', id: expect.stringMatching(new RegExp(`^${oldKey.replace('.', '\\.')}\\.[A-Za-z0-9_-]{32}$`)) });

      // A dead letter of the earlier layout: a record without the payload's hash, and its payload.
      const deadKey = messageKey('acme', 'old-2');
      const deadPayload = '{"dead":"before the upgrade"}';
      const payloadAck = await client.publish(`${name}.dead.payload.${token}`, deadPayload);
      const record = {
        id: deadKey,
        project: 'acme',
        messageId: 'old-2',
        kind: 'conflict',
        reason: 'Another copy is stored under its key.',
        issues: [],
        attempts: 1,
        deliveries: 1,
        enqueuedAt: Date.now() - 1_000,
        deadAt: Date.now(),
        history: [],
        generation: 'deadlife',
        dedupeKey: deadKey,
        payloadSeq: payloadAck.seq,
        payloadBytes: Buffer.byteLength(deadPayload),
      };
      await client.publish(`${name}.dead.record.${token}`, JSON.stringify(record));
      expect((await queue!.listDeadLetters()).items.map((letter) => letter.id)).toEqual([deadKey]);
      expect(await queue!.discardDeadLetters({ ids: [deadKey] }, 'from before the upgrade')).toEqual({ discarded: 1, ids: [deadKey] });
      expect((await queue!.listDiscardedDeadLetters()).items).toEqual([
        expect.objectContaining({ id: deadKey, messageId: 'old-2', kind: 'conflict', discardReason: 'from before the upgrade', payloadSha256: sha256(deadPayload), payloadBytes: record.payloadBytes }),
      ]);
      expect(await queue!.countDeadLetters()).toBe(0);
    });
  }, 60_000);
});
