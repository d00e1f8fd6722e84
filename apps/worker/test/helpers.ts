import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Archiver, DestinationV1, Message, PutObjectInput } from '@sentcopy/core';
import { expect } from 'vitest';
import type { MessageQueue, QueueMessageInput } from '../src/index.js';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The queue entry a producer would submit for `message`: its JSON text, keyed by project and message id. */
export function queued(message: Message | Record<string, unknown>, project?: string): QueueMessageInput {
  const record = message as Record<string, unknown>;
  return { project: project ?? String(record.project_id), messageId: String(record.message_id), payload: JSON.stringify(message) };
}

/** Every object key under a local-folder destination's root (its own `.sentcopy` folder left out), read with node:fs. */
export function storedKeys(root: string): string[] {
  const keys: string[] = [];
  const walk = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (prefix === '' && (entry.name === '.sentcopy' || entry.name === '.sentcopy-ledger')) continue;
      if (entry.isDirectory()) walk(path.join(folder, entry.name), `${prefix}${entry.name}/`);
      else keys.push(`${prefix}${entry.name}`);
    }
  };
  walk(root, '');
  return keys.sort();
}

/**
 * Checks through the back door (node:fs) that a local-folder root holds exactly `messages`: one
 * object each, with the bytes `archive()` would store, and a recorded SHA-256 that verifies.
 */
export async function expectFolderHoldsExactly(root: string, archiver: Archiver, messages: readonly unknown[]): Promise<void> {
  const expected = new Map<string, string>();
  for (const message of messages) {
    const prepared = await archiver.prepare(JSON.parse(JSON.stringify(message)));
    expected.set(prepared.key, prepared.sha256);
  }
  expect(expected.size).toBe(messages.length);
  expect(storedKeys(root)).toEqual([...expected.keys()].sort());
  // The destination publishes an object, then its sidecar: a check right after the last object appears can beat the sidecar of a write still under way.
  const sidecarOf = (key: string) => path.join(root, '.sentcopy', 'meta', ...key.split('/'));
  await waitFor(() => [...expected.keys()].every((key) => existsSync(sidecarOf(key))), 10_000, "every object's metadata sidecar");
  for (const [key, digest] of expected) {
    const bytes = readFileSync(path.join(root, ...key.split('/')));
    const sidecar = JSON.parse(readFileSync(sidecarOf(key), 'utf8')) as { sha256: string };
    if (sha256(bytes) !== digest || sidecar.sha256 !== digest) {
      expect({ key, stored: sha256(bytes), recorded: sidecar.sha256 }).toEqual({ key, stored: digest, recorded: digest });
    }
  }
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const timedOut = (detail: string) => new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${detail}.`);
  for (;;) {
    // A check that never settles (a request to a stuck server) must fail here with its name, not as the test's timeout.
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut(' (the last check never answered)')), Math.max(0, deadline - Date.now()) + 1_000);
    });
    try {
      if (await Promise.race([Promise.resolve(check()), bounded])) return;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline) throw timedOut('');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once a running worker's own gauges (`/metrics`) say its queue is empty and nothing is
 * claimed. Every key stored (or listed) does not mean every record settled: a killed worker's
 * record may still come back to be archived and listed again.
 */
export function waitForSettledWorker(url: string, timeoutMs: number): Promise<void> {
  const gauges = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return ['sentcopy_queue_depth', 'sentcopy_queue_in_flight'].map((name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]));
  };
  return waitFor(async () => (await gauges()).every((value) => value === 0), timeoutMs, 'the worker to settle every record');
}

/** Resolves once the queue holds nothing (no pending, scheduled or claimed message). */
export function waitForEmptyQueue(queue: MessageQueue, timeoutMs: number): Promise<void> {
  return waitFor(async () => (await queue.stats()).depth === 0, timeoutMs, 'the queue to drain');
}

/** Wraps a destination so tests can watch and slow down its writes. */
export function instrumentDestination(
  destination: DestinationV1,
  hooks: { beforePut?: (input: PutObjectInput, signal: AbortSignal | undefined) => Promise<void> } = {},
): DestinationV1 & { readonly puts: string[]; readonly active: () => number; readonly maxActive: () => number } {
  const puts: string[] = [];
  let active = 0;
  let maxActive = 0;
  return {
    ...destination,
    puts,
    active: () => active,
    maxActive: () => maxActive,
    async put(input, options) {
      puts.push(input.key);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        await hooks.beforePut?.(input, options?.signal);
        return await destination.put(input, options);
      } finally {
        active--;
      }
    },
  };
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** A seeded source of randomness in [0, 1) (mulberry32), so jittered schedules are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stops every worker; a stop that hangs fails the test with its position instead of as the test's timeout. */
export async function stopWithin(workers: readonly { stop(): Promise<void> }[], timeoutMs: number): Promise<void> {
  await Promise.all(
    workers.map(async (worker, index) => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Worker ${index + 1} of ${workers.length} did not stop within ${timeoutMs} ms.`)), timeoutMs);
      });
      try {
        await Promise.race([worker.stop(), hung]);
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
