import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import type { ConfigTextSource } from './config-runtime.js';
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
  /** Stops every watch. Leaves the connection open. */
  close(): Promise<void>;
}

/** Options for {@link openJetStreamConfigStore}. */
export interface JetStreamConfigStoreOptions {
  /** An open NATS connection; the store never closes it. */
  readonly connection: NatsConnection;
  /** The deployment name the queue uses too; the bucket is `<name>-config`. @default 'sentcopy' */
  readonly name?: string;
}

/** Opens (creating on first use) the configuration bucket of a JetStream deployment. */
export async function openJetStreamConfigStore(options: JetStreamConfigStoreOptions): Promise<JetStreamConfigStore> {
  const bucket = `${options.name ?? 'sentcopy'}-config`;
  const kv: KV = await new Kvm(options.connection).create(bucket, { history: 10 });
  const watches = new Set<QueuedIterator<KvWatchEntry>>();
  const check = (text: string) => parseConfigText(text, `the ${bucket} bucket`, { shared: true });
  return {
    bucket,
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
      check(text);
      await kv.put(configKey, text);
    },
    async seed(text) {
      check(text);
      try {
        await kv.create(configKey, text);
        return true;
      } catch (error) {
        if ((await kv.get(configKey))?.operation === 'PUT') return false;
        throw error;
      }
    },
    async close() {
      for (const watch of watches) watch.stop();
      watches.clear();
    },
  };
}
