import { createHash, createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { addressesIn, keyLayoutPresets, ledgerPrefix, normalizeRecipient, readLedger, toE164, type Channel, type DestinationV1, type LedgerEntry, type LedgerReadResult } from '@sentcopy/core';
import { entryMatches, openLedgerIndex, type IndexUpdateResult, type LedgerIndex, type LedgerIndexFilters } from '@sentcopy/ledger-index';
import { projectKeyLayout } from '@sentcopy/worker';
import { CliError, exitCodes, openDestination, type LoadedConfig } from '../cli-kit/index.js';
import { destinationFailure, loadRecipientKey, withRetries } from './archive-source.js';

/** A configured destination opened for a ledger search. */
export interface LedgerDestination {
  readonly name: string;
  /** The destination; absent when it could not be opened (then `error` says why, and `hasLedger` is false). */
  readonly destination?: DestinationV1;
  /** Whether it holds any ledger segment. */
  readonly hasLedger: boolean;
  /** Why it could not be looked at, when it could not. */
  readonly error?: string;
}

/** The index file used when `--index` is not given: `.sentcopy/ledger-index.sqlite` beside the configuration. */
export function defaultIndexFile(loaded: LoadedConfig): string {
  return path.join(loaded.baseDir, '.sentcopy', 'ledger-index.sqlite');
}

/** True when `destination` holds at least one key under the ledger prefix. */
export async function hasLedgerSegments(name: string, destination: DestinationV1): Promise<boolean> {
  const page = await withRetries({ destinationName: name }, 'look for a ledger', () => destination.list({ prefix: ledgerPrefix, limit: 1 }));
  return page.objects.length > 0;
}

/** One quick look (no retries) for a ledger; a failure is kept, not thrown. */
async function lookForLedger(destination: DestinationV1): Promise<{ hasLedger: boolean; error?: string }> {
  try {
    const page = await destination.list({ prefix: ledgerPrefix, limit: 1 });
    return { hasLedger: page.objects.length > 0 };
  } catch (error) {
    return { hasLedger: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Opens the destinations a search covers: the one `--destination` names, else every destination in
 * the configuration (a project's messages may be in any destination it has used).
 */
export async function openLedgerDestinations(loaded: LoadedConfig, only: string | undefined): Promise<LedgerDestination[]> {
  const names = only === undefined ? Object.keys(loaded.config.destinations).sort() : [only];
  if (names.length === 0) throw new CliError(`${loaded.file} has no destination.`, { exitCode: exitCodes.usage, code: 'destination_required', hint: 'Add one with `sentcopy destinations connect`.' });
  // A destination that cannot be opened (a secret not set here) must not stop a search of the others.
  const destinations: (DestinationV1 | { error: string })[] = [];
  for (const name of names) {
    try {
      destinations.push(await openDestination(loaded, name));
    } catch (error) {
      if (only !== undefined) {
        for (const destination of destinations) if (!('error' in destination)) await destination.close?.().catch(() => undefined);
        throw error;
      }
      destinations.push({ error: error instanceof Error ? error.message : String(error) });
    }
  }
  // One look per destination, all at once: a search over many destinations should not wait on each in turn.
  const opened = await Promise.all(
    names.map(async (name, index): Promise<LedgerDestination> => {
      const destination = destinations[index]!;
      if ('error' in destination) return { name, hasLedger: false, error: destination.error };
      return { name, destination, ...(await lookForLedger(destination)) };
    }),
  );
  return opened;
}

/**
 * Whether the destination a plain `ls` would read (the one `--destination` or the project names,
 * else the only one used) holds a ledger; `undefined` when that is ambiguous. Looks at that one
 * destination only, so an archive without a ledger costs one listing, not one per destination
 * (each cloud's SDK loads only when one of its destinations is opened).
 */
export async function primaryHasLedger(loaded: LoadedConfig, destination: string | undefined, project: string | undefined): Promise<boolean | undefined> {
  const { destinations, projects } = loaded.config;
  const names = Object.keys(destinations);
  const used = [...new Set(Object.values(projects).flatMap((entry) => (entry.destination === undefined ? [] : [entry.destination])))];
  const name = destination ?? (project === undefined ? undefined : projects[project]?.destination) ?? (names.length === 1 ? names[0] : used.length === 1 ? used[0] : undefined);
  if (name === undefined || destinations[name] === undefined) return undefined;
  const opened = await openDestination(loaded, name);
  try {
    return (await lookForLedger(opened)).hasLedger;
  } finally {
    await opened.close?.().catch(() => undefined);
  }
}

/** Closes every destination. */
export async function closeAll(destinations: readonly LedgerDestination[]): Promise<void> {
  for (const { destination } of destinations) await destination?.close?.().catch(() => undefined);
}

/**
 * Every hash a ledger may hold for `address`: it is normalized as key layouts do it (lower-cased
 * email address part, E.164 phone, push token as is), then hashed the ways sentcopy's writers hash
 * recipients — HMAC-SHA-256 under the deployment's recipient key (when set), SHA-256, and MD5 when
 * a project uses a layout with `{md5(recipient)}`. Only hashes leave this function; errors name
 * `--recipient`, never the value.
 */
export async function recipientHashes(address: string, channel: Channel | undefined, loaded: LoadedConfig): Promise<string[]> {
  const channels: Channel[] = channel !== undefined ? [channel] : addressesIn(address) !== undefined ? ['email'] : toE164(address).ok ? ['sms', 'push'] : ['push'];
  const normalized = new Set<string>();
  for (const candidate of channels) {
    try {
      normalized.add(normalizeRecipient(candidate, address));
    } catch {
      // Reported below when no channel accepts it.
    }
  }
  if (normalized.size === 0) {
    throw new CliError('--recipient is not a recipient address.', { exitCode: exitCodes.usage, code: 'invalid_recipient', hint: 'Give the address as it was sent to: name@example.com, +15550100100, or a push token.' });
  }
  const layouts = Object.values(loaded.config.projects).map((project) => {
    const layout = projectKeyLayout(loaded.config, project);
    return Object.hasOwn(keyLayoutPresets, layout) ? keyLayoutPresets[layout as keyof typeof keyLayoutPresets] : layout;
  });
  const keyed = layouts.some((layout) => layout.includes('hmac(recipient)'));
  const recipientKey = await loadRecipientKey(loaded);
  if (keyed && recipientKey === undefined) {
    throw new CliError('--recipient needs the recipient key: this deployment hashes recipients with a keyed hash, which only its secret reproduces.', {
      exitCode: exitCodes.usage,
      code: 'recipient_key_required',
      hint: "Set the variable the configuration's recipient_hash_key names (SENTCOPY_RECIPIENT_KEY by default), or keep it in the env file beside the configuration (sentcopy.config.env).",
    });
  }
  const md5 = layouts.some((layout) => layout.includes('md5(recipient)'));
  const hashes = new Set<string>();
  for (const value of normalized) {
    if (recipientKey !== undefined) hashes.add(createHmac('sha256', recipientKey).update(value, 'utf8').digest('hex'));
    hashes.add(createHash('sha256').update(value, 'utf8').digest('hex'));
    if (md5) hashes.add(createHash('md5').update(value, 'utf8').digest('hex'));
  }
  return [...hashes];
}

/** One object a ledger search found. */
export interface FoundObject {
  readonly destination: string;
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly messageId: string;
  readonly channel: string;
  readonly projectId: string;
  readonly campaignId?: string;
  readonly canvasStepId?: string;
  readonly userId?: string;
  readonly sentAt: number;
  readonly version: boolean;
  readonly originalKey?: string;
}

/** A found object from a ledger entry. */
export function foundFromEntry(destination: string, entry: LedgerEntry): FoundObject {
  return {
    destination,
    key: entry.key,
    sha256: entry.sha256,
    size: entry.size,
    messageId: String(entry.message_id),
    channel: String(entry.channel),
    projectId: String(entry.project_id),
    ...(entry.campaign_id === undefined ? {} : { campaignId: entry.campaign_id }),
    ...(entry.canvas_step_id === undefined ? {} : { canvasStepId: entry.canvas_step_id }),
    ...(entry.user_id === undefined ? {} : { userId: entry.user_id }),
    sentAt: entry.sent_at,
    version: entry.version === true,
    ...(entry.original_key === undefined ? {} : { originalKey: entry.original_key }),
  };
}

/** Reads one destination's whole ledger, in CLI terms on failure. */
export async function readDestinationLedger(ledger: LedgerDestination): Promise<LedgerReadResult> {
  try {
    return await readLedger(ledger.destination!);
  } catch (error) {
    throw destinationFailure(error, { destinationName: ledger.name }, 'read the ledger');
  }
}

/** The entries of `ledger` matching `filters` (erased ones left out unless `includeErased`), oldest first. */
export function matchingEntries(name: string, read: LedgerReadResult, filters: LedgerIndexFilters): FoundObject[] {
  const found: FoundObject[] = [];
  for (const entry of read.entries.values()) {
    if (filters.includeErased !== true && read.tombstones.has(entry.key)) continue;
    if (entryMatches(entry, filters)) found.push(foundFromEntry(name, entry));
  }
  return found;
}

/** Opens the index file when it exists (or `create`), else `undefined`. */
export function openIndexIfPresent(file: string, create: boolean): LedgerIndex | undefined {
  if (!create && !existsSync(file)) return undefined;
  try {
    return openLedgerIndex({ file });
  } catch (error) {
    throw new CliError(`The ledger index ${file} cannot be opened: ${(error as Error).message}`, { exitCode: exitCodes.failure, code: 'index_unreadable', hint: 'Delete the file and run `sentcopy index` to build it again.', cause: error });
  }
}

/** Brings the index up to date with one destination, in CLI terms on failure. */
export async function updateIndexed(index: LedgerIndex, ledger: LedgerDestination, options: Parameters<LedgerIndex['update']>[2] = {}): Promise<IndexUpdateResult> {
  try {
    return await index.update(ledger.name, ledger.destination!, options);
  } catch (error) {
    throw destinationFailure(error, { destinationName: ledger.name }, 'read the ledger');
  }
}
