import type { NatsConnection } from '@nats-io/transport-node';

/** Options for {@link createJetStreamQueue}. */
export interface JetStreamQueueOptions {
  /**
   * The NATS server(s) to connect to, e.g. `nats://10.0.0.5:4222`. Credentials may be given in the
   * URL (`nats://user:password@host:4222`); the URL is never logged. Ignored when `connection` is given.
   */
  readonly servers?: string | readonly string[];
  /** An open connection to use instead of `servers`; `close()` leaves it open. */
  readonly connection?: NatsConnection;
  /**
   * Names every stream, consumer and bucket this queue creates (`<NAME>_QUEUE`, `<name>-workers`…), so
   * several deployments can share one NATS account. Letters, digits, `-` and `_`. @default 'sentcopy'
   */
  readonly name?: string;
  /**
   * How long the server waits for a worker that stopped answering (crashed, cut off) before handing
   * its claimed messages to another worker, in milliseconds. Live workers keep their claims with
   * heartbeats, so this only bounds recovery after a crash. @default 30000
   */
  readonly ackWaitMs?: number;
  /** Lease length when `claim()` is given none, in milliseconds. @default 60000 */
  readonly defaultLeaseMs?: number;
  /**
   * How long an archived message (project, message id and payload hash) is remembered, so that
   * submitting the same content again is reported as `duplicate` and other content under its id as
   * a version (`version: true`), in milliseconds. `0` remembers only messages still queued.
   * @default 3600000 (1 hour)
   */
  readonly dedupeWindowMs?: number;
  /**
   * How long the stream keeps a message that was never archived or dead-lettered, in milliseconds;
   * must cover the retry policy's horizon (the worker derives it from the policy). `0` keeps
   * messages until they are settled. @default 0
   */
  readonly retentionMs?: number;
  /**
   * How long dead letters are kept, in milliseconds; `0` keeps them until they are replayed.
   * @default 0
   */
  readonly deadLetterRetentionMs?: number;
  /**
   * Most messages handed out and not yet settled across all workers at once (the consumer's
   * `max_ack_pending`). Messages waiting for a retry do not count: they wait in a stream of their
   * own. @default 20000
   */
  readonly maxInFlight?: number;
  /**
   * How often a claiming queue looks for messages a crash of nats-server left in the streams after
   * they were acknowledged (they would otherwise count in the depth forever), in milliseconds.
   * @default 60000
   */
  readonly repairIntervalMs?: number;
  /**
   * Called when work the queue does on its own fails: moving due retries back to the queue, or
   * repairing what a crash of nats-server left behind. It is retried on its own; this is for logs
   * and alerts. The error never holds a URL or a credential. @default none
   */
  readonly onBackgroundError?: (error: Error) => void;
  /**
   * Largest payload accepted, in bytes. Capped by the server's `max_payload` (1 MiB unless the
   * server is configured otherwise) less room for headers. @default 67108864 (64 MiB)
   */
  readonly maxPayloadBytes?: number;
}
