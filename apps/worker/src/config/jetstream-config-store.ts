import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { ConfigTextSource } from './config-text-source.js';
import { parseConfigText } from './validate-config.js';

/** The key the worker configuration is stored under in its bucket. */
const configKey = 'worker-config';

/** A worker configuration kept in a JetStream key-value bucket, shared by every worker of a cluster. */
export interface JetStreamConfigStore extends ConfigTextSource {
  /** The bucket's name, e.g. `sentcopy-config`. */
  readonly bucket: string;
  /**
   * Validates `text` as a worker configuration (secret references are not resolved: they are read
   * on each worker) and stores it; every watching worker applies it within a second or two.
   * Throws a `ConfigError` listing every problem, storing nothing.
   */
  write(text: string): Promise<void>;
  /** Stores `text` only when the bucket has no configuration yet; resolves whether it did. */
  seed(text: string): Promise<boolean>;
  /**
   * What every live worker of the cluster last did with the configuration: applied it or refused
   * it, by the SHA-256 of the text. A worker's entry disappears about a minute after it stops.
   */
  workerStatuses(): Promise<WorkerConfigStatus[]>;
  /** Stops every watch. Leaves the connection open. */
  close(): Promise<void>;
}

/** What one worker of a cluster did with the cluster's configuration, as it reports it. */
export interface WorkerConfigStatus {
  /** The worker's id: host name, process id and a random part, unique per process. */
  readonly worker: string;
  /** SHA-256 (hex) of the configuration text the worker runs on. */
  readonly applied?: string;
  /** The newest text it refused, while it runs on an older one: its SHA-256 and the problems (paths, never values). */
  readonly refused?: { readonly sha256: string; readonly problem: string };
  /** When the worker last reported, in epoch milliseconds. */
  readonly at: number;
}

/** SHA-256 (hex) of a configuration text, as {@link WorkerConfigStatus} names texts. */
export const configTextSha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** How long a worker's status outlives its last report, in milliseconds. */
const statusTtlMs = 60_000;
/** How often a running worker reports its status again, in milliseconds. */
const statusHeartbeatMs = 20_000;

/** Options for {@link openJetStreamConfigStore}. */
export interface JetStreamConfigStoreOptions {
  /** An open NATS connection; the store never closes it. */
  readonly connection: NatsConnection;
  /** The deployment name the queue uses too; the bucket is `<name>-config`. @default 'sentcopy' */
  readonly name?: string;
  /**
   * Folder third-party destination packages are looked up from (before the writer's own
   * installation) when a configuration is checked before it is written: the pushed file's folder.
   * @default process.cwd()
   */
  readonly baseDir?: string;
}

/** Opens (creating on first use) the configuration bucket of a JetStream deployment. */
export async function openJetStreamConfigStore(options: JetStreamConfigStoreOptions): Promise<JetStreamConfigStore> {
  const bucket = `${options.name ?? 'sentcopy'}-config`;
  const kv: KV = await new Kvm(options.connection).create(bucket, { history: 10 });
  const watches = new Set<QueuedIterator<KvWatchEntry>>();
  const check = (text: string) => parseConfigText(text, `the ${bucket} bucket`, { shared: true, ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }) });
  // Created on first use by whichever side comes first; the TTL makes a dead worker's entry go away.
  let statusBucket: Promise<KV> | undefined;
  const statuses = () => (statusBucket ??= new Kvm(options.connection).create(`${options.name ?? 'sentcopy'}-worker-status`, { history: 1, ttl: statusTtlMs }));
  const worker = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  let lastStatus: WorkerConfigStatus | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const putStatus = async () => {
    if (lastStatus === undefined) return;
    await (await statuses()).put(worker, JSON.stringify({ ...lastStatus, at: Date.now() }));
  };
  return {
    bucket,
    description: `the ${bucket} bucket`,
    shared: true,
    async read() {
      const entry = await kv.get(configKey);
      return entry === null || entry.operation !== 'PUT' ? undefined : entry.string();
    },
    watch(onChange) {
      let stopped = false;
      let iterator: QueuedIterator<KvWatchEntry> | undefined;
      // Starts with the current value, so a change made between the first read and this watch is not missed.
      void kv.watch({ key: configKey }).then(async (watch) => {
        if (stopped) return watch.stop();
        iterator = watch;
        watches.add(watch);
        for await (const _ of watch) onChange();
      });
      return () => {
        stopped = true;
        iterator?.stop();
        if (iterator !== undefined) watches.delete(iterator);
      };
    },
    async write(text) {
      await check(text);
      await kv.put(configKey, text);
    },
    async seed(text) {
      await check(text);
      try {
        await kv.create(configKey, text);
        return true;
      } catch (error) {
        if ((await kv.get(configKey))?.operation === 'PUT') return false;
        throw error;
      }
    },
    report(outcome) {
      const sha256 = configTextSha256(outcome.text);
      lastStatus =
        outcome.problem === undefined ? { worker, applied: sha256, at: Date.now() } : { worker, ...(lastStatus?.applied === undefined ? {} : { applied: lastStatus.applied }), refused: { sha256, problem: outcome.problem }, at: Date.now() };
      heartbeat ??= setInterval(() => void putStatus().catch(() => undefined), statusHeartbeatMs).unref();
      void putStatus().catch(() => undefined);
    },
    async workerStatuses() {
      const kv = await statuses();
      const found: WorkerConfigStatus[] = [];
      // Not kv.keys(): its ordered consumer can wait forever on a bucket whose entries expire (nats-server
      // #3481), which this one's do. One stream-info request lists the live subjects instead.
      const stream = `KV_${options.name ?? 'sentcopy'}-worker-status`;
      const prefix = `$KV.${options.name ?? 'sentcopy'}-worker-status.`;
      const info = await (await jetstreamManager(options.connection)).streams.info(stream, { subjects_filter: '>' });
      const keys = Object.keys(info.state.subjects ?? {})
        .filter((subject) => subject.startsWith(prefix))
        .map((subject) => subject.slice(prefix.length));
      for (const key of keys) {
        const entry = await kv.get(key);
        if (entry === null || entry.operation !== 'PUT') continue;
        try {
          found.push(JSON.parse(entry.string()) as WorkerConfigStatus);
        } catch {
          // Not written by a worker: left out.
        }
      }
      return found.sort((left, right) => left.worker.localeCompare(right.worker));
    },
    async close() {
      for (const watch of watches) watch.stop();
      watches.clear();
      clearInterval(heartbeat);
      if (lastStatus !== undefined) await (await statuses()).delete(worker).catch(() => undefined);
    },
  };
}
