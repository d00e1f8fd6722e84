import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createPreparePool } from '@sentcopy/core';
import { createAlertNotifier } from './alerts/index.js';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError, createConfigRuntime, defaultConfig, defaultRecipientKeyVariable, ensureRecipientKeyInEnvFile, envFileFor, environmentWithEnvFile, openJetStreamConfigStore, type ConfigTextSource, type SecretReference } from './config/index.js';
import { createIntakeServer, type IntakeLimits } from './intake/index.js';
import type { WorkerLogger } from './logging/index.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics/index.js';
import { createProcessor } from './processor/index.js';
import { createEmbeddedQueue, createJetStreamQueue, QueueError, queueRetentionMs, type MessageQueue } from './queue/index.js';

/** Where a cluster of workers meets: a NATS server with JetStream. */
export interface NatsClusterOptions {
  /** The NATS server URL, e.g. `nats://10.0.0.5:4222` (credentials may be in it; it is never logged). */
  readonly url: string;
  /** Names the streams and buckets, so several deployments can share one NATS account. @default 'sentcopy' */
  readonly name?: string;
  /** How long before the messages a crashed worker had claimed go to another worker, in milliseconds. @default 30000 */
  readonly ackWaitMs?: number;
}

/** Options for {@link runWorker}. */
export interface RunWorkerOptions {
  /**
   * The configuration file. Created with a zero-setup default (local folder, one project, a new API
   * key, keyed recipient hashes) when missing and `createConfig` is true; the recipient key then
   * goes to the env file beside it (`sentcopy.config.env`, mode 0600), never into the file itself.
   */
  readonly configFile: string;
  /** Write a default configuration when the file is missing. @default false */
  readonly createConfig?: boolean;
  /** Folder of the embedded queue. @default the file's `queue.path`, else `.sentcopy/queue` next to the configuration file */
  readonly queueDirectory?: string;
  /** Interface the HTTP intake listens on. @default the file's `http.host`, else '127.0.0.1' */
  readonly host?: string;
  /** Port of the HTTP intake; 0 picks a free one. @default the file's `http.port`, else 8787 */
  readonly port?: number;
  /** HTTP size limits, over those of the file. */
  readonly limits?: IntakeLimits;
  /** Threads that prepare messages (validate, render, compress, hash) off the event loop; 0 prepares on it. @default one less than the cores, 1 to 4 */
  readonly prepareThreads?: number;
  /** Most writes in flight per destination. @default 16 */
  readonly concurrencyPerDestination?: number;
  /** Where `{ "env": … }` secrets are read from; variables it lacks are read from the env file beside the configuration file. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives structured log entries. @default none */
  readonly logger?: WorkerLogger;
  /**
   * Run as one of a cluster of workers on NATS JetStream: messages go through the cluster's shared
   * stream, and the configuration is read from (and watched in) its key-value bucket, so a change
   * reaches every worker. The bucket is seeded from `configFile` when it is empty; afterwards the
   * file is not read. @default the embedded queue and the configuration file
   */
  readonly nats?: NatsClusterOptions;
}

/** A running worker. */
export interface RunningWorker {
  /** Base URL of the HTTP intake, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  /** Absolute path of the configuration file in use. */
  readonly configFile: string;
  /** The API key of the default project, only when this call created the configuration (it is stored hashed, so this is the one chance to see it). */
  readonly createdApiKey?: string;
  /** Id of the default project, when this call created the configuration. */
  readonly createdProject?: string;
  /** Where the configuration is read from: the file, or the cluster's key-value bucket. */
  readonly configSource: 'file' | 'jetstream';
  /** Stops taking requests, finishes or returns the work in hand, and closes the queue and destinations. */
  stop(): Promise<void>;
}

async function connectToNats(url: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name: 'sentcopy-worker', maxReconnectAttempts: -1, noAsyncTraces: true });
  } catch (error) {
    // The error message can quote the URL, and with it a password.
    throw new QueueError('storage', `Cannot connect to the NATS server (${(error as { code?: string }).code ?? (error as Error).name}); check the URL and that nats-server runs with JetStream (-js).`, { cause: error });
  }
}

/**
 * Starts the whole worker: live configuration, durable queue (embedded, or the cluster's JetStream
 * stream), processing loop, HTTP intake and metrics.
 */
export async function runWorker(options: RunWorkerOptions): Promise<RunningWorker> {
  const configFile = path.resolve(options.configFile);
  let created: { apiKey: string; project: string } | undefined;
  const stack: (() => Promise<unknown>)[] = [];
  const unwind = async () => {
    for (const close of stack.reverse()) await close().catch(() => undefined);
  };
  let connection: NatsConnection | undefined;
  let source: ConfigTextSource | undefined;
  if (options.nats !== undefined) {
    connection = await connectToNats(options.nats.url);
    const opened = connection;
    stack.push(() => opened.close());
    try {
      const store = await openJetStreamConfigStore({ connection, ...(options.nats.name === undefined ? {} : { name: options.nats.name }) });
      stack.push(() => store.close());
      source = store;
      if ((await store.read()) === undefined) {
        if (!existsSync(configFile) && options.createConfig === true) created = await writeDefaultConfig(configFile);
        if (existsSync(configFile) && (await store.seed(await readFile(configFile, 'utf8')))) {
          options.logger?.({ level: 'info', event: 'config.seeded', message: `The cluster had no configuration; stored ${configFile} in the ${store.bucket} bucket.`, bucket: store.bucket });
        }
      } else {
        options.logger?.({ level: 'info', event: 'config.shared', message: `Using the cluster's configuration from the ${store.bucket} bucket.`, bucket: store.bucket });
      }
    } catch (error) {
      await unwind();
      throw error;
    }
  } else if (!existsSync(configFile) && options.createConfig === true) {
    created = await writeDefaultConfig(configFile);
  }

  try {
    let reportTo: WorkerMetrics | undefined;
    const pool = options.prepareThreads === 0 ? undefined : createPreparePool(options.prepareThreads === undefined ? {} : { threads: options.prepareThreads });
    if (pool !== undefined) stack.push(() => pool.close());
    // The runtime hurries a destination's waiting messages once it is ready; the queue opens after the
    // configuration is read, because the file may say where the queue lives.
    let openedQueue: MessageQueue | undefined;
    const runtime = await createConfigRuntime({
      file: configFile,
      ...(source === undefined ? {} : { source }),
      queue: { hurry: (projects) => openedQueue?.hurry(projects) ?? Promise.resolve(0) },
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(pool === undefined ? {} : { preparePool: pool }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      onReload: () => reportTo?.observeReload('applied'),
      onReloadError: () => reportTo?.observeReload('refused'),
      onProbe: (event) => reportTo?.setDestinationHealth(event.destination, event.ok),
    });
    stack.push(() => runtime.close());
    const settings = runtime.settings();
    const queue =
      connection === undefined || options.nats === undefined
        ? await createEmbeddedQueue({ directory: options.queueDirectory ?? settings.queueDirectory })
        : await createJetStreamQueue({
            connection,
            retentionMs: queueRetentionMs(settings.retryPolicy),
            ...(options.nats.name === undefined ? {} : { name: options.nats.name }),
            ...(options.nats.ackWaitMs === undefined ? {} : { ackWaitMs: options.nats.ackWaitMs }),
          });
    openedQueue = queue;
    stack.push(() => queue.close());
    // Created after the runtime (it needs the projects), so the first load is recorded here.
    const metrics = createWorkerMetrics({ queue, isKnownProject: (id) => runtime.project(id) !== undefined });
    reportTo = metrics;
    for (const destination of runtime.destinations()) metrics.setDestinationHealth(destination.name, destination.ready);
    metrics.observeReload('applied');
    const alertsConfig = runtime.config().alerts;
    const env = await environmentWithEnvFile(configFile, options.env ?? process.env);
    const secret = (reference: SecretReference | undefined, field: string): string | undefined => {
      if (reference === undefined) return undefined;
      const value = env[reference.env];
      if (value === undefined || value === '') throw new ConfigError(configFile, [{ path: field, problem: `reads the environment variable ${reference.env}, which is not set` }]);
      return value;
    };
    const webhookUrl = secret(alertsConfig?.webhook_url, 'alerts.webhook_url');
    const webhookSecret = secret(alertsConfig?.secret, 'alerts.secret');
    const alerts = webhookUrl === undefined ? undefined : createAlertNotifier({ url: webhookUrl, ...(webhookSecret === undefined ? {} : { secret: webhookSecret }), ...(options.logger === undefined ? {} : { logger: options.logger }) });
    if (alerts !== undefined) stack.push(() => alerts.close());
    // Labels and alerts name destinations as the configuration does; their ids can hold local paths.
    const destinationName = (id: string | undefined) => (id === undefined ? undefined : runtime.destinations().find((destination) => destination.id === id)?.name);
    const processor = createProcessor({
      queue,
      archiverFor: (project) => runtime.archiverFor(project, 'queued'),
      retryPolicy: settings.retryPolicy,
      missingDestinationReason: (project) => runtime.missingDestinationReason(project),
      breakerFailures: 5,
      ...(options.concurrencyPerDestination === undefined ? {} : { concurrencyPerDestination: options.concurrencyPerDestination }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      onOutcome: (outcome) => {
        const name = destinationName('destination' in outcome ? outcome.destination : undefined);
        const info = name === undefined ? {} : { destination: name };
        metrics.observeOutcome(outcome, info);
        alerts?.onOutcome(outcome, info);
      },
    });
    processor.start();
    stack.push(() => processor.stop());
    const intake = createIntakeServer({
      queue,
      directory: runtime,
      limits: { ...settings.limits, ...options.limits },
      metrics,
      onEvent: (event) => metrics.observeIntake(event),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      async readiness() {
        await queue.stats();
        const checks: Record<string, string> = { queue: 'ok' };
        for (const destination of runtime.destinations()) checks[`destination ${destination.name}`] = destination.ready ? 'ok' : (destination.problem ?? 'not ready');
        for (const [name, state] of Object.entries(alerts?.health().destinations ?? {})) if (!state.healthy) checks[`destination ${name}`] = `unhealthy: ${state.reason ?? state.kind ?? 'failing'}`;
        // Messages for a destination that is down wait in the queue, so only the queue decides readiness.
        return { ready: true, checks };
      },
    });
    const url = await intake.listen(options.port ?? settings.port ?? 8787, options.host ?? settings.host ?? '127.0.0.1');
    stack.push(() => intake.close());
    options.logger?.({ level: 'info', event: 'worker.started', message: `The worker takes messages at ${url}.`, url });
    let stopping: Promise<void> | undefined;
    return {
      url,
      configFile,
      configSource: source === undefined ? 'file' : 'jetstream',
      ...(created === undefined ? {} : { createdApiKey: created.apiKey, createdProject: created.project }),
      stop: () => (stopping ??= unwind()),
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

async function writeDefaultConfig(configFile: string): Promise<{ apiKey: string; project: string }> {
  const { config, apiKey } = defaultConfig({ root: 'sentcopy-archive' });
  await mkdir(path.dirname(configFile), { recursive: true });
  // The secret goes first, so the configuration never references a variable that is nowhere.
  await ensureRecipientKeyInEnvFile(envFileFor(configFile), defaultRecipientKeyVariable);
  await writeFile(configFile, `${JSON.stringify({ $schema: 'https://sentcopy.dev/schema/worker-config-v1.schema.json', ...config }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { apiKey, project: Object.keys(config.projects)[0] as string };
}
