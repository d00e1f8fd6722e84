import { createHash, timingSafeEqual } from 'node:crypto';
import type { Archiver, Channel } from '@sentcopy/core';

/** What the worker knows about one project at a moment in time. */
export interface ProjectRoute {
  /** The project id; messages carry it as `project_id`. */
  readonly id: string;
  /** Channels this project archives; messages on other channels are refused at intake. */
  readonly channels: readonly Channel[];
  /**
   * Id of the destination the project's messages go to, or `undefined` when the project has none
   * (its destination was deleted): new messages are then refused and queued ones dead-lettered.
   */
  readonly destinationId?: string;
  /**
   * `false` while the project's destination exists but cannot take writes yet (a new destination
   * whose probe has not passed): messages are accepted and wait in the queue. @default true
   */
  readonly ready?: boolean;
}

/**
 * How the archiver will be used: by the queue's processor (no inline retries), by the before-send
 * gate (quick inline retries), or by the intake only to `check()` messages before accepting them
 * (given even while the destination is not ready; never written with).
 */
export type ArchiverUse = 'queued' | 'gate' | 'check';

/**
 * The worker's current view of its configuration, read on every request and every message, so a
 * reloaded configuration applies at once. Implementations swap their contents atomically.
 */
export interface ProjectDirectory {
  /** The project, or `undefined` when no such project is configured. */
  project(id: string): ProjectRoute | undefined;
  /**
   * The project an intake API key belongs to, or `undefined` for an unknown key. Keys are stored
   * only as SHA-256 hashes and compared in constant time.
   */
  authenticate(apiKey: string): ProjectRoute | undefined;
  /**
   * The archiver for a project's messages; `undefined` when the project has no destination. Throws
   * when the destination exists but is not ready yet (the processor then retries later), except for
   * the `check` use.
   */
  archiverFor(projectId: string, use: ArchiverUse): Archiver | undefined;
}

/** SHA-256 (lower-case hex) of an API key: the only form in which keys are stored. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** Compares two API-key hashes without leaking, through timing, how much of them matched. */
export function apiKeyHashesEqual(left: string, right: string): boolean {
  const a = Buffer.from(left, 'utf8');
  const b = Buffer.from(right, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
