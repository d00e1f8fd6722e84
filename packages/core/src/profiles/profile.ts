import type { CodecName } from '../codecs/index.js';
import type { Channel, JsonObject, Message } from '../payload/index.js';

/** Names of the built-in compatibility profiles. */
export type ProfileName = 'sentcopy' | 'braze' | 'clevertap' | 'iterable';

/**
 * How a message is stored: the JSON document written, the key layout and the codec.
 * sentcopy's own profile stores payload format v1 as is; the vendor profiles store what each
 * vendor documents, so downstream tooling built for that vendor keeps working after a migration.
 */
export interface Profile {
  /** Profile name, recorded with every object as `sentcopy-profile` metadata. */
  readonly name: ProfileName;
  /** One sentence saying what the stored JSON and keys look like. */
  readonly description: string;
  /** Default key layout template (see `keyLayoutPresets`). */
  readonly layout: string;
  /** Default codec; the layout's file extension matches it. */
  readonly codec: CodecName;
  /**
   * The JSON document stored for a validated message. Lossless: `parse(render(m))` deep-equals `m`.
   * Throws `MessageValidationError` when the message carries a field this profile needs for itself
   * (for example `dispatch_id` in the braze profile), rather than silently dropping it.
   */
  render(message: Message): JsonObject;
  /**
   * Reads a stored document (already JSON-decoded) back into a validated message.
   * Throws `MessageValidationError` naming fields as the profile stores them.
   */
  parse(stored: unknown, context?: ProfileParseContext): Message;
}

/**
 * What a stored document may lack and the reader knows from elsewhere (usually the object key).
 * Files written by Braze or CleverTap themselves carry no `channel` or `project_id`.
 * Used only when the document does not have the field.
 */
export interface ProfileParseContext {
  /** The channel, e.g. from the key's channel segment. */
  readonly channel?: Channel;
  /** The project the archive belongs to. */
  readonly project_id?: string;
}
