import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { CliError, emit, exitCodes } from '../cli-kit/index.js';
import { addSourceOptions, openArchiveSource, type SourceOptions } from '../archive/archive-source.js';
import { verifyArchive, type ManifestEntry, type VerifyReport } from '../archive/verify-archive.js';
import { verifyComplete, type CompletenessReport } from '../archive/verify-complete.js';
import { readPendingErasures } from '../archive/erase-pending.js';

interface VerifyOptions extends SourceOptions {
  manifest?: string;
  writeManifest?: string;
  concurrency: number;
  strict?: boolean;
  complete?: boolean;
  json?: boolean;
}

function parseConcurrency(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256.');
  return number;
}

async function readManifest(file: string): Promise<Map<string, ManifestEntry>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`--manifest: cannot read ${file} (${code ?? 'unknown error'}).`, { exitCode: code === 'ENOENT' ? exitCodes.notFound : exitCodes.failure, code: 'manifest_unreadable' });
  }
  const entries = new Map<string, ManifestEntry>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = undefined;
    }
    const candidate = entry as Partial<ManifestEntry> | undefined;
    if (typeof candidate?.key !== 'string' || (candidate.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(candidate.sha256))) {
      throw new CliError(`--manifest: line ${index + 1} of ${file} is not {"key": "...", "sha256": "<64 hex digits>"}.`, {
        exitCode: exitCodes.usage,
        code: 'invalid_manifest',
        hint: 'Write manifests with `sentcopy verify --write-manifest FILE`.',
      });
    }
    entries.set(candidate.key, { key: candidate.key, ...(candidate.sha256 === undefined ? {} : { sha256: candidate.sha256 }) });
  }
  return entries;
}

function createProgress(json: boolean): { update(listed: number, checked: number): void; stop(): void } {
  if (json || process.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    { format: 'verify [{bar}] {value}/{total} objects | {rate} objects/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 100, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { rate: 0 });
  return {
    update(listed, checked) {
      const seconds = (performance.now() - started) / 1000;
      bar.setTotal(listed);
      bar.update(checked, { rate: seconds > 0 ? Math.round(checked / seconds) : 0 });
    },
    stop: () => bar.stop(),
  };
}

function humanReport(report: VerifyReport, destinationName: string, strict: boolean, elapsedMs: number): string {
  const lines: string[] = [];
  const counts = { missing: 0, corrupt: 0, conflicting: 0 };
  for (const problem of report.problems) counts[problem.kind] += 1;
  lines.push(`Checked ${report.checked} object(s) in destination "${destinationName}"${report.prefix === '' ? '' : ` under "${report.prefix}"`} in ${(elapsedMs / 1000).toFixed(1)} s.`);
  lines.push(`  intact       ${report.intact}`);
  lines.push(`  missing      ${counts.missing}`);
  lines.push(`  corrupt      ${counts.corrupt}`);
  lines.push(`  conflicting  ${counts.conflicting}`);
  if (report.unverified.length > 0) lines.push(`  unverified   ${report.unverified.length} (no SHA-256 recorded with them${strict ? '' : '; --strict counts them as problems'})`);
  if (report.unrecognized.length > 0) lines.push(`  other keys   ${report.unrecognized.length} (do not fit the layout${strict ? '' : '; --strict counts them as problems'})`);
  if (report.invalid.length > 0) lines.push(`  not v1       ${report.invalid.length} (intact, but not a valid payload format v1 message)`);
  if (report.versions.length > 0) lines.push(`  versions     ${report.versions.length} (intact; a message id sent again with other content, kept next to its first copy)`);
  if (report.problems.length > 0) {
    lines.push('', 'Problems:');
    for (const problem of report.problems) lines.push(`  ${problem.kind.padEnd(12)} ${problem.key}`, `  ${''.padEnd(12)} ${problem.reason}`);
  }
  const sample = (title: string, keys: readonly string[]) => {
    if (keys.length === 0) return;
    lines.push('', `${title}:`, ...keys.slice(0, 20).map((key) => `  ${key}`));
    if (keys.length > 20) lines.push(`  … and ${keys.length - 20} more (--json lists them all)`);
  };
  if (strict) {
    sample('Unverified (no SHA-256 recorded)', report.unverified);
    sample('Keys that do not fit the layout', report.unrecognized);
  }
  return lines.join('\n');
}

/** A local record of an erasure that still owes tombstones (`sentcopy erase --resume` writes them). */
interface PendingErasureNote {
  readonly file: string;
  readonly destination?: string;
  readonly writer?: string;
  readonly objects?: number;
  readonly startedAt?: string;
  readonly problem?: string;
}

/** The pending-erasure records beside the configuration that concern `destinationName` (or cannot be read), and the keys they name. */
async function pendingErasuresFor(baseDir: string, destinationName: string): Promise<{ notes: PendingErasureNote[]; keys: Set<string> }> {
  const notes: PendingErasureNote[] = [];
  const keys = new Set<string>();
  for (const entry of await readPendingErasures(baseDir)) {
    if (entry.record === undefined) notes.push({ file: entry.file, problem: entry.problem ?? 'unreadable' });
    else if (entry.record.destination === destinationName) {
      notes.push({ file: entry.file, destination: entry.record.destination, writer: entry.record.writer, objects: entry.record.objects.length, startedAt: new Date(entry.record.startedAt).toISOString() });
      for (const object of entry.record.objects) keys.add(object.key);
    }
  }
  return { notes, keys };
}

function humanPending(notes: readonly PendingErasureNote[]): string {
  if (notes.length === 0) return '';
  const lines = [
    '',
    `Pending erasures: ${notes.length} local record(s) in .sentcopy/erase-pending/ say an erasure deleted objects whose tombstones are not written yet;`,
    'objects they name show as missing until `sentcopy erase --resume` writes them:',
  ];
  for (const note of notes) lines.push(note.problem === undefined ? `  ${note.writer} (started ${note.startedAt}): ${note.objects} object(s)  ${note.file}` : `  ${note.file}: cannot be used (${note.problem})`);
  return lines.join('\n');
}

function humanCompleteness(report: CompletenessReport): string {
  const lines: string[] = [
    '',
    `Ledger: ${report.chains.length} chain(s), ${report.entries} object(s) listed${report.duplicates > 0 ? ` (${report.duplicates} entries re-appended after a crash, counted once)` : ''}${report.erased > 0 ? `, ${report.erased} of them erased (tombstones)` : ''}.`,
  ];
  for (const chain of report.chains) lines.push(`  chain ${chain.writerId}: ${chain.segments} segment(s), last ${chain.lastSeq}, ${chain.entries} entries`);
  const kinds = ['gap', 'edited', 'fork', 'unreadable', 'foreign', 'contradicting', 'missing', 'altered', 'unlisted', 'unerased'] as const;
  for (const kind of kinds) {
    const count = report.problems.filter((problem) => problem.kind === kind).length;
    lines.push(`  ${kind.padEnd(13)} ${count}`);
  }
  if (report.problems.length > 0) {
    lines.push('', 'Completeness problems:');
    for (const problem of report.problems.slice(0, 200)) lines.push(`  ${problem.kind.padEnd(13)} ${problem.key}`, `  ${''.padEnd(13)} ${problem.reason}`);
    if (report.problems.length > 200) lines.push(`  … and ${report.problems.length - 200} more (--json lists them all)`);
  } else {
    lines.push('', 'Complete: every chain is whole, every listed object is present and unaltered, and every object is listed.');
  }
  return lines.join('\n');
}

/** `sentcopy verify`: re-hashes every stored object against its recorded SHA-256 and reports what is wrong. */
export function registerVerifyCommand(program: Command): void {
  const command = program
    .command('verify')
    .description('Re-read every stored object under a prefix, re-hash it against its recorded SHA-256, and report missing, corrupt and conflicting objects.')
    .argument('[prefix]', 'only keys starting with this (default: the whole destination)', '');
  addSourceOptions(command)
    .option('--manifest <file>', 'JSON lines of {key, sha256} that must exist with those hashes (from --write-manifest): finds deleted and rewritten objects')
    .option('--write-manifest <file>', 'write the key, SHA-256 and size of every intact object as JSON lines, to check against later with --manifest')
    .option('--concurrency <number>', 'objects read at once', parseConcurrency, 8)
    .option('--strict', 'also count objects without a recorded SHA-256, and keys that do not fit the layout, as problems')
    .option('--complete', 'also walk every ledger chain (.sentcopy-ledger/): report gaps, edited segments, forks, listed objects missing or altered, and objects no ledger lists')
    .option('--json', 'print the report as one JSON document')
    .addHelpText(
      'after',
      `
What is checked, per object: its bytes against the SHA-256 recorded when it was written (and the
manifest's); that they decode (gzip, LZ4) into JSON matching the recorded content SHA-256; that the
message belongs at its key under the layout; and that no message id is stored under two keys.
  missing      listed but gone or unreadable, or in --manifest but not in the store
  corrupt      bytes that do not match their SHA-256, or do not decode
  conflicting  intact, but stored under a key its content does not produce, or one message id
               under several keys
A message id sent again with other content is stored as a version next to its first copy
(…~v-<16 hex of its content SHA-256>…): both are checked like any object, counted as versions, and
never reported as conflicting; a version whose first copy is gone makes that first copy missing.
A store cannot show an object that was deleted before the walk: keep a manifest
(--write-manifest) and check against it (--manifest) to catch deletions, or write a ledger and
check it with --complete.

--complete reads every ledger chain (one per writer) and reports:
  gap          a segment of a chain is missing        edited      a segment's bytes changed
  fork         two segments claim one predecessor     unreadable  a segment does not decode
  foreign      a non-segment key in the ledger area   contradicting  one key, two SHA-256s
  missing      listed in the ledger, not in the store altered     bytes differ from the ledger's
  unlisted     an object no ledger lists               unerased    a tombstone says erased, the store has it
An object erased by \`sentcopy erase\` (a tombstone in the ledger) is counted as erased, not missing.
See docs/ledger.md for what this proves and what it needs (write-once, Object Lock).

Exit codes: 0 clean, 4 problems found, 5 destination unreachable.

Examples:
  $ sentcopy verify                                   the whole archive of the only destination
  $ sentcopy verify shop/ --project shop
  $ sentcopy verify --complete --json | jq '.ledger.problems'
  $ sentcopy verify --write-manifest archive-2026-01.jsonl
  $ sentcopy verify --manifest archive-2026-01.jsonl --json | jq '.problems'
  $ sentcopy verify sent_messages/email/ --destination old-braze --layout braze`,
    )
    .action(async (prefix: string, options: VerifyOptions) => runVerify(prefix, options));
}

async function runVerify(prefix: string, options: VerifyOptions): Promise<void> {
  const manifest = options.manifest === undefined ? undefined : await readManifest(path.resolve(options.manifest));
  const source = await openArchiveSource(options);
  const progress = createProgress(options.json === true);
  const started = performance.now();
  let report: VerifyReport;
  let completeness: CompletenessReport | undefined;
  let pending: { notes: PendingErasureNote[]; keys: Set<string> } = { notes: [], keys: new Set() };
  try {
    report = await verifyArchive(source, { prefix, concurrency: options.concurrency, ...(manifest === undefined ? {} : { manifest }), onProgress: (listed, checked) => progress.update(listed, checked) });
    if (options.complete === true) {
      completeness = await verifyComplete(source, report);
      pending = await pendingErasuresFor(source.baseDir, source.destinationName);
      if (pending.keys.size > 0) {
        const owed = pending.keys;
        completeness = {
          ...completeness,
          problems: completeness.problems.map((problem) =>
            problem.kind === 'missing' && owed.has(problem.key) ? { ...problem, reason: `${problem.reason}; a pending erasure here deleted it and owes its tombstone: run \`sentcopy erase --resume\`` } : problem,
          ),
        };
      }
    }
  } finally {
    progress.stop();
    await source.close();
  }
  const elapsedMs = performance.now() - started;
  if (options.writeManifest !== undefined) {
    const file = path.resolve(options.writeManifest);
    try {
      await writeFile(file, report.manifest.map((entry) => `${JSON.stringify(entry)}\n`).join(''), { mode: 0o600 });
    } catch (error) {
      throw new CliError(`--write-manifest: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}).`, { code: 'manifest_unwritable' });
    }
  }
  const strict = options.strict === true;
  const failed = report.problems.length > 0 || (strict && (report.unverified.length > 0 || report.unrecognized.length > 0)) || (completeness !== undefined && completeness.problems.length > 0);
  const count = (kind: string) => report.problems.filter((problem) => problem.kind === kind).length;
  emit(
    options,
    {
      destination: source.destinationName,
      layout: source.reader.template,
      prefix: report.prefix,
      ok: !failed,
      checked: report.checked,
      intact: report.intact,
      missing: count('missing'),
      corrupt: count('corrupt'),
      conflicting: count('conflicting'),
      problems: report.problems,
      unverified: report.unverified,
      unrecognized: report.unrecognized,
      versions: report.versions,
      invalid: report.invalid,
      ...(completeness === undefined ? {} : { ledger: { ...completeness, pendingErasures: pending.notes } }),
      elapsedMs: Math.round(elapsedMs),
      ...(options.writeManifest === undefined ? {} : { manifestWritten: path.resolve(options.writeManifest), manifestEntries: report.manifest.length }),
    },
    () => humanReport(report, source.destinationName, strict, elapsedMs) + (completeness === undefined ? '' : humanCompleteness(completeness) + humanPending(pending.notes)),
  );
  if (pending.notes.length > 0 && options.json === true) process.stderr.write(`warning: ${pending.notes.length} pending erasure(s) owe tombstones (.sentcopy/erase-pending/): run \`sentcopy erase --resume\`.\n`);
  if (failed) process.exitCode = exitCodes.problemsFound;
}
