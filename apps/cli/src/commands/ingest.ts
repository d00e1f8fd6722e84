import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isDynamicPattern } from 'tinyglobby';
import { CliError, clusterOf, defaultConfigFile, emit, exitCodes, readConfig } from '../cli-kit/index.js';
import { isChecked, type RejectRecord } from './ingest/check-line.js';
import { collectInputs, formatOfNamedFile, type CollectedInputs, type FileFormat } from './ingest/collect-inputs.js';
import type { IngestFormat } from './ingest/read-emails.js';
import { createDirectSink } from './ingest/direct-sink.js';
import { createIngestProgress } from './ingest/ingest-progress.js';
import type { IngestSink, IngestTally } from './ingest/ingest-sink.js';
import { readMessages } from './ingest/read-messages.js';
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
  /** With folders: read the folders inside them too. */
  recursive: boolean;
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
  /** Present when Ctrl-C stopped the reading: the lines after `lastLine` (of `file`) were not read. */
  interrupted?: { lastLine: number; file?: string };
  /** With a folder, a pattern or several files: what each file gave (`accepted` or `stored`, duplicates, rejected), in the order read. */
  files?: Record<string, unknown>[];
  /** With several files: the refused messages by reason, with the files they came from (`unreadable_file`: files that could not be read). */
  refused?: Record<string, { messages: number; files: string[] }>;
  /** With several files: files that could not be read (to their end), and why. */
  unreadable?: { file: string; error: string }[];
  /** With several files: files found but not ingested (not a message file, a folder without --recursive, an earlier rejects file). */
  skipped?: { file: string; reason: string }[];
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return parsed;
  };
}

/** `sentcopy ingest FILE.jsonl | DIR | 'PATTERN'…`: messages from files, to a worker or straight into the destination. */
export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('Archive messages from JSON Lines, JSON, .eml and mbox files, or every such file in a folder: send them to a worker, or write them straight into the configured destination.')
    .argument('<inputs...>', "files, folders or glob patterns (quoted: 'mail/**/*.eml'); - reads standard input")
    .addOption(new Option('--worker <url>', "send to this worker's POST /v1/messages").env('SENTCOPY_WORKER_URL'))
    .option('--api-key-env <var>', "environment variable holding the project's API key (with --worker)", defaultApiKeyEnv)
    .option('--direct', "archive straight into the destination of each message's project, as configured in --config", false)
    .option('-c, --config <file>', 'configuration file (with --direct)', defaultConfigFile)
    .addOption(new Option('--nats <url>', "with --direct: use the cluster's configuration (its key-value bucket on this NATS server) instead of a file"))
    .addOption(new Option('--nats-name <name>', 'deployment name the workers were started with').default('sentcopy'))
    .option('--rejects <file>', 'where rejected lines are written, one JSON object per line (default: FILE.rejects.jsonl, or sentcopy-ingest.rejects.jsonl for a folder or several files; replaced on every run)')
    .option('--rejects-include-message', "also copy each rejected line's message into the rejects file (it holds personal data)", false)
    .option('--batch-size <number>', "messages per request to the worker (lowered to the worker's limit if it refuses)", integer('--batch-size', 1, 10_000), 500)
    .option('--max-batch-bytes <number>', 'largest request body sent to the worker, in bytes', integer('--max-batch-bytes', 1024, 1024 ** 3), 4 * 1024 * 1024)
    .option('--concurrency <number>', 'requests (worker) or writes (direct) in flight at once (default: 4 with --worker, 16 with --direct)', integer('--concurrency', 1, 256))
    .option('--threads <number>', 'threads preparing messages with --direct; 0 prepares on the main thread (default: one less than the cores, 1 to 4)', integer('--threads', 0, 64))
    .option('--max-retries <number>', 'retries of a request the worker answered 429 or 503 (or could not be reached for), with backoff', integer('--max-retries', 0, 100), 8)
    .option('--json', 'print the summary as one JSON document on stdout', false)
    .addOption(
      new Option(
        '--format <format>',
        'what a named file holds: jsonl (one message per line), eml (one email, its exact bytes) or mbox (many emails); default from the extension (.eml, .mbox, .mbx; .json is one message or an array of them), else jsonl. Files found in folders go by their extension',
      ).choices(['jsonl', 'eml', 'mbox']),
    )
    .option('--project <id>', 'with eml or mbox: the project the emails belong to (their project_id)')
    .option('-r, --recursive', 'with folders: also read the folders inside them', false)
    .addHelpText(
      'after',
      `
Each line is checked first (JSON syntax, then the message's fields) and is not sent when it fails.
Every rejected line, by these checks or by the worker, goes to the rejects file as
{"line", "reason", "error", "issues"}. The exit code is 4 when any line was rejected (or any file
could not be read), 0 when every line was taken. Running a file again is safe: messages already
taken count as duplicates.

An .eml file is one email and an mbox file many; each email is archived as its exact bytes
(raw_mime), with to, sent_at and message_id read from its To/Cc/Bcc, Date and Message-ID
headers, under --project. In the rejects file, "line" is then the email's number in the file.
A .json file holds one message, or an array of them.

A folder (or a quoted glob pattern) is ingested file by file, sorted by name: every .eml, mbox
(.mbox, .mbx, or no extension and a first line starting "From "), .json and .jsonl file; other
files are skipped and listed, and folders inside are read with --recursive. A file that cannot be
read does not stop the others. Progress goes to stderr (one line per file without a terminal);
the summary gives the messages ingested, those refused by reason with their files, and the files
skipped; rejects-file records then carry "file".

Examples:
  $ export SENTCOPY_KEY=sc_…               the project's API key, shown once by \`sentcopy worker\`
  $ sentcopy ingest sent.jsonl --worker http://127.0.0.1:8787
  $ zcat sent.jsonl.gz | sentcopy ingest - --worker http://archive.internal:8787 --api-key-env SHOP_KEY
  $ sentcopy ingest sent.jsonl --direct -c sentcopy.config.json --rejects /tmp/bad.jsonl
  $ sentcopy ingest sent.jsonl --direct --json | jq .rejected
  $ sentcopy ingest receipt.eml --project shop --worker http://127.0.0.1:8787
  $ sentcopy ingest sent-mail.mbox --project shop --direct
  $ sentcopy ingest ./export --recursive --project shop --worker http://127.0.0.1:8787
  $ sentcopy ingest 'mail/2026-*/*.eml' --project shop --direct --json | jq .refused`,
    )
    .action(async (inputs: string[], options: IngestOptions, command: Command) => runIngest(inputs, { ...options, workerFromEnv: command.getOptionValueSource('worker') === 'env' }));
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

/** What one file of a folder or pattern gave. */
interface FileSummary {
  file: string;
  format: FileFormat;
  /** Messages read (lines holding one, emails, elements of a JSON array). */
  messages: number;
  taken: number;
  duplicates: number;
  rejected: number;
  /** Set when the file could not be read to its end (the messages before that count). */
  error?: string;
}

/** Whether the inputs name one file (or standard input), read as before, rather than a folder, a pattern or several files. */
async function isSingleInput(inputs: readonly string[]): Promise<boolean> {
  if (inputs.length !== 1) return false;
  const input = inputs[0] as string;
  if (input === '-') return true;
  const info = await stat(input).catch(() => undefined);
  if (info !== undefined) return !info.isDirectory();
  return !isDynamicPattern(input);
}

async function runIngest(inputs: readonly string[], options: IngestOptions): Promise<void> {
  if (inputs.includes('-') && inputs.length > 1) {
    throw new CliError('Standard input (-) cannot be read together with files.', { exitCode: exitCodes.usage, code: 'usage', hint: 'Ingest standard input in a run of its own.' });
  }
  if (options.direct && options.worker !== undefined && options.worker !== '' && options.workerFromEnv !== true) {
    throw new CliError('Choose one of --worker and --direct.', { exitCode: exitCodes.usage, code: 'usage', hint: '--worker URL sends to a running worker; --direct writes into the destinations of --config.' });
  }
  if (!options.direct && (options.worker === undefined || options.worker === '')) {
    throw new CliError('Say where the messages go: --worker URL or --direct.', {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: 'For example: sentcopy ingest sent.jsonl --worker http://127.0.0.1:8787 (with the API key in $SENTCOPY_KEY).',
    });
  }
  const single = await isSingleInput(inputs);
  const fromStdin = single && inputs[0] === '-';
  let collected: CollectedInputs;
  if (fromStdin) collected = { files: [{ file: '-', format: options.format ?? 'jsonl', bytes: 0 }], skipped: [], unreadable: [] };
  else if (single) {
    const file = inputs[0] as string;
    let info;
    try {
      info = await stat(file);
    } catch (error) {
      throw new CliError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, { exitCode: exitCodes.notFound, code: 'file_not_found', hint: 'Check the path, or pass - to read standard input.' });
    }
    if (!info.isFile()) throw new CliError(`${file} is not a file.`, { exitCode: exitCodes.usage, code: 'usage', hint: 'Name a JSON Lines file, a folder, or - for standard input.' });
    collected = { files: [{ file, format: formatOfNamedFile(file, options.format), bytes: info.size }], skipped: [], unreadable: [] };
  } else {
    collected = await collectInputs(inputs, { recursive: options.recursive, ...(options.format === undefined ? {} : { format: options.format }) });
    if (collected.files.length === 0 && collected.unreadable.length === 0) {
      throw new CliError(`Found no .eml, mbox, .json or .jsonl file to ingest in ${inputs.join(', ')} (${collected.skipped.length} other file${collected.skipped.length === 1 ? '' : 's'} skipped).`, {
        exitCode: exitCodes.notFound,
        code: 'no_input_files',
        hint: collected.skipped.some((entry) => entry.reason.startsWith('a folder')) ? 'Add --recursive to read the folders inside.' : 'Name the files or a folder holding them.',
      });
    }
  }
  const emailFiles = collected.files.filter((entry) => entry.format === 'eml' || entry.format === 'mbox');
  if (emailFiles.length > 0 && (options.project === undefined || options.project === '')) {
    const what = single ? `the file holds ${emailFiles[0]?.format === 'eml' ? 'an email' : 'emails'}` : `${emailFiles.length} of the files hold emails (e.g. ${emailFiles[0]?.file})`;
    throw new CliError(`Say which project the emails belong to: --project ID (${what}, which carry no project_id).`, {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: `For example: sentcopy ingest ${inputs.join(' ')} --project shop --worker http://127.0.0.1:8787`,
    });
  }
  const totalBytes = fromStdin ? undefined : collected.files.reduce((sum, entry) => sum + entry.bytes, 0);
  const rejectsFile = path.resolve(options.rejects ?? (fromStdin ? 'stdin.rejects.jsonl' : single ? `${inputs[0]}.rejects.jsonl` : 'sentcopy-ingest.rejects.jsonl'));
  const rejects = await openRejects(rejectsFile, options.rejectsIncludeMessage);

  let lines = 0;
  let taken = 0;
  let duplicates = 0;
  let rejectedMessages = 0;
  let bytesRead = 0;
  let lastLine = 0;
  const perFile = new Map<string, FileSummary>(collected.files.map((entry) => [entry.file, { file: entry.file, format: entry.format, messages: 0, taken: 0, duplicates: 0, rejected: 0 }]));
  const refused = new Map<string, { messages: number; files: Set<string> }>();
  const progress = createIngestProgress({ totalBytes, json: options.json, files: !single });
  const decided = () => taken + duplicates + rejects.count;
  const fileOf = (name: string | undefined) => (name === undefined ? undefined : perFile.get(name));
  const tally: IngestTally = {
    taken: (line) => {
      taken++;
      const summary = fileOf(line.file);
      if (summary !== undefined) summary.taken++;
      progress.update(bytesRead, decided());
    },
    duplicate: (line) => {
      duplicates++;
      const summary = fileOf(line.file);
      if (summary !== undefined) summary.duplicates++;
      progress.update(bytesRead, decided());
    },
    rejected: (record, text) => {
      rejects.write(record, text);
      const summary = fileOf(record.file);
      if (summary !== undefined && record.reason !== 'unreadable_file') summary.rejected++;
      const reason = refused.get(record.reason) ?? { messages: 0, files: new Set<string>() };
      if (record.reason !== 'unreadable_file') {
        reason.messages++;
        rejectedMessages++;
      }
      if (record.file !== undefined) reason.files.add(record.file);
      refused.set(record.reason, reason);
      progress.update(bytesRead, decided());
    },
  };
  for (const entry of collected.unreadable) tally.rejected({ file: entry.file, line: 0, reason: 'unreadable_file', error: `${entry.file} ${entry.error}.`, issues: [] }, undefined);

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
  let lastFile: string | undefined;
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
    const files = collected.files;
    for (const [index, entry] of files.entries()) {
      if (interrupted) break;
      lastFile = entry.file;
      progress.file(index + 1, files.length, entry.file);
      const summary = perFile.get(entry.file) as FileSummary;
      const source = { file: entry.file, open: () => (fromStdin ? process.stdin : createReadStream(entry.file)) };
      try {
        for await (const read of readMessages(source, entry.format, options.project, (bytes) => (bytesRead += bytes))) {
          if (interrupted) break;
          lines++;
          summary.messages++;
          lastLine = read.checked.line;
          const checked = single ? read.checked : { ...read.checked, file: entry.file };
          if (isChecked(checked)) await sink.submit(checked);
          else tally.rejected(checked, read.text);
        }
      } catch (error) {
        if (error instanceof CliError || !(error instanceof Error)) throw error;
        const problem = `${error.message}${(error as NodeJS.ErrnoException).code === undefined ? '' : ` (${(error as NodeJS.ErrnoException).code})`}`;
        if (single) {
          throw new CliError(`Cannot read ${fromStdin ? 'standard input' : entry.file} as ${entry.format}: ${error.message}.`, {
            exitCode: exitCodes.usage,
            code: 'unreadable_input',
            hint: entry.format === 'mbox' ? 'An mbox file starts with a "From " line; pass --format eml for a single email.' : 'Check the file.',
          });
        }
        // One bad file does not stop the others: it is reported, and the run ends non-zero.
        summary.error = `cannot be read as ${entry.format}: ${problem}`;
        tally.rejected({ file: entry.file, line: 0, reason: 'unreadable_file', error: `${entry.file} ${summary.error}.`, issues: [] }, undefined);
      }
    }
    await sink.finish();
  } catch (error) {
    progress.stop();
    if (error instanceof CliError && lines > 0) {
      throw new CliError(`${error.message} Stopped at ${single ? '' : `${lastFile}, `}line ${lastLine}: ${taken} ${options.direct ? 'stored' : 'accepted'}, ${duplicates} duplicates, ${rejects.count} rejected before that.`, {
        exitCode: error.exitCode,
        code: error.code,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
        cause: error,
      });
    }
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.stop();
    await sink?.close();
    await rejects.close();
  }
  const elapsedMs = Math.round(performance.now() - started);
  const unreadableFiles = [...perFile.values()].filter((entry) => entry.error !== undefined).length + collected.unreadable.length;
  const verbKey = options.direct ? 'stored' : 'accepted';
  const summary: IngestSummary = {
    mode: options.direct ? 'direct' : 'worker',
    input: fromStdin ? '-' : single ? path.resolve(inputs[0] as string) : inputs.map((input) => path.resolve(input)).join(' '),
    lines,
    ...(options.direct ? { stored: taken } : { accepted: taken }),
    duplicates,
    rejected: rejectedMessages,
    elapsedMs,
    linesPerSecond: elapsedMs === 0 ? lines * 1000 : Math.round((lines / elapsedMs) * 1000),
    ...(rejects.count > 0 ? { rejectsFile } : {}),
    ...(interrupted ? { interrupted: { lastLine, ...(single || lastFile === undefined ? {} : { file: lastFile }) } } : {}),
    ...(single
      ? {}
      : {
          files: [...perFile.values()].map(({ taken: fileTaken, ...entry }) => ({ ...entry, [verbKey]: fileTaken })),
          refused: Object.fromEntries([...refused.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, entry]) => [reason, { messages: entry.messages, files: [...entry.files] }])),
          unreadable: [...collected.unreadable.map((entry) => ({ file: entry.file, error: entry.error })), ...[...perFile.values()].flatMap((entry) => (entry.error === undefined ? [] : [{ file: entry.file, error: entry.error }]))],
          skipped: collected.skipped.map((entry) => ({ file: entry.file, reason: entry.reason })),
        }),
  };
  emit(options, summary, () => {
    const verb = options.direct ? 'stored' : 'accepted by the worker';
    const source = fromStdin ? 'standard input' : single ? inputs[0] : `${collected.files.length} file${collected.files.length === 1 ? '' : 's'}`;
    const rows = [
      `Ingested ${lines} ${single ? 'line' : 'message'}${lines === 1 ? '' : 's'} from ${source} in ${(elapsedMs / 1000).toFixed(1)} s (${summary.linesPerSecond} ${single ? 'lines' : 'messages'}/s):`,
      `  ${String(taken).padStart(8)} ${verb}`,
      `  ${String(duplicates).padStart(8)} duplicates (${options.direct ? 'an identical copy was already stored' : 'already queued or archived'})`,
      `  ${String(summary.rejected).padStart(8)} rejected${rejects.count > 0 ? ` -> ${rejectsFile}` : ''}`,
    ];
    if (!single) {
      for (const [reason, entry] of [...refused.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const label = reason === 'unreadable_file' ? `${entry.files.size} unreadable file${entry.files.size === 1 ? '' : 's'}` : `${entry.messages} ${reason}`;
        rows.push(`  refused: ${label} in ${[...entry.files].join(', ')}`);
      }
      for (const entry of summary.unreadable ?? []) rows.push(`  cannot read ${entry.file}: ${entry.error}`);
      if (collected.skipped.length > 0) {
        rows.push(`Skipped ${collected.skipped.length} file${collected.skipped.length === 1 ? '' : 's'}:`);
        for (const entry of collected.skipped) rows.push(`  ${entry.file}: ${entry.reason}`);
      }
    }
    if (interrupted) rows.push(`Interrupted: ${single ? '' : `in ${lastFile}, `}lines after ${lastLine} were not read. Run again to finish; lines already taken count as duplicates.`);
    return rows.join('\n');
  });
  if (rejects.count > 0 || unreadableFiles > 0) process.exitCode = exitCodes.problemsFound;
  else if (interrupted) process.exitCode = exitCodes.failure;
}
