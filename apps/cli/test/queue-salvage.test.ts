import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createEmbeddedQueue } from '@sentcopy/worker';
import { describe, expect, it } from 'vitest';
import { tempFolders } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('queue-salvage');
const total = 200;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const messageText = (index: number) =>
  JSON.stringify({
    version: 1,
    channel: 'sms',
    message_id: `m-${String(index).padStart(4, '0')}`,
    project_id: 'shop',
    sent_at: 1767225600000 + index,
    to: '+15550100000',
    body: `marker-${String(index).padStart(4, '0')} ${'x'.repeat(400)}`,
  });

/** A stopped worker's queue: `total` messages waiting, one of them then given up on. */
async function seedQueue(folder: string): Promise<string> {
  const queue = await createEmbeddedQueue({ directory: folder });
  await queue.enqueue(Array.from({ length: total }, (_, index) => ({ project: 'shop', messageId: `m-${String(index).padStart(4, '0')}`, payload: messageText(index) })));
  const [first] = await queue.claim({ limit: 1 });
  await queue.deadLetter(first!, { kind: 'conflict', reason: 'an earlier, different copy is stored' });
  await queue.close();
  return path.join(folder, 'queue.db');
}

/** Overwrites the start (header and cell pointers) of the page holding `marker` with garbage. */
function damagePageHolding(file: string, marker: string): void {
  const offset = readFileSync(file).indexOf(marker);
  expect(offset).toBeGreaterThan(4096);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(1024, 0xa5), 0, 1024, Math.floor(offset / 4096) * 4096);
  } finally {
    closeSync(fd);
  }
}

interface Report {
  recovered: { queued: number; rebuilt: number; deadLetters: number; recentAcks: number };
  lost: { project: string; messageId: string; state: string }[];
  unattributed: number;
  damagedRanges: { table: string; afterId: number; throughId?: number }[];
  complete: boolean;
}

describe('sentcopy queue salvage', () => {
  it('copies every readable message of a damaged queue file into a new queue, names the unreadable ones, exits 4, and leaves the file untouched', async () => {
    const work = newFolder();
    const file = await seedQueue(path.join(work, 'queue'));
    damagePageHolding(file, 'marker-0100');
    const before = sha256(readFileSync(file));

    const run = await runCli(['queue', 'salvage', '--from', file, '--into', 'salvaged', '--json'], { cwd: work });
    expect(run.code).toBe(4);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.complete).toBe(false);
    expect(report.damagedRanges.map((range) => range.table)).toContain('payloads');
    expect(report.recovered.deadLetters).toBe(1);
    expect(report.lost.length).toBeGreaterThan(0);
    expect(report.lost).toContainEqual({ project: 'shop', messageId: 'm-0100', state: 'queued' });
    expect(report.recovered.queued + report.lost.length).toBe(total - 1);
    expect(sha256(readFileSync(file))).toBe(before);

    // The new queue hands out exactly the recovered messages, bytes identical to what was queued.
    const salvaged = await createEmbeddedQueue({ directory: path.join(work, 'salvaged') });
    try {
      expect(salvaged.health()).toEqual({ ok: true });
      expect(await salvaged.stats()).toMatchObject({ depth: report.recovered.queued, deadLetters: 1 });
      const claimed = await salvaged.claim({ limit: 1000 });
      const lost = new Set(report.lost.map((entry) => entry.messageId));
      const expected = Array.from({ length: total }, (_, index) => index).filter((index) => index !== 0 && !lost.has(`m-${String(index).padStart(4, '0')}`));
      expect(claimed.map((message) => message.messageId).sort()).toEqual(expected.map((index) => `m-${String(index).padStart(4, '0')}`));
      for (const message of claimed) expect(Buffer.from(message.payload).toString('utf8')).toBe(messageText(Number(message.messageId.slice(2))));
    } finally {
      await salvaged.close();
    }

    // Never over an existing queue.
    const again = await runCli(['queue', 'salvage', '--from', file, '--into', 'salvaged'], { cwd: work });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a queue/);
  }, 60_000);

  it('reports a complete salvage of an intact file in words, exit 0; a missing file is a usage error', async () => {
    const work = newFolder();
    await seedQueue(path.join(work, 'queue'));
    const run = await runCli(['queue', 'salvage', '--from', 'queue', '--into', 'copy'], { cwd: work });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${total - 1} messages waiting to be archived`);
    expect(run.stdout).toContain('1 dead letter');
    expect(run.stdout).toContain('sentcopy worker --queue');
    expect(existsSync(path.join(work, 'queue', 'queue.db'))).toBe(true);

    const missing = await runCli(['queue', 'salvage', '--from', 'nowhere/queue.db', '--into', 'other', '--json'], { cwd: work });
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'usage', message: expect.stringContaining('no queue store') } });
  }, 60_000);
});
