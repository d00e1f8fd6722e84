import { InvalidArgumentError, Option, type Command } from 'commander';
import { channels, isChannel, type Channel } from '@sentcopy/core';
import { CliError, exitCodes } from '../cli-kit/index.js';
import type { ArchiveSource } from './archive-source.js';
import { parseDateArgument, type DateArgument } from './date-range.js';
import type { ArchiveFilters } from './list-archive.js';
import { recipientMatch } from './recipient-filter.js';

/** Filter options as commander parses them. */
export interface FilterOptions {
  readonly project?: string;
  readonly channel?: Channel;
  readonly recipient?: string;
  readonly campaign?: string;
  readonly from?: DateArgument;
  readonly to?: DateArgument;
}

/** How `--channel` and `--channels` describe the names they take. */
export const channelNameHelp = `${channels.join(', ')}, or a channel a project declares (lower-case letters, digits, _ and -, starting with a letter, at most 32: rcs, in_app, voice, …)`;

/** Parses one channel name: a built-in channel or any name matching core's `channelNamePattern`. */
export function parseChannelArgument(value: string): Channel {
  if (!isChannel(value)) throw new InvalidArgumentError(`must be ${channelNameHelp}.`);
  return value;
}

/** Adds `--channel`, `--recipient`, `--campaign`, `--from` and `--to` to a command. */
export function addFilterOptions(command: Command): Command {
  return command
    .addOption(new Option('--channel <channel>', `only this channel: ${channelNameHelp}`).argParser(parseChannelArgument))
    .option('--recipient <address>', 'only messages to this address (normalized and hashed here as the key layout does; only the hash reaches the store)')
    .option('--campaign <id>', 'only this campaign id (or Canvas step id; `unassociated` for messages without one)')
    .option('--from <date>', 'only messages sent on or after this UTC date (2026-01-31, 2026-01, or 2026-01-31T09:30:00Z)', parseDateArgument)
    .option('--to <date>', 'only messages sent on or before this UTC date (the whole day/month when no time is given)', parseDateArgument);
}

/** The filters the options describe, for the archive's layout. */
export function filtersFrom(options: FilterOptions, source: ArchiveSource): ArchiveFilters {
  if (options.from !== undefined && options.to !== undefined && options.from.start >= options.to.end) {
    throw new CliError('--from is after --to.', { exitCode: exitCodes.usage, code: 'invalid_date_range', hint: 'Give the earlier date to --from.' });
  }
  return {
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    ...(options.project === undefined ? {} : { projectId: options.project }),
    ...(options.campaign === undefined ? {} : { campaign: options.campaign }),
    ...(options.recipient === undefined ? {} : { recipient: recipientMatch(options.recipient, options.channel, source.reader) }),
    ...(options.from === undefined ? {} : { from: options.from.start }),
    ...(options.to === undefined ? {} : { to: options.to.end }),
  };
}
