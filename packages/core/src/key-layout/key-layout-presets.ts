/** Names of the built-in key layouts (one per profile). */
export type KeyLayoutPresetName = 'sentcopy' | 'braze' | 'clevertap' | 'iterable';

/**
 * Built-in key layout templates.
 * - `sentcopy`: project, then the recipient hash early so writes spread across storage partitions.
 * - `braze`: Braze's documented layout; sends outside a campaign or Canvas step go to `unassociated`.
 * - `clevertap`: CleverTap's documented layout, channel capitalized as CleverTap writes it. CleverTap
 *   always has a campaign; a message without one goes to `unassociated` rather than being refused.
 * - `iterable`: Iterable's documented layout; sends outside a campaign go to `unassociated`.
 */
export const keyLayoutPresets: Readonly<Record<KeyLayoutPresetName, string>> = Object.freeze({
  sentcopy: '{project_id}/{sha256(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz',
  braze: 'sent_messages/{channel}/{md5(recipient)}/{campaign_id|canvas_step_id|unassociated}/{message_id}.json.gz',
  clevertap: 'sent_messages/{Channel}/{yyyymm}/{campaign_id|unassociated}/{md5(recipient)}/{message_id}.json.lz4',
  iterable: '{channel}/{project_id}/{sha256(recipient)}/{campaign_id|unassociated}/{message_id}.json.gz',
});
