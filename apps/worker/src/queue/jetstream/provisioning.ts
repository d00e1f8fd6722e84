import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { QueueError } from '../queue-error.js';
import type { JetStreamNames } from './jetstream-names.js';

/** What one deployment keeps on the server, as the queue needs it after provisioning. */
export interface Provisioned {
  /** One entry per queued message, removed (without a tombstone) once it is settled. */
  readonly queued: KV;
  /** Archived ids for the de-duplication window; `undefined` when the window is 0. */
  readonly archived: KV | undefined;
}

/** Settings the streams, consumers and buckets are made with. */
export interface ProvisioningSettings {
  readonly ackWaitMs: number;
  readonly retentionMs: number;
  readonly deadLetterRetentionMs: number;
  readonly dedupeWindowMs: number;
  readonly maxInFlight: number;
}

/** The friendly error for a server that does not run JetStream; anything else as a storage error. */
export function jetStreamError(error: unknown): QueueError {
  if (QueueError.isInstance(error)) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (/jetstream.*not enabled|no responders|503/i.test(text)) {
    return new QueueError('storage', 'The NATS server does not run JetStream: start it with `nats-server -js` (and a store folder, `-sd DIR`).', { cause: error });
  }
  if (/permissions? violation/i.test(text)) {
    return new QueueError('storage', 'The NATS user may not use the subjects this queue needs: see "NATS permissions" in docs/cluster.md.', { cause: error });
  }
  return new QueueError('storage', `The NATS server failed the request: ${text}`, { cause: error });
}

const notFound = (error: unknown) => (error as { code?: unknown }).code === 404 || /not found/i.test(String((error as Error).message));

/**
 * After an add lost the race to another worker ("subjects overlap", "already in use"), waits until
 * the winner's stream or consumer answers `exists()`: the server may refuse the loser before it
 * answers for the winner's. `false` when it never does (a real conflict: the add's error is the answer).
 */
async function lostRace(addError: unknown, exists: () => Promise<boolean>): Promise<boolean> {
  const raced = /overlap|in use|already exists/i.test(String((addError as Error | undefined)?.message));
  for (let attempt = 0; attempt < (raced ? 8 : 1); attempt++) {
    if (await exists().catch(() => false)) return true;
    if (raced) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
  }
  return false;
}

async function ensureStream(manager: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    const current = (await manager.streams.info(config.name)).config;
    if (current.max_age !== config.max_age || current.duplicate_window !== config.duplicate_window) {
      await manager.streams.update(config.name, { ...current, max_age: config.max_age ?? current.max_age, duplicate_window: config.duplicate_window ?? current.duplicate_window });
    }
  } catch (error) {
    if (!notFound(error)) throw error;
    // Workers started together race to create the stream; the loser's add fails ("subjects overlap",
    // "already in use") although the stream it wanted now exists: then it uses that one.
    await manager.streams.add(config).catch(async (addError: unknown) => {
      if (!(await lostRace(addError, async () => (await manager.streams.info(config.name)) !== undefined))) throw addError;
      await ensureStream(manager, config);
    });
  }
}

async function ensureConsumer(manager: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  const existing = await manager.consumers.info(stream, config.durable_name).catch((error: unknown) => {
    if (notFound(error)) return undefined;
    throw error;
  });
  if (existing === undefined) {
    // The same race as for streams: another worker may have created the consumer since the lookup.
    await manager.consumers.add(stream, config).catch(async (addError: unknown) => {
      if (!(await lostRace(addError, async () => (await manager.consumers.info(stream, config.durable_name)) !== undefined))) throw addError;
    });
  } else if (existing.config.ack_wait !== config.ack_wait || existing.config.max_ack_pending !== config.max_ack_pending) {
    await manager.consumers.update(stream, config.durable_name, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
  }
}

/**
 * Creates on first use, and brings up to date, the streams, consumers and buckets of a deployment.
 * Held retries live in a stream of their own with a consumer of its own, so the messages waiting
 * for a down destination never take the ack-pending slots the ready messages of other projects need.
 */
export async function provision(manager: JetStreamManager, client: JetStreamClient, names: JetStreamNames, settings: ProvisioningSettings): Promise<Provisioned> {
  const duplicateWindow = nanos(settings.retentionMs === 0 ? 120_000 : Math.min(120_000, settings.retentionMs));
  for (const [name, subject] of [
    [names.queueStream, `${names.deployment}.queue.>`],
    [names.heldStream, `${names.deployment}.held.>`],
  ] as const) {
    await ensureStream(manager, {
      name,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(settings.retentionMs),
      duplicate_window: duplicateWindow,
      allow_direct: true,
    });
  }
  await ensureStream(manager, {
    name: names.deadStream,
    subjects: [`${names.deployment}.dead.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(settings.deadLetterRetentionMs),
    duplicate_window: nanos(120_000),
    allow_direct: true,
  });
  // The records discarded dead letters leave: small, and kept for good (an audit trail).
  await ensureStream(manager, {
    name: names.discardedStream,
    subjects: [names.discardedSubject()],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: 0,
    duplicate_window: nanos(120_000),
    allow_direct: true,
  });
  const common = { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_deliver: -1, ack_wait: nanos(settings.ackWaitMs), max_waiting: 512 };
  await ensureConsumer(manager, names.queueStream, { ...common, durable_name: names.consumer, max_ack_pending: settings.maxInFlight });
  // Every held message stays pending on this consumer (a delayed redelivery) until it is due: no limit.
  await ensureConsumer(manager, names.heldStream, { ...common, durable_name: names.scheduler, max_ack_pending: -1 });
  const buckets = new Kvm(client);
  // The KV library looks the bucket up and adds it when missing, so workers started together race here too.
  const bucket = (name: string, ttl: number) =>
    buckets.create(name, { history: 1, ttl, storage: StorageType.File }).catch(async (addError: unknown) => {
      if (!(await lostRace(addError, async () => (await manager.streams.info(`KV_${name}`)) !== undefined))) throw addError;
      return buckets.create(name, { history: 1, ttl, storage: StorageType.File });
    });
  const queued = await bucket(names.queuedBucket, settings.retentionMs);
  const archived = settings.dedupeWindowMs === 0 ? undefined : await bucket(names.archivedBucket, settings.dedupeWindowMs);
  return { queued, archived };
}

/**
 * Fails with the friendly error when the server does not run JetStream (or the user may not use
 * its API), before anything else (the configuration bucket, the queue) tries to use it.
 */
export async function assertJetStream(connection: NatsConnection): Promise<void> {
  try {
    await jetstreamManager(connection);
  } catch (error) {
    throw jetStreamError(error);
  }
}
