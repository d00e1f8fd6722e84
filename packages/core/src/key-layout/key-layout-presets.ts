/** Names of the built-in key layouts: one per compatibility profile, and sentcopy's layout of earlier versions. */
export type KeyLayoutPresetName = 'sentcopy' | 'sentcopy-unkeyed' | 'braze' | 'clevertap' | 'iterable';

/**
 * Built-in key layout templates (see `compileKeyLayout` for the template language). A preset's
 * name can be given wherever a template is expected.
 * - `sentcopy` (the default): project, then the recipient's HMAC-SHA-256 under the deployment's
 *   secret (`recipientKey`) early in the key so writes spread across storage partitions, then
 *   channel, UTC day and message. Without the secret, nobody who can list the bucket can tell
 *   whose messages a folder holds, even for phone numbers.
 * - `sentcopy-unkeyed`: the default layout of sentcopy before the keyed hash, with the
 *   recipient's plain SHA-256. Kept so archives written with it stay readable and keep growing in
 *   one layout; a plain hash of a phone number is reversed in seconds, so prefer `sentcopy`.
 * - `braze`: Braze's documented layout; a message outside a campaign and a Canvas step goes to
 *   `unassociated`, as Braze files it. Its MD5 of the recipient is unkeyed, as Braze documents it.
 * - `clevertap`: CleverTap's documented layout, with the channel capitalized as CleverTap writes it
 *   (`Email`, `Sms`, `Push`, `WhatsApp`). CleverTap messages always have a campaign; a message
 *   without one goes to `unassociated` (Braze's word for the case) rather than being refused.
 *   Unkeyed MD5, as CleverTap documents it.
 * - `iterable`: Iterable's documented layout; a message outside a campaign goes to `unassociated`.
 *   Unkeyed SHA-256, as Iterable documents it.
 */
export const keyLayoutPresets: Readonly<Record<KeyLayoutPresetName, string>> = Object.freeze({
  sentcopy: '{project_id}/{hmac(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz',
  'sentcopy-unkeyed': '{project_id}/{sha256(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz',
  braze: 'sent_messages/{channel}/{md5(recipient)}/{campaign_id|canvas_step_id|unassociated}/{message_id}.json.gz',
  clevertap: 'sent_messages/{Channel}/{yyyymm}/{campaign_id|unassociated}/{md5(recipient)}/{message_id}.json.lz4',
  iterable: '{channel}/{project_id}/{sha256(recipient)}/{campaign_id|unassociated}/{message_id}.json.gz',
});

/** True when `value` is the name of a built-in key layout. */
export function isKeyLayoutPresetName(value: unknown): value is KeyLayoutPresetName {
  return typeof value === 'string' && Object.hasOwn(keyLayoutPresets, value);
}
