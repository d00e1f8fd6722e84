import type { DestinationV1 } from '@sentcopy/core';

/** Assertions the suite uses, a subset every common runner's `expect` offers (vitest, Jest). */
export interface ConformanceMatchers {
  /** Passes when the actual value is `Object.is`-identical to `expected`. */
  toBe(expected: unknown): void;
  /** Passes when the actual value deeply equals `expected`. */
  toEqual(expected: unknown): void;
}

/** The runner's `expect`: takes the actual value and an optional message shown on failure. */
export type ConformanceExpect = (actual: unknown, message?: string) => ConformanceMatchers;

/** A body the runner calls: a test, a hook or a describe block. */
export type ConformanceBody = () => void | Promise<void>;

/**
 * The test runner the suite registers its tests with, typed structurally so the suite never
 * imports one. `import * as vitest from 'vitest'` fits as is.
 */
export interface ConformanceRunner {
  /** Groups tests under a title. */
  describe(name: string, body: () => void): unknown;
  /** Registers one test; `timeout` is in milliseconds. */
  it(name: string, body: () => Promise<void>, timeout?: number): unknown;
  /** Assertions. */
  expect: ConformanceExpect;
  /** Runs once before the tests of the enclosing `describe`; `timeout` is in milliseconds. */
  beforeAll(body: ConformanceBody, timeout?: number): unknown;
  /** Runs once after the tests of the enclosing `describe`; `timeout` is in milliseconds. */
  afterAll(body: ConformanceBody, timeout?: number): unknown;
}

/** An object as it really landed in the store, read without the adapter. */
export interface BackdoorObject {
  /** The stored bytes. */
  body: Uint8Array;
  /** The SHA-256 the store recorded with the object (lower-case hex), if it recorded one. */
  sha256?: string;
  /** The content type the store recorded. */
  contentType?: string;
  /** The content encoding the store recorded. */
  contentEncoding?: string;
  /** User metadata the store recorded. May hold more entries than were given to `put()`. */
  metadata: Record<string, string>;
}

/**
 * Reads what really landed, bypassing the adapter: file reads for a folder, the native SDK for a
 * bucket. Must not reuse the adapter's own code, or the suite would only check the adapter
 * against itself.
 */
export interface DestinationBackdoor {
  /** Reads one object, or `undefined` if nothing is stored under `key`. */
  readObject(key: string): Promise<BackdoorObject | undefined>;
  /** Every stored key starting with `prefix`, in any order. */
  listKeys(prefix: string): Promise<string[]>;
}

/** The groups of checks the suite runs. */
export type ConformanceGroupName = 'roundtrip' | 'idempotency' | 'conflict' | 'concurrency' | 'crossProcess' | 'pagination' | 'hostileKeys' | 'largeObject' | 'abort' | 'delete' | 'errorKinds' | 'probe';

/**
 * How the `crossProcess` group starts writers that share no memory: each is a new Node.js process
 * that imports `factoryModule` and calls its default export (or its `createDestination` export)
 * with `settings`, then races the other processes to write one key.
 */
export interface CrossProcessWriters {
  /** Absolute path or `file:` URL of an ES module `node` can run (JavaScript, or TypeScript given a loader in `execArgv`). */
  factoryModule: string;
  /** Passed to the factory in every writer process; must survive `JSON.stringify` (it travels over IPC, never on the command line). */
  settings?: unknown;
  /** How many writer processes race. @default 4 */
  processes?: number;
  /** Node.js options for the writer processes, e.g. `['--import', 'tsx']`. @default [] */
  execArgv?: string[];
}

/** A fault the `errorKinds` group asks for: every error kind a store can cause, plus `stall` (the store stops reading request bodies). */
export type ConformanceFault = 'rate_limited' | 'unauthorized' | 'unreachable' | 'invalid' | 'unknown' | 'stall';

/** An injected fault, until it is restored. */
export interface ConformanceFaultInjection {
  /** Undoes the fault; later calls reach the store as usual. */
  restore(): void | Promise<void>;
  /** Resolves once a request has reached the faulty place (used with `stall`, so the suite aborts after the upload started). */
  requestArrived?(): Promise<void>;
}

/**
 * Hooks that break the store (or the way to it) on demand, e.g. a fault proxy from
 * `@sentcopy/test-servers` in front of an emulator answering `503 SlowDown`.
 */
export interface ConformanceFaults {
  /** Creates a destination whose requests pass through the faulty place; same key prefix as the main one. Closed by the suite. */
  createDestination(): DestinationV1 | Promise<DestinationV1>;
  /**
   * Makes the next requests fail so that the destination must report `fault` (for `stall`: the
   * store accepts the request but stops reading its body). Returns `undefined` for a fault this
   * store cannot produce; those kinds are then not checked.
   */
  inject(fault: ConformanceFault): ConformanceFaultInjection | undefined | Promise<ConformanceFaultInjection | undefined>;
}

/** Options for {@link runDestinationConformance}. */
export interface DestinationConformanceOptions {
  /** Title of the outer `describe()` block, e.g. `destination-s3 (S3-compatible test server)`. */
  name: string;
  /** The test runner, e.g. `import * as vitest from 'vitest'`. */
  runner: ConformanceRunner;
  /** Creates the destination under test. Called once, before the first test; the suite calls `close()` after the last. */
  createDestination(): DestinationV1 | Promise<DestinationV1>;
  /** Reads what really landed, bypassing the adapter. */
  backdoor: DestinationBackdoor;
  /** Switches groups off by setting them to `false`. @default every group on */
  groups?: Partial<Record<ConformanceGroupName, boolean>>;
  /**
   * Prefix of every key the suite writes; `/` is appended when missing. Each check writes below
   * its own sub-prefix. @default `sentcopy-conformance/<time>-<random>/`, unique per run so
   * parallel runs against one bucket do not collide
   */
  keyPrefix?: string;
  /** Per-test and per-hook timeout, in milliseconds. Raise it for slow emulators. @default 60000 */
  timeoutMs?: number;
  /** Writer processes for the `crossProcess` group; without it that group fails and says so (switch it off to skip it). */
  crossProcess?: CrossProcessWriters;
  /** Fault hooks for the `errorKinds` group; without them that group fails and says so (switch it off to skip it). */
  faults?: ConformanceFaults;
  /** Strings that must never appear in an error message or its cause (secret keys, tokens, passwords). @default [] */
  secrets?: readonly string[];
}
