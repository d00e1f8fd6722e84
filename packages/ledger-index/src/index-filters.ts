import type { LedgerEntry } from '@sentcopy/core';
import { LedgerIndexError } from './ledger-index-error.js';

/** What to find. Every filter given must match; leave one out to match everything. */
export interface LedgerIndexFilters {
  /** Only objects of these destinations (the names the index was updated with). @default every destination */
  readonly destinations?: readonly string[];
  /** Recipient hashes (`to`, `cc` or `bcc`), as the ledger writer's recipient hash made them: any of them matches. */
  readonly recipients?: readonly string[];
  /** The message's `user_id`, as text. */
  readonly userId?: string;
  /**
   * The campaign as key layouts name it: the `campaign_id`, else the `canvas_step_id`;
   * `unassociated` matches messages with neither.
   */
  readonly campaign?: string;
  /** The `canvas_id`. */
  readonly canvasId?: string;
  /** The `journey_id`. */
  readonly journeyId?: string;
  /** The channel (`email`, `sms`, …). */
  readonly channel?: string;
  /** The `project_id`. */
  readonly projectId?: string;
  /** The `message_id`. */
  readonly messageId?: string;
  /** Sent at or after this time, epoch milliseconds (inclusive). */
  readonly sentFrom?: number;
  /** Sent before this time, epoch milliseconds (exclusive). */
  readonly sentUntil?: number;
  /**
   * A full-text query (SQLite FTS5 syntax: words, `"a phrase"`, `ship*`, `AND`/`OR`/`NOT`,
   * `subject:word`) over the subject and body; needs the index's full-text table
   * (`enableText()`). Only the index applies it: {@link entryMatches} cannot.
   */
  readonly text?: string;
  /** Also return objects a tombstone records as erased. @default false */
  readonly includeErased?: boolean;
}

/** The campaign value that matches messages without a campaign or Canvas step. */
export const unassociatedCampaign = 'unassociated';

/**
 * True when a ledger entry matches `filters` (the same rules the index's queries apply), for
 * callers that read ledger segments directly. `destinations` and `includeErased` are the caller's
 * to apply; `text` cannot be (the ledger holds no content): a filter with `text` is refused.
 */
export function entryMatches(entry: LedgerEntry, filters: LedgerIndexFilters): boolean {
  if (filters.text !== undefined) throw new LedgerIndexError('text_disabled', 'text: a full-text query needs the local index with its full-text table (`sentcopy index --text`); the ledger holds no content.');
  if (filters.projectId !== undefined && entry.project_id !== filters.projectId) return false;
  if (filters.channel !== undefined && entry.channel !== filters.channel) return false;
  if (filters.userId !== undefined && entry.user_id !== filters.userId) return false;
  if (filters.canvasId !== undefined && entry.canvas_id !== filters.canvasId) return false;
  if (filters.journeyId !== undefined && entry.journey_id !== filters.journeyId) return false;
  if (filters.messageId !== undefined && entry.message_id !== filters.messageId) return false;
  if (filters.campaign !== undefined && (entry.campaign_id ?? entry.canvas_step_id ?? unassociatedCampaign) !== filters.campaign) return false;
  if (filters.sentFrom !== undefined && !(entry.sent_at >= filters.sentFrom)) return false;
  if (filters.sentUntil !== undefined && !(entry.sent_at < filters.sentUntil)) return false;
  if (filters.recipients !== undefined) {
    const wanted = new Set(filters.recipients);
    if (!entry.recipients.some((hash) => wanted.has(hash))) return false;
  }
  return true;
}
