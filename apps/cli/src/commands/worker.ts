import { Command, InvalidArgumentError, Option } from 'commander';
import { createJsonLineLogger, envFileFor, runWorker, workerVersion, type LogLevel } from '@sentcopy/worker';
import { cliVersion } from '../cli-version.js';

interface WorkerCommandOptions {
  config: string;
  host?: string;
  port?: number;
  queue?: string;
  logLevel: LogLevel;
  json: boolean;
  nats?: string;
  natsName?: string;
  writeThreads: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535.');
  return port;
}

/** `sentcopy worker`: runs the worker (HTTP intake, durable queue, archiving loop) on this machine. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the worker: take messages over HTTP, keep them in a durable local queue, and archive each one to its destination.')
    .option('-c, --config <file>', 'configuration file (written with a local-folder default when missing)', 'sentcopy.config.json')
    .option('--host <address>', "interface to listen on (default: the config's http.host, else 127.0.0.1)")
    .option('-p, --port <number>', "port to listen on, 0 picks a free one (default: the config's http.port, else 8787)", parsePort)
    .option('--queue <folder>', "folder of the durable queue (default: the config's queue.path, else .sentcopy/queue next to the config)")
    .addOption(new Option('--nats <url>', 'join a cluster of workers on NATS JetStream: shared queue stream, configuration in its key-value bucket').env('SENTCOPY_NATS_URL'))
    .addOption(new Option('--nats-name <name>', 'names the streams and buckets of the cluster (several deployments can share one NATS account)').default('sentcopy'))
    .addOption(new Option('--log-level <level>', 'lowest level of the JSON log lines written to stdout').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--json', 'print the start-up summary as one JSON line on stderr instead of text', false)
    .option('--no-write-threads', 'write queued messages from the main thread instead of a thread per destination (about 40 MiB less memory, a slower drain; the default on one core)')
    .addHelpText(
      'after',
      `
On first run it writes sentcopy.config.json (one local-folder destination, ./sentcopy-archive, and
a project "default" with a new API key, shown once) and starts at once. Edit the file while it
runs: changes apply within a second.

Examples:
  $ sentcopy worker                         start on http://127.0.0.1:8787 with the default config
  $ sentcopy worker -c /etc/sentcopy.json -p 9000 --host 0.0.0.0
  $ SENTCOPY_NATS_URL=nats://10.0.0.5:4222 sentcopy worker --host 0.0.0.0   one worker of a cluster
  $ curl -X POST http://127.0.0.1:8787/v1/messages -H "Authorization: Bearer $KEY" \\
      -H 'Content-Type: application/json' -d @messages.json

Cluster: with --nats every worker takes messages, and all of them archive from one JetStream
stream; a crashed worker's messages go to the others. The first worker stores its config file in
the cluster's key-value bucket (a worker without one waits for \`sentcopy config push\`; it never
writes a default there); after that the bucket is the configuration: change it with
\`sentcopy config push FILE --nats URL\`, and every worker applies it within seconds.

Routes: POST /v1/messages (batch, 202 once durable), POST /v1/archive (stored before the answer),
GET /healthz, GET /readyz, GET /metrics (Prometheus). Stop with Ctrl-C: work in hand is finished or
returned to the queue.`,
    )
    .action(async (options: WorkerCommandOptions) => startWorker(options));
}

async function startWorker(options: WorkerCommandOptions): Promise<void> {
  const logger = createJsonLineLogger((line) => process.stdout.write(line), { level: options.logLevel });
  const worker = await runWorker({
    configFile: options.config,
    createConfig: true,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.queue === undefined ? {} : { queueDirectory: options.queue }),
    ...(options.writeThreads ? {} : { writeThreads: false }),
    ...(options.nats === undefined || options.nats === '' ? {} : { nats: { url: options.nats, ...(options.natsName === undefined ? {} : { name: options.natsName }) } }),
    logger,
  });
  const example = JSON.stringify({ version: 1, channel: 'sms', message_id: 'msg-0001', project_id: worker.createdProject ?? worker.projectIds[0] ?? 'default', sent_at: 1767225600000, to: '+15550100000', body: 'Your code is 123456' });
  if (options.json) {
    process.stderr.write(
      `${JSON.stringify({ url: worker.url, version: cliVersion, workerVersion, config: worker.configFile, configSource: worker.configSource, ...(worker.createdApiKey === undefined ? {} : { project: worker.createdProject, apiKey: worker.createdApiKey, recipientKeyFile: envFileFor(worker.configFile) }) })}\n`,
    );
  } else {
    const lines = [
      `sentcopy ${cliVersion} (worker ${workerVersion}) listening on ${worker.url}`,
      worker.configSource === 'jetstream'
        ? `config: the cluster's ${options.natsName ?? 'sentcopy'}-config bucket (change it with \`sentcopy config push\`; edits apply while running)`
        : `config: ${worker.configFile} (edits apply while running)`,
    ];
    if (worker.createdApiKey !== undefined) {
      lines.push(
        '',
        `Created a configuration with project "${worker.createdProject}", archiving into ./sentcopy-archive next to it.`,
        `Its API key is shown only now (the config stores its SHA-256):`,
        '',
        `  export SENTCOPY_KEY=${worker.createdApiKey}`,
        '',
        `Recipients are keyed in object keys with a new secret kept in ${envFileFor(worker.configFile)} (mode 0600);`,
        'back it up with the configuration: messages are found by recipient only with it.',
      );
    }
    lines.push(
      '',
      'Send a message:',
      '',
      `  curl -sS -X POST ${worker.url}/v1/messages -H "Authorization: Bearer $SENTCOPY_KEY" \\`,
      `    -H 'Content-Type: application/json' -d '[${example}]'`,
      '',
      'Ctrl-C stops the worker; nothing queued is lost.',
      '',
    );
    process.stderr.write(`${lines.join('\n')}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stderr.write('Stopping: finishing the work in hand…\n');
  await worker.stop();
}
