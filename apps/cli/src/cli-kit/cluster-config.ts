import { Option, type Command } from 'commander';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsConnectOptions, openJetStreamConfigStore, type JetStreamConfigStore } from '@sentcopy/worker';
import { CliError } from './cli-error.js';
import { exitCodes } from './exit-codes.js';

/** Where a cluster of workers keeps its configuration: a NATS server and the deployment name. */
export interface ClusterLocation {
  /** The NATS server URL (it may hold credentials: never printed). */
  readonly url: string;
  /** The deployment name the workers were started with. @default 'sentcopy' */
  readonly name?: string;
}

/**
 * Adds `--nats <url>` and `--nats-name <name>` to a command. With `fromEnvironment`, `--nats` also
 * reads SENTCOPY_NATS_URL (for commands that only make sense on a cluster).
 */
export function addClusterOptions(command: Command, fromEnvironment = false): Command {
  const nats = new Option('--nats <url>', fromEnvironment ? 'NATS server of the cluster' : "use the cluster's configuration (its key-value bucket on this NATS server) instead of a file");
  return command.addOption(fromEnvironment ? nats.env('SENTCOPY_NATS_URL') : nats).addOption(new Option('--nats-name <name>', 'deployment name the workers were started with').default('sentcopy'));
}

/** The cluster the options name, if `--nats` was given. */
export function clusterOf(options: { readonly nats?: string; readonly natsName?: string }): ClusterLocation | undefined {
  return options.nats === undefined || options.nats === '' ? undefined : { url: options.nats, ...(options.natsName === undefined ? {} : { name: options.natsName }) };
}

/**
 * Opens the cluster's configuration bucket for `use`, and closes it (and the connection) after.
 * `baseDir` is where third-party destination packages are looked up when a configuration is
 * checked before it is written (a pushed file's folder). @default the working directory
 */
export async function withClusterStore<T>(cluster: ClusterLocation, use: (store: JetStreamConfigStore) => Promise<T>, baseDir?: string): Promise<T> {
  let connection: NatsConnection;
  try {
    connection = await connect({ ...natsConnectOptions(cluster.url), name: 'sentcopy-cli', timeout: 5_000 });
  } catch (error) {
    // Never echo the URL: it may hold a password.
    throw new CliError(`Cannot reach the NATS server (${(error as { code?: string }).code ?? (error as Error).name}).`, {
      exitCode: exitCodes.unavailable,
      code: 'nats_unreachable',
      hint: 'Check the URL and that nats-server runs with JetStream (-js).',
    });
  }
  try {
    const store = await openJetStreamConfigStore({ connection, ...(cluster.name === undefined ? {} : { name: cluster.name }), ...(baseDir === undefined ? {} : { baseDir }) });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  } finally {
    await connection.close();
  }
}

/** What the workers of a cluster did with a pushed configuration. */
export interface PushOutcome {
  /** Workers that run it now. */
  readonly applied: readonly string[];
  /** Workers that refused it (and keep running an older one), with their problems. */
  readonly refused: readonly { readonly worker: string; readonly problem: string }[];
  /** Workers that did not report on it within the wait (busy, cut off, or an older version without reports). */
  readonly pending: readonly string[];
}

/**
 * Waits up to `waitMs` milliseconds for every live worker of the cluster to report that it applied
 * or refused the configuration whose text has SHA-256 `sha256`.
 */
export async function awaitWorkers(store: JetStreamConfigStore, sha256: string, waitMs: number): Promise<PushOutcome> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const statuses = await store.workerStatuses();
    const outcome: PushOutcome = {
      applied: statuses.filter((status) => status.applied === sha256).map((status) => status.worker),
      refused: statuses.filter((status) => status.refused?.sha256 === sha256).map((status) => ({ worker: status.worker, problem: status.refused!.problem })),
      pending: statuses.filter((status) => status.applied !== sha256 && status.refused?.sha256 !== sha256).map((status) => status.worker),
    };
    if (outcome.pending.length === 0 || Date.now() >= deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The human lines for a {@link PushOutcome}. */
export function describePushOutcome(outcome: PushOutcome): string[] {
  const total = outcome.applied.length + outcome.refused.length + outcome.pending.length;
  if (total === 0) return ['No worker of the cluster is running; workers apply it when they start.'];
  const lines = [`Applied by ${outcome.applied.length} of ${total} worker(s).`];
  for (const { worker, problem } of outcome.refused) lines.push(`Refused by ${worker} (it keeps running its previous configuration and is not ready): ${problem}`);
  for (const worker of outcome.pending) lines.push(`No answer yet from ${worker}.`);
  return lines;
}
