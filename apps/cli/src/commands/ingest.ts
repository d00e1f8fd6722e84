import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, clusterOf, defaultConfigFile, emit, exitCodes, readConfig } from '../cli-kit/index.js';
import { checkLine, isChecked, type RejectRecord } from './ingest/check-line.js';
import { checkEmail, formatOfFile, splitMbox, type IngestFormat } from './ingest/read-emails.js';
import { createDirectSink } from './ingest/direct-sink.js';
import { createIngestProgress } from './ingest/ingest-progress.js';
import type { IngestSink, IngestTally } from './ingest/ingest-sink.js';
import { defaultApiKeyEnv, resolveWorkerConnection } from './ingest/worker-client.js';
import { createWorkerSink } from './ingest/worker-sink.js';

interface IngestOptions {
  worker?: string;
  apiKeyEnv: string;
  direct: boolean;
  config: string;
  nats?: string;
  natsName?: string;
  rejects?: string;
  rejectsIncludeMessage: boolean;
  batchSize: number;
  maxBatchBytes: number;
  concurrency?: number;
  threads?: number;
  maxRetries: number;
  json: boolean;
  /** What the file holds; from its extension when not given. */
  format?: IngestFormat;
  /** Project of the emails of an .eml or mbox file (their `project_id`). */
  project?: string;
  /** `--worker` came from SENTCOPY_WORKER_URL, not the command line (so `--direct` wins). */
  workerFromEnv?: boolean;
}

/** What `sentcopy ingest --json` prints. */
interface IngestSummary {
  mode: 'worker' | 'direct';
  input: string;
  /** Lines holding a message (blank lines are skipped). */
  lines: number;
  accepted?: number;
  stored?: number;
  duplicates: number;
  rejected: number;
  elapsedMs: number;
  linesPerSecond: number;
  rejectsFile?: string;
  /** Present when Ctrl-C stopped the reading: the lines after `lastLine` were not read. */
  interrupted?: { lastLine: number };
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return parsed;
  };
}

/** `sentcopy ingest FILE.jsonl`: one message per line, to a worker or straight into the destination. */
export function registerIngestCommand(program: Command): void {
  program.command('ingest')
    .description('Archive messages from a JSON Lines file (one message per line): send them to a worker, or write them straight into the configured destination.')
    .argument('<file>', 'JSON Lines file, one message per line; - reads standard input')
    .addOption(new Option('--worker <url>', 'send to this worker\'s POST /v1/messages').env('SENTCOPY_WORKER_URL'))
    .option('--api-key-env <var>', 'environment variable holding the project\'s API key (with --worker)', defaultApiKeyEnv)
    .option('--direct', 'archive straight into the destination of each message\'s project, as configured in --config', false)
    .option('-c, --config <file>', 'configuration file (with --direct)', defaultConfigFile)
    .addOption(new Option('--nats <url>', "with --direct: use the cluster's configuration (its key-value bucket on this NATS server) instead of a file"))
    .addOption(new Option('--nats-name <name>', 'deployment name the workers were started with').default('sentcopy'))
    .option('--rejects <file>', 'where rejected lines are written, one JSON object per line (default: FILE.rejects.jsonl; replaced on every run)')
    .option('--rejects-include-message', 'also copy each rejected line\'s message into the rejects file (it holds personal data)', false)
    .option('--batch-size <number>', 'messages per request to the worker (lowered to the worker\'s limit if it refuses)', integer('--batch-size', 1, 10_000), 500)
    .option('--max-batch-bytes <number>', 'largest request body sent to the worker, in bytes', integer('--max-batch-bytes', 1024, 1024 ** 3), 4 * 1024 * 1024)
    .option('--concurrency <number>', 'requests (worker) or writes (direct) in flight at once (default: 4 with --worker, 16 with --direct)', integer('--concurrency', 1, 256))
    .option('--threads <number>', 'threads preparing messages with --direct; 0 prepares on the main thread (default: one less than the cores, 1 to 4)', integer('--threads', 0, 64))
    .option('--max-retries <number>', 'retries of a request the worker answered 429 or 503 (or could not be reached for), with backoff', integer('--max-retries', 0, 100), 8)
    .option('--json', 'print the summary as one JSON document on stdout', false)
    .addOption(new Option('--format <format>', 'what the file holds: jsonl (one message per line), eml (one email, its exact bytes) or mbox (many emails); default from the extension (.eml, .mbox, .mbx), else jsonl').choices(['jsonl', 'eml', 'mbox']))
    .option('--project <id>', 'with eml or mbox: the project the emails belong to (their project_id)')
    .addHelpText(
      'after',
      `
Each line is checked first (JSON syntax, then the message's fields) and is not sent when it fails.
Every rejected line, by these checks or by the worker, goes to the rejects file as
{"line", "reason", "error", "issues"}. The exit code is 4 when any line was rejected, 0 when every
line was taken. Running a file again is safe: messages already taken count as duplicates.

An .eml file is one email and an mbox file many; each email is archived as its exact bytes
(raw_mime), with to, sent_at and message_id read from its To/Cc/Bcc, Date and Message-ID
headers, under --project. In the rejects file, "line" is then the email's number in the file.

Examples:
  $ export SENTCOPY_KEY=sc_…               the project's API key, shown once by \`sentcopy worker\`
  $ sentcopy ingest sent.jsonl --worker http://127.0.0.1:8787
  $ zcat sent.jsonl.gz | sentcopy ingest - --worker http://archive.internal:8787 --api-key-env SHOP_KEY
  $ sentcopy ingest sent.jsonl --direct -c sentcopy.config.json --rejects /tmp/bad.jsonl
  $ sentcopy ingest sent.jsonl --direct --json | jq .rejected
  $ sentcopy ingest receipt.eml --project shop --worker http://127.0.0.1:8787
  $ sentcopy ingest sent-mail.mbox --project shop --direct`,
    )
    .action(async (file: string, options: IngestOptions, command: Command) => runIngest(file, { ...options, workerFromEnv: command.getOptionValueSource('worker') === 'env' }));
}

/** The whole input as one email's bytes. */
async function* readWhole(input: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
  yield Buffer.concat(chunks);
}

async function openRejects(file: string, includeMessage: boolean) {
  await rm(file, { force: true });
  let stream: WriteStream | undefined;
  let count = 0;
  return {
    write(record: RejectRecord, text: string | undefined) {
      stream ??= createWriteStream(file, { flags: 'w', mode: 0o600 });
      count++;
      stream.write(`${JSON.stringify(includeMessage && text !== undefined ? { ...record, message: text } : record)}\n`);
    },
    get count() {
      return count;
    },
    async close() {
      const open = stream;
      if (open === undefined) return;
      await new Promise<void>((resolve, reject) => open.end((error?: Error | null) => (error ? reject(error) : resolve())));
    },
  };
}

async function runIngest(file: string, options: IngestOptions): Promise<void> {
  const fromStdin = file === '-';
  if (options.direct && options.worker !== undefined && options.worker !== '' && options.workerFromEnv !== true) {
    throw new CliError('Choose one of --worker and --direct.', { exitCode: exitCodes.usage, code: 'usage', hint: '--worker URL sends to a running worker; --direct writes into the destinations of --config.' });
  }
  if (!options.direct && (options.worker === undefined || options.worker === '')) {
    throw new CliError('Say where the messages go: --worker URL or --direct.', { exitCode: exitCodes.usage, code: 'usage', hint: 'For example: sentcopy ingest sent.jsonl --worker http://127.0.0.1:8787 (with the API key in $SENTCOPY_KEY).' });
  }
  const format = options.format ?? (fromStdin ? 'jsonl' : formatOfFile(file));
  if (format !== 'jsonl' && (options.project === undefined || options.project === '')) {
    throw new CliError(`Say which project the emails belong to: --project ID (the file holds ${format === 'eml' ? 'an email' : 'emails'}, which carry no project_id).`, { exitCode: exitCodes.usage, code: 'usage', hint: `For example: sentcopy ingest ${fromStdin ? '-' : file} --project shop --worker http://127.0.0.1:8787` });
  }
  let totalBytes: number | undefined;
  if (!fromStdin) {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new CliError(`${file} is not a file.`, { exitCode: exitCodes.usage, code: 'usage', hint: 'Name a JSON Lines file, or - for standard input.' });
      totalBytes = info.size;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, { exitCode: exitCodes.notFound, code: 'file_not_found', hint: 'Check the path, or pass - to read standard input.' });
    }
  }
  const rejectsFile = path.resolve(options.rejects ?? (fromStdin ? 'stdin.rejects.jsonl' : `${file}.rejects.jsonl`));
  const rejects = await openRejects(rejectsFile, options.rejectsIncludeMessage);

  let lines = 0;
  let taken = 0;
  let duplicates = 0;
  let bytesRead = 0;
  let lastLine = 0;
  const progress = createIngestProgress({ totalBytes, json: options.json });
  const decided = () => taken + duplicates + rejects.count;
  const tally: IngestTally = {
    taken: () => {
      taken++;
      progress.update(bytesRead, decided());
    },
    duplicate: () => {
      duplicates++;
      progress.update(bytesRead, decided());
    },
    rejected: (record, text) => {
      rejects.write(record, text);
      progress.update(bytesRead, decided());
    },
  };

  let sink: IngestSink | undefined;
  // The first Ctrl-C stops reading and lets the lines in hand finish, so the summary and rejects file are complete.
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    progress.stop();
    if (!options.json) process.stderr.write('\nsentcopy: stopping after the lines in hand (Ctrl-C again to quit at once)…\n');
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);
  const started = performance.now();
  try {
    if (options.direct) {
      const loaded = await readConfig(options.config, clusterOf(options));
      sink = createDirectSink({ loaded, concurrency: options.concurrency ?? 16, tally, ...(options.threads === undefined ? {} : { threads: options.threads }) });
    } else {
      const connection = resolveWorkerConnection({ ...(options.worker === undefined ? {} : { worker: options.worker }), apiKeyEnv: options.apiKeyEnv });
      let lastNotice = 0;
      sink = createWorkerSink({
        connection,
        batchSize: options.batchSize,
        maxBatchBytes: options.maxBatchBytes,
        concurrency: options.concurrency ?? 4,
        maxRetries: options.maxRetries,
        tally,
        onRetry: (cause, delayMs) => {
          // One notice a few seconds is enough; the retries themselves go on quietly.
          if (options.json || Date.now() - lastNotice < 5_000) return;
          lastNotice = Date.now();
          process.stderr.write(`sentcopy: the worker ${cause}; retrying in ${(delayMs / 1000).toFixed(1)} s…\n`);
        },
      });
    }
    const input = fromStdin ? process.stdin : createReadStream(file);
    if (format !== 'jsonl') {
      const project = options.project as string;
      const emails = format === 'eml' ? readWhole(input) : splitMbox(input);
      let emailNumber = 0;
      try {
        for await (const bytes of emails) {
          if (interrupted) break;
          emailNumber++;
          lastLine = emailNumber;
          bytesRead += bytes.length;
          lines++;
          const checked = await checkEmail(bytes, emailNumber, project);
          if (isChecked(checked)) await sink.submit(checked);
          else tally.rejected(checked, Buffer.from(bytes).toString('base64'));
        }
      } catch (error) {
        if (error instanceof CliError || !(error instanceof Error)) throw error;
        throw new CliError(`Cannot read ${fromStdin ? 'standard input' : file} as ${format}: ${error.message}.`, { exitCode: exitCodes.usage, code: 'unreadable_input', hint: format === 'mbox' ? 'An mbox file starts with a "From " line; pass --format eml for a single email.' : 'Check the file.' });
      }
      await sink.finish();
    } else {
    const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNumber = 0;
    for await (const raw of reader) {
      if (interrupted) break;
      lineNumber++;
      lastLine = lineNumber;
      bytesRead += Buffer.byteLength(raw) + 1;
      const text = lineNumber === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
      if (text.trim() === '') continue;
      lines++;
      const checked = checkLine(text, lineNumber);
      if (isChecked(checked)) await sink.submit(checked);
      else tally.rejected(checked, text);
    }
    reader.close();
    await sink.finish();
    }
  } catch (error) {
    progress.stop();
    if (error instanceof CliError && lines > 0) {
      throw new CliError(
        `${error.message} Stopped at line ${lastLine}: ${taken} ${options.direct ? 'stored' : 'accepted'}, ${duplicates} duplicates, ${rejects.count} rejected before that.`,
        { exitCode: error.exitCode, code: error.code, ...(error.hint === undefined ? {} : { hint: error.hint }), cause: error },
      );
    }
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.stop();
    await sink?.close();
    await rejects.close();
  }
  const elapsedMs = Math.round(performance.now() - started);
  const summary: IngestSummary = {
    mode: options.direct ? 'direct' : 'worker',
    input: fromStdin ? '-' : path.resolve(file),
    lines,
    ...(options.direct ? { stored: taken } : { accepted: taken }),
    duplicates,
    rejected: rejects.count,
    elapsedMs,
    linesPerSecond: elapsedMs === 0 ? lines * 1000 : Math.round((lines / elapsedMs) * 1000),
    ...(rejects.count > 0 ? { rejectsFile } : {}),
    ...(interrupted ? { interrupted: { lastLine } } : {}),
  };
  emit(options, summary, () => {
    const verb = options.direct ? 'stored' : 'accepted by the worker';
    const rows = [
      `Ingested ${lines} line${lines === 1 ? '' : 's'} from ${fromStdin ? 'standard input' : file} in ${(elapsedMs / 1000).toFixed(1)} s (${summary.linesPerSecond} lines/s):`,
      `  ${String(taken).padStart(8)} ${verb}`,
      `  ${String(duplicates).padStart(8)} duplicates (${options.direct ? 'an identical copy was already stored' : 'already queued or archived'})`,
      `  ${String(rejects.count).padStart(8)} rejected${rejects.count > 0 ? ` -> ${rejectsFile}` : ''}`,
    ];
    if (interrupted) rows.push(`Interrupted: lines after ${lastLine} were not read. Run again to finish; lines already taken count as duplicates.`);
    return rows.join('\n');
  });
  if (rejects.count > 0) process.exitCode = exitCodes.problemsFound;
  else if (interrupted) process.exitCode = exitCodes.failure;
}
