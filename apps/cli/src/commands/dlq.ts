import { Command, InvalidArgumentError, Option } from 'commander';
import { deadLetterKinds } from '@sentcopy/worker';
import { askYesNo, canPrompt, CliError, emit, exitCodes, textTable } from '../cli-kit/index.js';
import { callWorker, defaultApiKeyEnv, resolveWorkerConnection, workerError, type WorkerConnection, type WorkerResponse } from './ingest/worker-client.js';

interface ConnectionOptions {
  worker?: string;
  apiKeyEnv: string;
  json: boolean;
}

interface ListOptions extends ConnectionOptions {
  kind?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
  all: boolean;
  discarded: boolean;
}

interface DiscardOptions extends ReplayOptions {
  reason?: string;
}

/** A discarded dead letter's record as `GET /v1/dead-letters/discarded` returns it. */
interface DiscardedJson {
  id: string;
  project: string;
  message_id: string;
  kind: string;
  reason: string;
  discard_reason: string;
  discarded_at: string;
  payload_sha256?: string;
}

interface DiscardedPageJson {
  project: string;
  items: DiscardedJson[];
  cursor?: string;
}

interface ReplayOptions extends ConnectionOptions {
  kind?: string;
  from?: string;
  to?: string;
  all: boolean;
  yes: boolean;
}

/** A dead letter as `GET /v1/dead-letters` returns it. */
interface DeadLetterJson {
  id: string;
  project: string;
  message_id: string;
  kind: string;
  reason: string;
  issues: { path: string; problem: string }[];
  attempts: number;
  dead_at: string;
}

interface DeadLetterPageJson {
  project: string;
  total: number;
  items: DeadLetterJson[];
  cursor?: string;
}

function pageSize(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000.');
  return parsed;
}

function timeOption(flag: string): (value: string) => string {
  return (value) => {
    if (/^\d+$/.test(value) || Number.isFinite(Date.parse(value))) return value;
    throw new InvalidArgumentError(`${flag} must be an ISO 8601 date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z) or epoch milliseconds.`);
  };
}

function connectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--worker <url>', 'the worker to ask (its HTTP intake)').env('SENTCOPY_WORKER_URL'))
    .option('--api-key-env <var>', "environment variable holding the project's API key; dead letters are those of that project", defaultApiKeyEnv)
    .option('--json', 'print one JSON document on stdout', false);
}

/** Turns a worker's refusal of a dead-letter request into a CLI error. */
function refused(response: WorkerResponse): CliError {
  const error = workerError(response.body);
  if (response.status === 404) {
    return new CliError('The worker has no dead-letter routes.', { code: 'unsupported', hint: 'Upgrade the worker to a version with GET /v1/dead-letters.' });
  }
  if (response.status === 400) return new CliError(error?.message ?? 'The worker refused the request.', { exitCode: exitCodes.usage, code: 'usage' });
  if (response.status === 501) return new CliError(error?.message ?? 'The worker cannot do this with its queue.', { code: error?.code ?? 'not_implemented' });
  return new CliError(`The worker answered HTTP ${response.status}${error === undefined ? '' : `: ${error.message}`}`, { exitCode: response.status >= 500 ? exitCodes.unavailable : exitCodes.failure, code: error?.code ?? 'failed' });
}

// The reason goes last and whole: its end (the key, the destination's own words) is what tells one
// dead letter from another, and a terminal wraps a long last column without breaking the others.
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function table(items: readonly DeadLetterJson[]): string {
  const rows = items.map((item) => [item.id, item.message_id, item.kind, String(item.attempts), shortTime(item.dead_at), flat(item.reason)]);
  return textTable(['ID', 'MESSAGE ID', 'KIND', 'ATTEMPTS', 'DEAD AT', 'REASON'], rows, new Set([3]));
}

function discardedTable(items: readonly DiscardedJson[]): string {
  const rows = items.map((item) => [item.id, item.message_id, item.kind, shortTime(item.discarded_at), flat(item.discard_reason)]);
  return textTable(['ID', 'MESSAGE ID', 'KIND', 'DISCARDED AT', 'DISCARDED BECAUSE'], rows);
}

async function listPage(connection: WorkerConnection, options: ListOptions, cursor: string | undefined, limit: number): Promise<DeadLetterPageJson> {
  const query = new URLSearchParams();
  if (options.kind !== undefined) query.set('kind', options.kind);
  if (options.from !== undefined) query.set('from', options.from);
  if (options.to !== undefined) query.set('to', options.to);
  query.set('limit', String(limit));
  if (cursor !== undefined) query.set('cursor', cursor);
  const response = await callWorker(connection, { method: 'GET', path: `/v1/dead-letters?${query.toString()}`, maxRetries: 3 });
  if (response.status !== 200) throw refused(response);
  return response.body as DeadLetterPageJson;
}

async function discardedPage(connection: WorkerConnection, cursor: string | undefined, limit: number): Promise<DiscardedPageJson> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor !== undefined) query.set('cursor', cursor);
  const response = await callWorker(connection, { method: 'GET', path: `/v1/dead-letters/discarded?${query.toString()}`, maxRetries: 3 });
  if (response.status !== 200) throw refused(response);
  return response.body as DiscardedPageJson;
}

async function runListDiscarded(connection: WorkerConnection, options: ListOptions): Promise<void> {
  if (options.kind !== undefined || options.from !== undefined || options.to !== undefined) {
    throw new CliError('--discarded lists every discarded record; --kind, --from and --to select dead letters, not these records.', { exitCode: exitCodes.usage, code: 'usage' });
  }
  let page = await discardedPage(connection, options.cursor, options.limit);
  if (options.all) {
    const items = [...page.items];
    while (page.cursor !== undefined) {
      page = await discardedPage(connection, page.cursor, 1000);
      items.push(...page.items);
    }
    page = { project: page.project, items };
  }
  emit(options, page, () => {
    if (page.items.length === 0) return options.cursor === undefined ? `No dead letters of project "${page.project}" were discarded.` : 'No more discarded dead letters.';
    const lines = [discardedTable(page.items), '', `${page.items.length} discarded dead letter${page.items.length === 1 ? '' : 's'} of project "${page.project}" shown (their payloads are gone; --json has their SHA-256).`];
    if (page.cursor !== undefined) lines.push(`Next page: sentcopy dlq ls --discarded --cursor ${page.cursor} (or --all for every one).`);
    return lines.join('\n');
  });
}

async function runList(options: ListOptions): Promise<void> {
  const connection = resolveWorkerConnection({ ...(options.worker === undefined ? {} : { worker: options.worker }), apiKeyEnv: options.apiKeyEnv });
  if (options.discarded) return runListDiscarded(connection, options);
  let page = await listPage(connection, options, options.cursor, options.limit);
  if (options.all) {
    const items = [...page.items];
    while (page.cursor !== undefined) {
      page = await listPage(connection, options, page.cursor, 1000);
      items.push(...page.items);
    }
    page = { project: page.project, total: page.total, items };
  }
  emit(options, page, () => {
    if (page.items.length === 0) return options.cursor === undefined ? `No dead letters for project "${page.project}"${options.kind === undefined ? '' : ` of kind ${options.kind}`}.` : 'No more dead letters.';
    const lines = [table(page.items), ''];
    lines.push(`${page.items.length} shown of ${page.total} dead letter${page.total === 1 ? '' : 's'} of project "${page.project}".`);
    if (page.cursor !== undefined) lines.push(`Next page: sentcopy dlq ls --cursor ${page.cursor}${options.kind === undefined ? '' : ` --kind ${options.kind}`} (or --all for every one).`);
    lines.push('Replay once the cause is fixed: sentcopy dlq replay ID… | --kind KIND | --all');
    return lines.join('\n');
  });
}

async function runReplay(ids: readonly string[], options: ReplayOptions): Promise<void> {
  const byFilter = options.kind !== undefined || options.from !== undefined || options.to !== undefined;
  const ways = [ids.length > 0, byFilter, options.all].filter(Boolean).length;
  if (ways !== 1) {
    throw new CliError(ways === 0 ? 'Say which dead letters to replay.' : 'Give dead-letter ids, a filter (--kind/--from/--to) or --all, not several.', {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: 'For example: sentcopy dlq replay 42 43, sentcopy dlq replay --kind conflict, or sentcopy dlq replay --all --yes. `sentcopy dlq ls` shows the ids.',
    });
  }
  const connection = resolveWorkerConnection({ ...(options.worker === undefined ? {} : { worker: options.worker }), apiKeyEnv: options.apiKeyEnv });
  if (options.all && !options.yes) {
    if (!canPrompt() || options.json) {
      throw new CliError('Replaying every dead letter needs a confirmation.', { exitCode: exitCodes.usage, code: 'confirmation_required', hint: 'Add --yes to replay them all without a prompt.' });
    }
    const response = await callWorker(connection, { method: 'GET', path: '/v1/dead-letters?limit=1', maxRetries: 3 });
    if (response.status !== 200) throw refused(response);
    const { total, project } = response.body as DeadLetterPageJson;
    if (total > 0 && !(await askYesNo(`Replay all ${total} dead letter${total === 1 ? '' : 's'} of project "${project}"? They are archived again at once.`))) {
      throw new CliError('Nothing was replayed.', { code: 'cancelled' });
    }
  }
  const filter = { ...(options.kind === undefined ? {} : { kind: options.kind }), ...(options.from === undefined ? {} : { from: options.from }), ...(options.to === undefined ? {} : { to: options.to }) };
  const body = ids.length > 0 ? { ids } : byFilter ? { filter } : { all: true };
  const response = await callWorker(connection, { method: 'POST', path: '/v1/dead-letters/replay', body: JSON.stringify(body), maxRetries: 3 });
  if (response.status !== 200) throw refused(response);
  const result = response.body as { project: string; replayed: number; already_queued: number };
  emit(options, { project: result.project, replayed: result.replayed, alreadyQueued: result.already_queued }, () => {
    const lines = [`Replayed ${result.replayed} dead letter${result.replayed === 1 ? '' : 's'} of project "${result.project}": they are back in the queue and archived shortly.`];
    if (result.already_queued > 0) lines.push(`${result.already_queued} were dropped instead: the same message had been sent again and is already queued.`);
    if (result.replayed + result.already_queued === 0) lines[0] = `Nothing to replay: no dead letter of project "${result.project}" matched.`;
    return lines.join('\n');
  });
  if (ids.length > 0 && result.replayed + result.already_queued < ids.length) {
    if (!options.json) process.stderr.write(`sentcopy: ${ids.length - result.replayed - result.already_queued} of the ids given are not dead letters of project "${result.project}" (see \`sentcopy dlq ls\`).\n`);
    process.exitCode = exitCodes.notFound;
  }
}

async function runDiscard(ids: readonly string[], options: DiscardOptions): Promise<void> {
  const byFilter = options.kind !== undefined || options.from !== undefined || options.to !== undefined;
  const ways = [ids.length > 0, byFilter, options.all].filter(Boolean).length;
  if (ways !== 1) {
    throw new CliError(ways === 0 ? 'Say which dead letters to discard.' : 'Give dead-letter ids, a filter (--kind/--from/--to) or --all, not several.', {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: 'For example: sentcopy dlq discard 42 --reason "test message sent by mistake". `sentcopy dlq ls` shows the ids.',
    });
  }
  const reason = options.reason?.trim() ?? '';
  if (reason === '') {
    throw new CliError('--reason is required: say why these dead letters are given up on for good (it is kept with their record).', {
      exitCode: exitCodes.usage,
      code: 'usage',
      hint: 'For example: --reason "duplicate send of a test campaign, approved by J. Doe".',
    });
  }
  const connection = resolveWorkerConnection({ ...(options.worker === undefined ? {} : { worker: options.worker }), apiKeyEnv: options.apiKeyEnv });
  const filter = { ...(options.kind === undefined ? {} : { kind: options.kind }), ...(options.from === undefined ? {} : { from: options.from }), ...(options.to === undefined ? {} : { to: options.to }) };
  if (ids.length === 0 && !options.yes) {
    if (!canPrompt() || options.json) {
      throw new CliError('Discarding dead letters by filter or --all needs a confirmation: they are removed for good.', { exitCode: exitCodes.usage, code: 'confirmation_required', hint: 'Add --yes to discard them without a prompt.' });
    }
    const query = new URLSearchParams({ limit: '1', ...filter });
    const response = await callWorker(connection, { method: 'GET', path: `/v1/dead-letters?${query.toString()}`, maxRetries: 3 });
    if (response.status !== 200) throw refused(response);
    const { total, project } = response.body as DeadLetterPageJson;
    if (total > 0 && !(await askYesNo(`Discard ${total} dead letter${total === 1 ? '' : 's'} of project "${project}" for good? Their messages will never be archived.`))) {
      throw new CliError('Nothing was discarded.', { code: 'cancelled' });
    }
  }
  const body = { ...(ids.length > 0 ? { ids } : byFilter ? { filter } : { all: true }), reason };
  // Repeating after a lost answer is safe: what was discarded is gone, so a repeat discards nothing more.
  const response = await callWorker(connection, { method: 'POST', path: '/v1/dead-letters/discard', body: JSON.stringify(body), maxRetries: 3 });
  if (response.status !== 200) throw refused(response);
  const result = response.body as { project: string; discarded: number; ids: string[]; reason: string };
  emit(options, { project: result.project, discarded: result.discarded, ids: result.ids, reason: result.reason }, () =>
    result.discarded === 0
      ? `Nothing to discard: no dead letter of project "${result.project}" matched.`
      : `Discarded ${result.discarded} dead letter${result.discarded === 1 ? '' : 's'} of project "${result.project}" for good (${result.ids.join(', ')}), because: ${result.reason}\nThe record is kept: sentcopy dlq ls --discarded`,
  );
  if (ids.length > 0 && result.discarded < ids.length) {
    if (!options.json) process.stderr.write(`sentcopy: ${ids.length - result.discarded} of the ids given are not dead letters of project "${result.project}" (see \`sentcopy dlq ls\`).\n`);
    process.exitCode = exitCodes.notFound;
  }
}

/** `sentcopy dlq ls|replay|discard`: the messages a worker gave up on, with their reasons; replaying or discarding them. */
export function registerDlqCommand(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('Dead letters: messages the worker gave up on (conflicting copy, invalid message, destination gone…), with the reason; replaying them once the cause is fixed, or discarding them for good with a reason.')
    .addHelpText(
      'after',
      `
Dead letters belong to a project: the worker shows and replays only those of the project whose API
key is in $${defaultApiKeyEnv} (or the variable --api-key-env names). They hold the message id and the
reason, never the message itself.

Examples:
  $ export SENTCOPY_WORKER_URL=http://127.0.0.1:8787 SENTCOPY_KEY=sc_…
  $ sentcopy dlq ls
  $ sentcopy dlq ls --kind conflict --from 2026-01-01 --json | jq '.items[].message_id'
  $ sentcopy dlq replay 17 18
  $ sentcopy dlq replay --kind unreachable
  $ sentcopy dlq replay --all --yes
  $ sentcopy dlq discard 17 --reason "test message sent to production by mistake"
  $ sentcopy dlq ls --discarded`,
    );

  connectionOptions(
    dlq
      .command('ls')
      .description('List dead letters, oldest first: id, message id, kind, reason, attempts and when.')
      .addOption(new Option('--kind <kind>', 'only this kind').choices([...deadLetterKinds]))
      .option('--from <time>', 'only those dead-lettered at or after this time (ISO 8601 or epoch ms)', timeOption('--from'))
      .option('--to <time>', 'only those dead-lettered before this time (ISO 8601 or epoch ms)', timeOption('--to'))
      .option('-n, --limit <number>', 'dead letters per page', pageSize, 50)
      .option('--cursor <cursor>', 'continue where the previous page ended')
      .option('--all', 'fetch every page', false)
      .option('--discarded', 'list the records of discarded dead letters instead: id, message id, kind, why and when', false),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ sentcopy dlq ls --worker http://127.0.0.1:8787
  $ sentcopy dlq ls --kind invalid --limit 10
  $ sentcopy dlq ls --all --json > dead-letters.json`,
    )
    .action(async (options: ListOptions) => runList(options));

  connectionOptions(
    dlq
      .command('replay')
      .description('Put dead letters back into the queue, ready now with a fresh retry budget: by id, by filter, or all.')
      .argument('[ids...]', 'dead-letter ids, as `sentcopy dlq ls` shows them')
      .addOption(new Option('--kind <kind>', 'replay those of this kind').choices([...deadLetterKinds]))
      .option('--from <time>', 'replay those dead-lettered at or after this time', timeOption('--from'))
      .option('--to <time>', 'replay those dead-lettered before this time', timeOption('--to'))
      .option('--all', 'replay every dead letter of the project (asks first)', false)
      .option('-y, --yes', 'do not ask for confirmation with --all', false),
  )
    .addHelpText(
      'after',
      `
Fix the cause first (a destination back up, a conflicting object removed, a project given a
destination): a replayed message that fails the same way comes back to the dead letters.

Examples:
  $ sentcopy dlq replay 17 18
  $ sentcopy dlq replay --kind conflict --from 2026-03-01
  $ sentcopy dlq replay --all --yes --json`,
    )
    .action(async (ids: string[], options: ReplayOptions) => runReplay(ids, options));

  connectionOptions(
    dlq
      .command('discard')
      .description('Remove dead letters for good, with a required reason that is kept with their record (`dlq ls --discarded`): by id, by filter, or all.')
      .argument('[ids...]', 'dead-letter ids, as `sentcopy dlq ls` shows them')
      .option('--reason <text>', 'why they are given up on (required; at most 500 characters; kept and logged)')
      .addOption(new Option('--kind <kind>', 'discard those of this kind').choices([...deadLetterKinds]))
      .option('--from <time>', 'discard those dead-lettered at or after this time', timeOption('--from'))
      .option('--to <time>', 'discard those dead-lettered before this time', timeOption('--to'))
      .option('--all', 'discard every dead letter of the project (asks first)', false)
      .option('-y, --yes', 'do not ask for confirmation with a filter or --all', false),
  )
    .addHelpText(
      'after',
      `
A discarded message is never archived: only its record stays (id, message id, kind, the dead
letter's reason, your reason, when, and the SHA-256 of the payload that was dropped). Prefer
replaying once the cause is fixed; discard what must not be archived at all.

Examples:
  $ sentcopy dlq discard 17 18 --reason "load test messages, not real sends"
  $ sentcopy dlq discard --kind invalid --to 2026-03-01 --reason "malformed test data" --yes
  $ sentcopy dlq ls --discarded --json`,
    )
    .action(async (ids: string[], options: DiscardOptions) => runDiscard(ids, options));
}
