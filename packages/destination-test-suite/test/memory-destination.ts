import { createHash } from 'node:crypto';
import { assertValidObjectKey, DestinationError, type DestinationV1, type ListedObject, type StoredObject } from '@sentcopy/core';
import type { ConformanceFaults, DestinationBackdoor } from '../src/index.js';

/** Deliberate defects, each of which some conformance check must catch. */
export type MemoryFlaw =
  | 'overwrites'
  | 'skips-key-validation'
  | 'sorts-by-utf16'
  | 'repeats-last-key-on-next-page'
  | 'stores-partial-on-abort'
  | 'truncates-large-bodies'
  | 'checks-then-writes'
  | 'drops-content-encoding'
  | 'trusts-claimed-sha256'
  | 'probe-fails-write'
  | 'delete-is-a-no-op'
  | 'erases-versions-by-prefix'
  | 'reports-every-fault-as-unknown'
  | 'leaks-the-secret';

/** The secret the memory destination pretends to hold; the `leaks-the-secret` flaw puts it in error messages. */
export const memorySecret = 'memory-secret-0123456789';

/** A fault the memory destination can be told to act out, as the suite's fault hooks ask. */
type MemoryFault = 'rate_limited' | 'unauthorized' | 'unreachable' | 'invalid' | 'unknown' | 'stall';

type Entry = Omit<StoredObject, 'size'>;

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A reference in-memory destination, correct unless given a flaw, plus a back door reading its map. */
export function createMemoryDestination(flaw?: MemoryFlaw): { destination: DestinationV1; backdoor: DestinationBackdoor; faults: ConformanceFaults } {
  const objects = new Map<string, Entry>();
  let fault: MemoryFault | undefined;
  let arrived: (() => void) | undefined;
  let arrival: Promise<void> = Promise.resolve();
  /** Acts out the injected fault: throws its kind, or for `stall` waits (holding half the body) until aborted. */
  const actOutFault = async (input: { key: string; body: Uint8Array; sha256: string; contentType: string }, signal: AbortSignal | undefined): Promise<void> => {
    if (fault === undefined) return;
    if (fault === 'stall') {
      arrived?.();
      await new Promise<void>((resolve) => {
        if (signal?.aborted) resolve();
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      if (flaw === 'stores-partial-on-abort') objects.set(input.key, { key: input.key, body: input.body.slice(0, input.body.length >> 1), sha256: input.sha256, contentType: input.contentType, metadata: {} });
      signal?.throwIfAborted();
      return;
    }
    const kind = flaw === 'reports-every-fault-as-unknown' ? 'unknown' : fault;
    throw new DestinationError({ kind, provider: 'memory', message: `The store failed (${fault})${flaw === 'leaks-the-secret' ? ` with key ${memorySecret}` : ''}.` });
  };
  const compare = flaw === 'sorts-by-utf16' ? (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0) : (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

  const destination: DestinationV1 = {
    specificationVersion: 'v1',
    provider: 'memory',
    id: 'memory://test',
    // A memory map keeps one version per key; it declares `erasable` so the suite's eraseVersions() check runs against it.
    capabilities: { delete: true, immutability: false, publicAccessCheck: false, versions: 'erasable' },
    async put(input, options) {
      options?.signal?.throwIfAborted();
      if (flaw !== 'skips-key-validation') assertValidObjectKey(input.key, 'memory');
      const actualSha = sha256Hex(input.body);
      if (flaw !== 'trusts-claimed-sha256' && actualSha !== input.sha256) {
        throw new DestinationError({ kind: 'invalid', provider: 'memory', message: 'sha256 does not match the body.' });
      }
      await actOutFault(input, options?.signal);
      const existingBeforeIo = objects.get(input.key);
      await turn();
      if (options?.signal?.aborted) {
        if (flaw === 'stores-partial-on-abort') objects.set(input.key, { key: input.key, body: input.body.slice(0, input.body.length >> 1), sha256: input.sha256, contentType: input.contentType, metadata: {} });
        options.signal.throwIfAborted();
      }
      const existing = flaw === 'checks-then-writes' ? existingBeforeIo : objects.get(input.key);
      if (existing && flaw !== 'overwrites') {
        if (existing.sha256 === input.sha256) return { key: input.key, size: existing.body.byteLength, sha256: input.sha256, created: false };
        throw new DestinationError({ kind: 'conflict', provider: 'memory', key: input.key, message: 'The key already holds different content.' });
      }
      const body = flaw === 'truncates-large-bodies' ? input.body.slice(0, 16 * 1024 * 1024) : input.body.slice();
      objects.set(input.key, {
        key: input.key,
        body,
        sha256: input.sha256,
        contentType: input.contentType,
        contentEncoding: flaw === 'drops-content-encoding' ? undefined : input.contentEncoding,
        metadata: { ...input.metadata },
        lastModified: new Date(),
      });
      return { key: input.key, size: input.body.byteLength, sha256: input.sha256, created: true };
    },
    async get(key) {
      assertValidObjectKey(key, 'memory');
      const entry = objects.get(key);
      return entry && { ...entry, body: entry.body.slice(), size: entry.body.byteLength };
    },
    async head(key) {
      assertValidObjectKey(key, 'memory');
      const entry = objects.get(key);
      if (!entry) return undefined;
      const { body, ...info } = entry;
      return { ...info, size: body.byteLength };
    },
    async list(options) {
      const prefix = options?.prefix ?? '';
      const limit = options?.limit ?? 1000;
      const after = options?.cursor === undefined ? undefined : Buffer.from(options.cursor, 'base64url').toString('utf8');
      const keys = [...objects.keys()].filter((key) => key.startsWith(prefix)).sort(compare);
      const start = after === undefined ? 0 : keys.findIndex((key) => compare(key, after) > 0);
      const page = start === -1 ? [] : keys.slice(start, start + limit);
      const last = page.at(-1);
      const more = start !== -1 && start + limit < keys.length;
      const cursorKey = flaw === 'repeats-last-key-on-next-page' ? (page.at(-2) ?? last) : last;
      return {
        objects: page.map((key): ListedObject => ({ key, size: objects.get(key)?.body.byteLength ?? 0 })),
        cursor: more && cursorKey !== undefined ? Buffer.from(cursorKey).toString('base64url') : undefined,
      };
    },
    async delete(key, options) {
      options?.signal?.throwIfAborted();
      assertValidObjectKey(key, 'memory');
      if (flaw !== 'delete-is-a-no-op') objects.delete(key);
    },
    async eraseVersions(key, options) {
      options?.signal?.throwIfAborted();
      assertValidObjectKey(key, 'memory');
      const names = flaw === 'erases-versions-by-prefix' ? [...objects.keys()].filter((name) => name.startsWith(key)) : objects.has(key) ? [key] : [];
      for (const name of names) objects.delete(name);
      return { key, versions: names.includes(key) ? [{ version: 'only', type: 'version' as const, current: true, outcome: 'erased' as const }] : [], complete: !objects.has(key) };
    },
    async probe() {
      const write = flaw === 'probe-fails-write' ? 'failed' : 'passed';
      return {
        ok: write === 'passed',
        public: false,
        checks: [
          { name: 'reachable', status: 'passed' },
          { name: 'write', status: write },
        ],
      };
    },
    async close() {},
  };

  const backdoor: DestinationBackdoor = {
    async readObject(key) {
      const entry = objects.get(key);
      return entry && { body: entry.body.slice(), sha256: entry.sha256, contentType: entry.contentType, contentEncoding: entry.contentEncoding, metadata: { ...entry.metadata } };
    },
    async listKeys(prefix) {
      return [...objects.keys()].filter((key) => key.startsWith(prefix));
    },
  };
  const faults: ConformanceFaults = {
    createDestination: () => destination,
    inject(kind) {
      fault = kind;
      arrival = new Promise((resolve) => (arrived = resolve));
      return {
        restore() {
          fault = undefined;
        },
        requestArrived: () => arrival,
      };
    },
  };
  return { destination, backdoor, faults };
}
