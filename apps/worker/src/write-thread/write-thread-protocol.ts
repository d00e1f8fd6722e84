import type { DestinationErrorKind, PutObjectInput, PutObjectResult } from '@sentcopy/core';
import type { DestinationConfig } from '../config/worker-config.js';

/** What a write thread starts with: what the main thread built the destination from. */
export interface WriteThreadData {
  /** The destination's name in the configuration. */
  readonly name: string;
  readonly config: DestinationConfig;
  /** The configuration file's folder. */
  readonly baseDir: string;
  /** Where `{ "env": … }` secrets are read from (the env file's variables included). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** An error of the thread, as fields that survive being posted. */
export type WriteThreadError =
  | {
      readonly destination: true;
      readonly kind: DestinationErrorKind;
      readonly message: string;
      readonly provider: string | undefined;
      readonly key: string | undefined;
      readonly status: number | undefined;
      readonly code: string | undefined;
      readonly retryAfterMs: number | undefined;
    }
  | { readonly destination: false; readonly name: string; readonly message: string; readonly code: string | undefined };

/** Main → thread: writes (id, input, whether it can be aborted), or the ids of writes to abort. */
export type WriteThreadRequest = { readonly puts: readonly (readonly [number, PutObjectInput, boolean])[] } | { readonly abort: number };

/** Thread → main: answers to writes (id and result, or id and error), or whether the destination could be built there. */
export type WriteThreadMessage = readonly (readonly [number, PutObjectResult] | readonly [number, undefined, WriteThreadError])[] | { readonly ready: true } | { readonly ready: false; readonly error: WriteThreadError };
