import type { Command } from 'commander';
import { LedgerIndexError, type LedgerIndexFilters } from '@sentcopy/ledger-index';
import { CliError, exitCodes } from '../cli-kit/index.js';
import { parseDateArgument, type DateArgument } from './date-range.js';
import type { FilterOptions } from './filter-options.js';

/** The options of a search the ledger (or the local index) answers, beyond {@link FilterOptions}, as commander parses them. */
export interface LedgerSearchOptions {
  readonly since?: DateArgument;
  readonly until?: DateArgument;
  readonly userId?: string;
  readonly canvas?: string;
  readonly journey?: string;
  readonly index?: string;
  readonly listing?: boolean;
  readonly text?: string;
}

/** Adds `--since`, `--until`, `--user-id`, `--canvas`, `--journey`, `--index`, `--listing` and `--text` (`sentcopy ls` and `sentcopy export`). */
export function addLedgerSearchOptions(command: Command): Command {
  return command
    .option('--since <date>', 'same as --from: sent on or after this UTC date', parseDateArgument)
    .option('--until <date>', 'same as --to: sent on or before this UTC date', parseDateArgument)
    .option('--user-id <id>', 'only messages with this user_id (needs a ledger)')
    .option('--canvas <id>', 'only messages of this Canvas id (needs a ledger)')
    .option('--journey <id>', 'only messages of this journey id (needs a ledger)')
    .option('--index <file>', 'the local ledger index (default: .sentcopy/ledger-index.sqlite beside the configuration); used when it exists')
    .option('--listing', 'find the objects by listing the keys in the store, as without a ledger, even where a ledger exists')
    .option('--text <query>', 'only messages whose subject or body matches this full-text query (SQLite FTS5 syntax; needs `sentcopy index --text`)');
}

/** The ledger-index filters of a search's options; `recipients` are the typed recipient's hashes, `from`/`to` the resolved date range. */
export function ledgerFiltersOf(options: FilterOptions & LedgerSearchOptions, recipients: readonly string[] | undefined, range: { from?: DateArgument; to?: DateArgument }): LedgerIndexFilters {
  return {
    ...(options.text === undefined ? {} : { text: options.text }),
    ...(options.project === undefined ? {} : { projectId: options.project }),
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    ...(recipients === undefined ? {} : { recipients: [...recipients] }),
    ...(options.campaign === undefined ? {} : { campaign: options.campaign }),
    ...(options.userId === undefined ? {} : { userId: options.userId }),
    ...(options.canvas === undefined ? {} : { canvasId: options.canvas }),
    ...(options.journey === undefined ? {} : { journeyId: options.journey }),
    ...(range.from === undefined ? {} : { sentFrom: range.from.start }),
    ...(range.to === undefined ? {} : { sentUntil: range.to.end }),
  };
}

/** A text query the index refused, as the usage error naming `--text`; any other error unchanged. */
export function textQueryError(error: unknown): unknown {
  if (LedgerIndexError.isInstance(error) && error.kind === 'invalid' && error.message.startsWith('text:')) {
    return new CliError(`--text${error.message.slice('text'.length)}`, { exitCode: exitCodes.usage, code: 'invalid_text_query', hint: 'See `sentcopy ls --help` for the query syntax.', cause: error });
  }
  return error;
}
