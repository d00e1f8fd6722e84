import type { Archiver } from '@sentcopy/core';

/** A sentcopy worker reached over HTTP. */
export interface WorkerTarget {
  /** The worker's base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** The project's API key (sent as `Authorization: Bearer`; never logged or put in errors). */
  readonly apiKey: string;
  /** Longest wait for one answer, in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
}

/** Where the copies go: a worker's HTTP intake, or an archiver in this process. */
export type ArchiveDestination = { readonly worker: WorkerTarget; readonly archiver?: never } | { readonly archiver: Archiver; readonly worker?: never };

/** What `archiveWith` reports about a message it archived after its send. */
export interface ArchivedEvent {
  /** The archived message's `message_id` (its Message-ID header without angle brackets). */
  readonly messageId: string;
  /** Attempts made, the first included. */
  readonly attempts: number;
}

/** What `archiveWith` reports about a message sent but not archived (after-send mode). */
export interface ArchiveFailedEvent {
  /** The message's `message_id`, when it could be read. */
  readonly messageId?: string;
  /** Why it was not archived: a sentence naming fields, never values. */
  readonly reason: string;
  /** `true` when no further attempt will be made. */
  readonly final: boolean;
  /** The underlying error. */
  readonly error: unknown;
}

/** Options of {@link archiveWith}: where to archive, how, and what to add to each copy. */
export type ArchiveWithOptions = ArchiveDestination & {
  /** The sentcopy project the messages belong to (`project_id`; with a worker, the API key's project). */
  readonly projectId: string;
  /**
   * `'after-send'`: a message is archived once the transport accepted it, in the background (the
   * send is never delayed), with the transport's answer recorded in the copy (`delivery`).
   * `'gate'`: a message is archived before it is handed to the transport, and a message that
   * cannot be archived is not sent: `sendMail` fails with a `SendHeldError`.
   * @default 'after-send'
   */
  readonly mode?: 'after-send' | 'gate';
  /**
   * Extra fields for each archived message (campaign_id, user_id, extras, …), from the mail data
   * passed to `sendMail`. Must not set `raw_mime` or `delivery`. @default none
   */
  readonly fields?: (mail: Readonly<Record<string, unknown>>) => Record<string, unknown> | undefined;
  /**
   * After-send mode: how long a message that cannot be archived (worker unreachable, destination
   * down) is retried in memory before it is reported as lost with `final: true`, in milliseconds.
   * @default 86400000 (24 hours)
   */
  readonly retryForMs?: number;
  /**
   * After-send mode: most bytes of raw MIME held in memory while waiting to be archived. A message
   * past it is not held: it is reported through `onArchiveFailed` with `final: true`. @default 268435456 (256 MiB)
   */
  readonly maxPendingBytes?: number;
  /** Gate mode: attempts per message before the send is held (network errors, 429 and 503 are retried). @default 3 */
  readonly gateAttempts?: number;
  /** Called for each message archived after its send. */
  readonly onArchived?: (event: ArchivedEvent) => void;
  /**
   * Called when an after-send archive fails (each retry, then once with `final: true`).
   * @default writes one line per final failure to stderr (message id and reason only)
   */
  readonly onArchiveFailed?: (event: ArchiveFailedEvent) => void;
};
