import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { createPreparePool, prepareThreadRetryMs } from '@sentcopy/core';
import { createAlertNotifier, watchQueueHealth } from './alerts/index.js';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createDestinationHealth, type DestinationHealthState } from './destination-health/index.js';
import {
  ConfigError,
  createConfigRuntime,
  defaultConfig,
  defaultRecipientKeyVariable,
  ensureRecipientKeyInEnvFile,
  envFileFor,
  environmentWithEnvFile,
  openJetStreamConfigStore,
  type ConfigTextSource,
  type JetStreamConfigStore,
  type SecretReference,
} from './config/index.js';
import { createIntakeServer, type IntakeLimits } from './intake/index.js';
import { certificateNotAfter, loadTlsFiles, tlsFilesOf, watchTlsFiles } from './intake/intake-tls.js';
import { createWorkerLedgers, type LedgerState } from './ledger/index.js';
import type { WorkerLogger } from './logging/index.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics/index.js';
import { createProcessor } from './processor/index.js';
import { workerVersion } from './worker-version.js';
import { assertJetStream, createEmbeddedQueue, createJetStreamQueue, natsConnectOptions, QueueError, queueRetentionMs, type MessageQueue } from './queue/index.js';

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
  /** Most writes in flight per destination. @default 32 */
  readonly concurrencyPerDestination?: number;
  /**
   * Write queued messages to each destination from a thread of its own, which builds its own instance
   * of the destination from the configuration (signing and sending stay off the event loop that runs
   * the queue and the ledger). The before-send gate writes on the event loop either way.
   * @default true when the machine has 2 cores or more
   */
  readonly writeThreads?: boolean;
  /** Where `{ "env": … }` secrets are read from; variables it lacks are read from the env file beside the configuration file. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait before probing a destination again after its probe failed, in milliseconds. @default 30000 */
  readonly probeRetryMs?: number;
  /** Receives structured log entries. @default none */
  readonly logger?: WorkerLogger;
  /**
   * Run as one of a cluster of workers on NATS JetStream: messages go through the cluster's shared
   * stream, and the configuration is read from (and watched in) its key-value bucket, so a change
   * reaches every worker. When the bucket is empty it is seeded from `configFile` if that file
   * exists (`createConfig` is ignored: a worker never invents a cluster's configuration); without
   * one, the worker waits until a configuration is pushed. Afterwards the file is not read.
   * @default the embedded queue and the configuration file
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
  /** Ids of the projects configured when the worker started (for sample commands; the configuration may change later). */
  readonly projectIds: readonly string[];
  /** Stops taking requests, finishes or returns the work in hand, and closes the queue and destinations. */
  stop(): Promise<void>;
}

async function connectToNats(url: string): Promise<NatsConnection> {
  try {
    return await connect({ ...natsConnectOptions(url), name: 'sentcopy-worker', maxReconnectAttempts: -1, noAsyncTraces: true });
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
      await assertJetStream(connection);
      const store = await openJetStreamConfigStore({ connection, ...(options.nats.name === undefined ? {} : { name: options.nats.name }) });
      stack.push(() => store.close());
      source = store;
      if ((await store.read()) === undefined) {
        // The cluster's configuration is the operator's: a worker seeds it only from a file the operator
        // wrote, never from a default it made up (that would replace the real projects' keys for every worker).
        if (existsSync(configFile) && (await store.seed(await readFile(configFile, 'utf8')))) {
          options.logger?.({ level: 'info', event: 'config.seeded', message: `The cluster had no configuration; stored ${configFile} in the ${store.bucket} bucket.`, bucket: store.bucket });
        }
        await waitForClusterConfig(store, options.logger);
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
    const onThreadError = (error: Error) =>
      options.logger?.({
        level: 'error',
        event: 'prepare.thread_failed',
        message: `${error.message} Messages are prepared on the main thread meanwhile (slower; nothing is lost); a thread is tried again in ${prepareThreadRetryMs / 1000} s.`,
      });
    const pool = options.prepareThreads === 0 ? undefined : createPreparePool({ onThreadError, ...(options.prepareThreads === undefined ? {} : { threads: options.prepareThreads }) });
    if (pool !== undefined) stack.push(() => pool.close());
    // One owner of each destination's health: the runtime reports probes, the processor writes;
    // readiness, metrics and alerts read it. It hurries waiting messages once a destination takes writes.
    const health = createDestinationHealth({ pauseAfterFailures: 5, ...(options.logger === undefined ? {} : { logger: options.logger }) });
    stack.push(async () => health.close());
    // The queue opens after the configuration is read, because the file may say where the queue lives.
    let openedQueue: MessageQueue | undefined;
    let stateDirectory: string | undefined;
    // One ledger writer per destination: the embedded worker's chains continue across restarts (ids
    // kept in the queue's folder); each worker of a cluster writes chains of its own.
    const ledgers = createWorkerLedgers({ stateDirectory: () => stateDirectory, ...(options.logger === undefined ? {} : { logger: options.logger }) });
    const runtime = await createConfigRuntime({
      ledgers,
      file: configFile,
      ...(source === undefined ? {} : { source }),
      health,
      queue: { hurry: (projects) => openedQueue?.hurry(projects) ?? Promise.resolve(0) },
      ...(options.probeRetryMs === undefined ? {} : { probeRetryMs: options.probeRetryMs }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(pool === undefined ? {} : { preparePool: pool }),
      writeThreads: options.writeThreads ?? availableParallelism() > 1,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      onReload: () => reportTo?.observeReload('applied'),
      onReloadError: () => reportTo?.observeReload('refused'),
    });
    stack.push(() => runtime.close());
    const settings = runtime.settings();
    if (options.nats === undefined) stateDirectory = path.resolve(options.queueDirectory ?? settings.queueDirectory);
    const queue =
      connection === undefined || options.nats === undefined
        ? await createEmbeddedQueue({ directory: options.queueDirectory ?? settings.queueDirectory })
        : await createJetStreamQueue({
            connection,
            retentionMs: queueRetentionMs(settings.retryPolicy),
            ...(options.nats.name === undefined ? {} : { name: options.nats.name }),
            ...(options.nats.ackWaitMs === undefined ? {} : { ackWaitMs: options.nats.ackWaitMs }),
            onBackgroundError: (error) => options.logger?.({ level: 'error', event: 'queue.background_failed', message: `The JetStream queue's own work failed (it retries): ${error.message}` }),
          });
    openedQueue = queue;
    stack.push(() => queue.close());
    ledgers.connectQueue(queue);
    // Unwound after the processor stopped and before the queue closes: the last segments are
    // written, and the messages waiting for them removed (or, if they cannot be, kept for a restart).
    stack.push(() => ledgers.close());
    // Destinations that passed their probe before the queue opened (a restart) get their parked messages back now.
    health.connectQueue(queue);
    // Created after the runtime (it needs the projects), so the first load is recorded here.
    const metrics = createWorkerMetrics({
      queue,
      isKnownProject: (id) => runtime.project(id) !== undefined,
      isDeclaredChannel: (name) => Object.values(runtime.config().projects).some((project) => project.channels.includes(name)),
      destinationHealth: health,
      ledgers,
    });
    reportTo = metrics;
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
    const metricsToken = secret(runtime.config().http?.metrics?.token, 'http.metrics.token');
    const alerts =
      webhookUrl === undefined ? undefined : createAlertNotifier({ url: webhookUrl, health, ...(webhookSecret === undefined ? {} : { secret: webhookSecret }), ...(options.logger === undefined ? {} : { logger: options.logger }) });
    if (alerts !== undefined) stack.push(() => alerts.close());
    const stopLedgerAlerts = ledgers.subscribe((change) => alerts?.onLedgerHealth(change));
    stack.push(async () => stopLedgerAlerts());
    const queueWatch = watchQueueHealth({
      queue,
      onChange(health, previous) {
        if (!health.ok) options.logger?.({ level: 'error', event: 'queue.unhealthy', message: health.reason ?? 'The queue refuses new messages.', problem: health.problem });
        else if (previous !== undefined) options.logger?.({ level: 'info', event: 'queue.recovered', message: 'The queue stores new messages again.', problem: previous.problem });
        alerts?.onQueueHealth(health);
      },
    });
    stack.push(async () => queueWatch.stop());
    // Labels and alerts name destinations as the configuration does; their ids can hold local paths.
    const destinationName = (id: string | undefined) => (id === undefined ? undefined : runtime.destinations().find((destination) => destination.id === id)?.name);
    const processor = createProcessor({
      queue,
      archiverFor: (project) => runtime.archiverFor(project, 'queued'),
      retryPolicy: settings.retryPolicy,
      missingDestinationReason: (project) => runtime.missingDestinationReason(project),
      health,
      ledger: ledgers,
      ...(options.concurrencyPerDestination === undefined ? {} : { concurrencyPerDestination: options.concurrencyPerDestination }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      onOutcome: (outcome) => {
        const name = destinationName('destination' in outcome ? outcome.destination : undefined);
        const info = name === undefined ? {} : { destination: name };
        metrics.observeOutcome(outcome, info);
      },
    });
    processor.start();
    stack.push(() => processor.stop());
    // TLS is read when the worker starts, like the rest of http; the files themselves are watched.
    const tlsConfig = runtime.config().http?.tls;
    const tlsFiles = tlsConfig === undefined ? undefined : tlsFilesOf(tlsConfig, path.dirname(configFile));
    const tls = tlsFiles === undefined ? undefined : await loadTlsFiles(tlsFiles, configFile);
    const intake = createIntakeServer({
      ...(tls === undefined ? {} : { tls }),
      queue,
      directory: runtime,
      // Gate calls are recorded in the queue until their ledger entries are durable, as queued messages are.
      ledger: ledgers,
      limits: { ...settings.limits, ...options.limits },
      metrics,
      ...(metricsToken === undefined ? {} : { metricsToken }),
      onEvent: (event) => metrics.observeIntake(event),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      async readiness() {
        // A store that is damaged, gone or full refuses new messages: the worker is not ready, and says why.
        const queueHealth = queue.health?.() ?? { ok: true };
        if (queueHealth.ok) await queue.stats();
        const checks: Record<string, string> = { queue: queueHealth.ok ? 'ok' : `${queueHealth.problem}: ${queueHealth.reason}` };
        for (const destination of runtime.destinations()) checks[`destination ${destination.name}`] = destinationCheck(destination.ready, destination.problem, health.state(destination.name));
        // In a cluster, a worker that refused the shared configuration cannot serve what it adds (new
        // projects, keys): it leaves the traffic to the workers that applied it. Alone, it keeps serving the old one.
        // A ledger that cannot be written is loud but does not stop intake: messages wait as stored, not yet in the ledger.
        for (const ledger of ledgers.snapshot()) checks[`ledger ${ledger.destination}`] = ledgerCheck(ledger);
        const refused = runtime.configProblem();
        if (refused !== undefined) checks['config'] = `refused the current configuration since ${new Date(refused.since).toISOString()}: ${refused.problem}`;
        // Messages for a destination that is down wait in the queue (every worker shares the destination,
        // so taking this one out of rotation would not help): the destination checks say what is wrong.
        return { ready: queueHealth.ok && (refused === undefined || source === undefined), checks };
      },
    });
    const url = await intake.listen(options.port ?? settings.port ?? 8787, options.host ?? settings.host ?? '127.0.0.1');
    stack.push(() => intake.close());
    if (tls !== undefined && tlsFiles !== undefined && 'setSecureContext' in intake.server) {
      const server = intake.server;
      metrics.setTlsCertificateNotAfter(certificateNotAfter(tls.cert));
      const stopWatching = watchTlsFiles({
        files: tlsFiles,
        onChange: () => {
          loadTlsFiles(tlsFiles, configFile).then(
            (pair) => {
              server.setSecureContext({ cert: pair.cert, key: pair.key });
              metrics.observeTlsReload('applied');
              metrics.setTlsCertificateNotAfter(certificateNotAfter(pair.cert));
              options.logger?.({ level: 'info', event: 'tls.reloaded', message: 'Loaded the changed TLS certificate and key; new connections get them.' });
            },
            (error: unknown) => {
              metrics.observeTlsReload('refused');
              options.logger?.({ level: 'error', event: 'tls.reload_failed', message: `Kept the previous TLS certificate and key: ${(error as Error).message}` });
            },
          );
        },
      });
      stack.push(async () => stopWatching());
    }
    options.logger?.({ level: 'info', event: 'worker.started', message: `The worker ${workerVersion} takes messages at ${url}.`, url, version: workerVersion });
    let stopping: Promise<void> | undefined;
    return {
      url,
      configFile,
      configSource: source === undefined ? 'file' : 'jetstream',
      projectIds: Object.keys(runtime.config().projects),
      ...(created === undefined ? {} : { createdApiKey: created.apiKey, createdProject: created.project }),
      stop: () => (stopping ??= unwind()),
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** How often a worker of a cluster without a configuration looks for one, in milliseconds. */
const clusterConfigPollMs = 1_000;
/** How often it says that it is still waiting, in milliseconds. */
const clusterConfigNagMs = 30_000;

/** Waits until the cluster's bucket holds a configuration (pushed by the operator, or seeded by another worker). */
async function waitForClusterConfig(store: JetStreamConfigStore, logger: WorkerLogger | undefined): Promise<void> {
  let nagged = 0;
  while ((await store.read()) === undefined) {
    if (Date.now() - nagged >= clusterConfigNagMs) {
      nagged = Date.now();
      logger?.({
        level: 'warn',
        event: 'config.waiting',
        message: `The cluster's ${store.bucket} bucket holds no configuration, and this worker has no configuration file to start it with; waiting for one. Push one with \`sentcopy config push FILE --nats URL\`.`,
        bucket: store.bucket,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, clusterConfigPollMs));
  }
}

/** A destination's line in `/readyz`: `ok`, why its probe has not passed, or why its writes are failing. */
function destinationCheck(ready: boolean, problem: string | undefined, state: DestinationHealthState | undefined): string {
  if (state?.kind !== undefined && state.kind !== 'probe_failed') {
    const since = state.since === undefined ? '' : ` since ${new Date(state.since).toISOString()}`;
    const paused = state.paused ? '; writes are paused until a probe passes' : '';
    const count = state.consecutiveFailures > 0 ? ` (${state.consecutiveFailures} in a row)` : '';
    return `unhealthy: writes fail with ${state.kind}${since}${count}: ${state.reason ?? 'failing'}${paused}; messages wait in the queue`;
  }
  if (!ready) return problem ?? 'not ready';
  return 'ok';
}

/** A ledger's line in `/readyz`: `ok` (with what waits, if anything), or why its segments fail. */
function ledgerCheck(state: LedgerState): string {
  const waiting = state.pendingEntries === 0 ? '' : `${state.pendingEntries} entries pending${state.oldestPendingAt === undefined ? '' : `, the oldest for ${Math.round((Date.now() - state.oldestPendingAt) / 1000)} s`}`;
  if (state.healthy) return waiting === '' ? 'ok' : `ok (${waiting})`;
  const since = state.since === undefined ? '' : ` since ${new Date(state.since).toISOString()}`;
  return `unhealthy: segments cannot be written${since}: ${state.reason ?? 'failing'}; ${waiting || 'entries pending'}; archiving goes on, the messages wait in the queue as stored, not yet in the ledger`;
}

async function writeDefaultConfig(configFile: string): Promise<{ apiKey: string; project: string }> {
  const { config, apiKey } = defaultConfig({ root: 'sentcopy-archive' });
  await mkdir(path.dirname(configFile), { recursive: true });
  // The secret goes first, so the configuration never references a variable that is nowhere.
  await ensureRecipientKeyInEnvFile(envFileFor(configFile), defaultRecipientKeyVariable);
  await writeFile(configFile, `${JSON.stringify({ $schema: 'https://sentcopy.dev/schema/worker-config-v1.schema.json', ...config }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { apiKey, project: Object.keys(config.projects)[0] as string };
}
