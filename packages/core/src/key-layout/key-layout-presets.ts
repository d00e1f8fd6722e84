/** Names of the built-in key layouts (one per compatibility profile). */
export type KeyLayoutPresetName = 'sentcopy' | 'braze' | 'clevertap' | 'iterable';

/**
 * Built-in key layout templates (see `compileKeyLayout` for the template language).
 * - `sentcopy` (the default): project, then the recipient's SHA-256 early in the key so writes
 *   spread across storage partitions, then channel, UTC day and message.
 * - `braze`: Braze's documented layout; a message outside a campaign and a Canvas step goes to
 *   `unassociated`, as Braze files it.
 * - `clevertap`: CleverTap's documented layout, with the channel capitalized as CleverTap writes it
 *   (`Email`, `Sms`, `Push`, `WhatsApp`). CleverTap messages always have a campaign; a message
 *   without one goes to `unassociated` (Braze's word for the case) rather than being refused.
 * - `iterable`: Iterable's documented layout; a message outside a campaign goes to `unassociated`.
 */
export const keyLayoutPresets: Readonly<Record<KeyLayoutPresetName, string>> = Object.freeze({
  sentcopy: '{project_id}/{sha256(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz',
  braze: 'sent_messages/{channel}/{md5(recipient)}/{campaign_id|canvas_step_id|unassociated}/{message_id}.json.gz',
  clevertap: 'sent_messages/{Channel}/{yyyymm}/{campaign_id|unassociated}/{md5(recipient)}/{message_id}.json.lz4',
  iterable: '{channel}/{project_id}/{sha256(recipient)}/{campaign_id|unassociated}/{message_id}.json.gz',
});
