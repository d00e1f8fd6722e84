import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Archiver, Channel, DestinationErrorKind } from '@sentcopy/core';
import type { WorkerLogger } from '../logging/index.js';
import type { ProjectDirectory } from '../projects/index.js';
import type { MessageQueue, QueueMessageInput } from '../queue/index.js';

/** Size limits of the HTTP intake. */
export interface IntakeLimits {
  /**
   * Largest request body, in bytes; larger requests get 413 and are not read further. Keep it at
   * least a little above `maxMessageBytes`, so a batch can carry one message of the largest size.
   * @default 50331648 (48 MiB, core's `defaultMaxBodyBytes`)
   */
  readonly maxBodyBytes?: number;
  /** Most messages in one `POST /v1/messages` batch. @default 1000 (core's `defaultMaxBatchMessages`) */
  readonly maxBatchMessages?: number;
  /**
   * Largest single message, in bytes of its JSON text: the body of `POST /v1/archive`, or each
   * element of a batch as it is queued (compact JSON). Checked before the message is validated,
   * so an oversized message costs no validation. A batch refuses such a message on its own
   * (`too_large`, naming this setting); the archive call answers 413. In a batch, the queue's own
   * limit (`MessageQueue.maxPayloadBytes`) applies as well. @default 41943040 (40 MiB, core's `defaultMaxMessageBytes`: an email with 25 MiB of attachments)
   */
  readonly maxMessageBytes?: number;
  /**
   * Most bytes of request bodies read and checked at once, in bytes (a body counts its
   * Content-Length, or `maxBodyBytes` without one). Checking a message holds a few copies of it
   * (its text, the parsed message, the text queued), so this bounds the intake's memory when many
   * large messages arrive together: requests beyond it wait, unread, in arrival order (their bytes
   * stay in the socket), and one body larger than it is read alone.
   * @default 134217728 (128 MiB), and at least `maxBodyBytes`
   */
  readonly maxBytesInProgress?: number;
}

/**
 * Why intake refused a message or a request: a small fixed set, safe as a metric label.
 * - `invalid`: the message cannot be stored: it failed validation, or the project's profile or key layout cannot store it (field errors say why).
 * - `wrong_project`: its `project_id` is not the project of the API key.
 * - `channel_disabled`: the project does not archive its channel.
 * - `no_destination`: the project has no destination (one event per refused request).
 * - `too_large`: the message is over `maxMessageBytes` or the queue's `maxPayloadBytes`, or the request over `maxBodyBytes` or `maxBatchMessages` (one event per request).
 * - `bad_request`: an authenticated request that is not a JSON batch or message (not JSON, not UTF-8, wrong content type, empty batch; one event per request).
 * - `queue_unavailable`: a valid message that was not accepted because the queue could not store its batch.
 * - `unauthorized`: reserved for requests without a valid key; intake counts those only as `request` events with status 401.
 */
export type IntakeRejection = 'invalid' | 'wrong_project' | 'channel_disabled' | 'no_destination' | 'too_large' | 'unauthorized' | 'bad_request' | 'queue_unavailable';

/** What intake reports for metrics: one event per message decided, and one per request answered. */
export type IntakeEvent =
  | {
      /** A message of a batch was stored in the queue (or was already there). */
      readonly type: 'accepted' | 'duplicate';
      readonly project: string;
      readonly channel: Channel;
      /** `true` on an accepted message that is a second version: its message id was already queued or recently archived with other content. */
      readonly version?: true;
    }
  | {
      /** A message (or, for some reasons, a whole request) was refused. `channel` only when the message named a valid one. */
      readonly type: 'rejected';
      readonly project: string;
      readonly channel?: Channel;
      readonly reason: IntakeRejection;
    }
  | {
      /** A before-send archive call ended. */
      readonly type: 'gate';
      readonly project: string;
      readonly channel: Channel;
      /** `archived` (201) or `failed` (failed to archive). */
      readonly result: 'archived' | 'failed';
      /** The destination error kind when it failed. */
      readonly kind?: DestinationErrorKind;
      /** Time from the request's start to the answer, in seconds. */
      readonly seconds: number;
      /** `true` when it was stored as a version next to a different copy under the same key. */
      readonly version?: true;
    }
  | {
      /** A request was answered. */
      readonly type: 'request';
      /** The route, e.g. `/v1/messages`, or `other`. */
      readonly route: string;
      readonly status: number;
    };

/** Readiness as reported by `GET /readyz`. */
export interface Readiness {
  /** `true` when the worker can take and store messages. */
  readonly ready: boolean;
  /** Named checks, e.g. `{ queue: 'ok', 'destination local': 'probe failed: …' }`. */
  readonly checks: Readonly<Record<string, string>>;
}

/** What the before-send gate needs of the archive ledgers (see `WorkerLedgers`). */
export interface GateLedger {
  /** Whether messages stored with `archiver` get a ledger entry, and so must be recorded. */
  writes(archiver: Archiver): boolean;
  /**
   * Records a message `archiver` is about to store, while it is written; the record's outcome
   * follows the write's (see {@link GateRecord}).
   */
  recordStoring(message: QueueMessageInput, archiver: Archiver): GateRecord;
}

/**
 * A before-send gate call's record in the queue ("stored, not yet in the ledger"), made while the
 * object is written so that the record's fsync and the write overlap instead of adding up.
 */
export interface GateRecord {
  /** Resolves once the record is durable; rejects (a `QueueError`) when the queue cannot store it. Handled: no need to await it after {@link discard}. */
  readonly recorded: Promise<void>;
  /**
   * The object is stored, with its ledger entry at `position` (`undefined`: no entry is written):
   * the record is removed once that entry is durable. Call it once {@link recorded} has resolved.
   */
  stored(position: number | undefined): void;
  /** The object was not stored: the record is removed without the message counting as archived. Never throws. */
  discard(): void;
}

/** Options for {@link createIntakeServer}. */
export interface IntakeServerOptions {
  /** Where accepted messages go; a `202` is sent only once they are durable in it. */
  readonly queue: MessageQueue;
  /** Projects, API keys, channels and archivers (the live configuration). */
  readonly directory: ProjectDirectory;
  /**
   * The archive ledgers (the worker's `createWorkerLedgers()`): a message the before-send gate
   * stores with an archiver that writes a ledger is recorded in the queue as "stored, not yet in
   * the ledger" before the gate answers, so it is listed even if the worker dies before its entry's
   * segment is written. @default none: the gate records nothing (a crash can leave its objects unlisted)
   */
  readonly ledger?: GateLedger;
  /** Size limits. */
  readonly limits?: IntakeLimits;
  /** Text served at `GET /metrics` (Prometheus exposition format). @default the route answers 404 */
  readonly metrics?: { readonly contentType: string; readonly render: () => Promise<string> | string };
  /**
   * Token that `GET /metrics` and the detail of `GET /readyz` require, sent as
   * `Authorization: Bearer <token>`. With it, `/metrics` answers 401 without the token, and
   * `/readyz` still answers 200 or 503 to anyone but shows its checks (which name projects,
   * destinations and buckets) only to the token's holder. `/healthz` never needs it.
   * @default none: both routes answer anyone, checks included
   */
  readonly metricsToken?: string;
  /** Answer of `GET /readyz`. @default ready when the queue answers */
  readonly readiness?: () => Promise<Readiness> | Readiness;
  /** Receives an event per message decided and per request answered, for metrics. Should not throw: a throw is logged (`intake.event_failed`) and the event is lost. */
  readonly onEvent?: (event: IntakeEvent) => void;
  /** Receives structured log entries (ids, counts and kinds only). @default none */
  readonly logger?: WorkerLogger;
  /** Clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /**
   * Serve HTTPS with this PEM certificate (chain) and private key instead of plain HTTP. Replace
   * them while running with `server.setSecureContext()`. @default plain HTTP
   */
  readonly tls?: IntakeTls;
}

/** The HTTPS listener's certificate and key, PEM. */
export interface IntakeTls {
  /** The certificate, followed by its intermediates, PEM. */
  readonly cert: string | Buffer;
  /** The certificate's private key, PEM (unencrypted). */
  readonly key: string | Buffer;
}

/** The HTTP intake. */
export interface IntakeServer {
  /** The underlying `node:http` server, e.g. to read its address or watch its connections. Use `listen()` and `close()` to start and stop it. */
  readonly server: Server | HttpsServer;
  /** Starts listening; resolves with the URL it answers on, e.g. `http://127.0.0.1:8787`. Port 0 picks a free port. */
  listen(port: number, host?: string): Promise<string>;
  /**
   * Stops taking connections, lets requests in progress finish for up to `graceMs` milliseconds
   * (default 10000), then closes the rest.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>;
}
