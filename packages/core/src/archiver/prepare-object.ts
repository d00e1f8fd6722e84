import type { Codec } from '../codecs/index.js';
import type { KeyLayout } from '../key-layout/index.js';
import { completeRawMimeMessage, rawMimeDerivedMarker } from '../mime/index.js';
import { identifierText, parseMessage, parseMessageJson, readMessageJson, serializeJson, sha256Hex, type Channel, type JsonObject, type Message } from '../payload/index.js';
import type { Profile } from '../profiles/index.js';
import type { PreparePool } from './prepare-pool.js';

/** Metadata keys sentcopy records with every object. */
export const archiveMetadataKeys = {
  /** Payload format version (`1`). */
  payloadVersion: 'sentcopy-payload-version',
  /** Profile the JSON was rendered with. */
  profile: 'sentcopy-profile',
  /** The message's channel. */
  channel: 'sentcopy-channel',
  /** SHA-256 of the uncompressed JSON (stays stable if a codec's output ever changes). */
  contentSha256: 'sentcopy-content-sha256',
} as const;

/** An object ready to be written: what `prepare()` computes and `archive()` writes. */
export interface PreparedObject {
  /** The validated message. */
  readonly message: Message;
  /** The message's `message_id`, as text (see `identifierText`). */
  readonly messageId: string;
  /** The message's `project_id`, as text (see `identifierText`). */
  readonly projectId: string;
  /** The message's channel. */
  readonly channel: Channel;
  /** Object key from the layout. */
  readonly key: string;
  /** The stored bytes: the rendered JSON, encoded by the codec. */
  readonly body: Uint8Array;
  /** SHA-256 of `body` (the stored bytes), lower-case hex. */
  readonly sha256: string;
  /** SHA-256 of the uncompressed JSON, lower-case hex. */
  readonly contentSha256: string;
  /** MIME type recorded with the object. */
  readonly contentType: string;
  /** Content encoding recorded with the object, if any. */
  readonly contentEncoding?: string;
  /** Metadata recorded with the object (see {@link archiveMetadataKeys}). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What `check()` found: the message can be stored, under this key. */
export interface CheckedMessage {
  /**
   * The validated message, as it will be stored: an email's `to`, `sent_at` and `message_id` read
   * from its `raw_mime` headers where absent, listed in `derived_from_raw_mime`.
   */
  readonly message: Message;
  /** The message's `message_id`, as text (see `identifierText`). */
  readonly messageId: string;
  /** The message's `project_id`, as text (see `identifierText`). */
  readonly projectId: string;
  /** The message's channel. */
  readonly channel: Channel;
  /** Object key from the layout. */
  readonly key: string;
}

/** The metadata recorded with every object; a prepare pool rebuilds it from the same three facts instead of copying it back. */
export function archiveMetadata(profileName: string, channel: string, contentSha256: string): Record<string, string> {
  return {
    [archiveMetadataKeys.payloadVersion]: '1',
    [archiveMetadataKeys.profile]: profileName,
    [archiveMetadataKeys.channel]: channel,
    [archiveMetadataKeys.contentSha256]: contentSha256,
  };
}

/** Validates a message given as an object, or as its JSON text in UTF-8 bytes. */
export function parseInput(input: unknown): Message {
  return input instanceof Uint8Array ? parseMessageJson(input) : parseMessage(input);
}

/**
 * Validates a message given as an object or as its JSON text in UTF-8 bytes, after filling an
 * email's absent `to`, `sent_at` and `message_id` from its `raw_mime` headers.
 */
export async function parseInputCompleted(input: unknown): Promise<Message> {
  const value = input instanceof Uint8Array ? readMessageJson(input) : input;
  return parseMessage(await completeRawMimeMessage(value));
}

/** The fields of `message` that were read from its `raw_mime` (with the marker listing them), or `undefined` when none were. */
export function derivedFields(message: Message): Record<string, unknown> | undefined {
  const listed = message[rawMimeDerivedMarker];
  if (!Array.isArray(listed)) return undefined;
  const fields: Record<string, unknown> = { [rawMimeDerivedMarker]: listed };
  for (const field of listed) if (typeof field === 'string' && Object.hasOwn(message, field)) fields[field] = message[field];
  return fields;
}

/** Key and rendered document of a validated message. */
function keyAndRender(profile: Profile, layout: KeyLayout, message: Message): { message: Message; key: string; document: JsonObject } {
  const key = layout.render(message);
  return { message, key, document: profile.render(message) };
}

/**
 * The steps of `prepare()` that can refuse a message, shared by `check()` and `prepare()` so the
 * two cannot disagree: complete an email from its `raw_mime` headers, validate, key, render.
 */
async function checkAndRender(profile: Profile, layout: KeyLayout, input: unknown): Promise<{ message: Message; key: string; document: JsonObject }> {
  return keyAndRender(profile, layout, await parseInputCompleted(input));
}

/** The archiver's `check()`: the steps of `prepare()` that can refuse a message, on the calling thread. */
export function checkHere(profile: Profile, layout: KeyLayout): (input: unknown) => Promise<CheckedMessage> {
  return async (input) => {
    const { message, key } = await checkAndRender(profile, layout, input);
    return { message, messageId: identifierText(message.message_id), projectId: identifierText(message.project_id), channel: message.channel, key };
  };
}

/** Prepares messages on the calling thread. */
export function prepareHere(profile: Profile, layout: KeyLayout, codec: Codec): (input: unknown) => Promise<PreparedObject> {
  return async (input) => {
    const { message, key, document } = await checkAndRender(profile, layout, input);
    const json = serializeJson(document);
    const body = await codec.encode(json);
    const contentSha256 = sha256Hex(json);
    return {
      message,
      messageId: identifierText(message.message_id),
      projectId: identifierText(message.project_id),
      channel: message.channel,
      key,
      body,
      sha256: sha256Hex(body),
      contentSha256,
      contentType: codec.contentType,
      ...(codec.contentEncoding === undefined ? {} : { contentEncoding: codec.contentEncoding }),
      metadata: archiveMetadata(profile.name, message.channel, contentSha256),
    };
  };
}

/** The archiver's `prepare()`: on the pool's threads when one is given, else here. */
export function createPrepare(profile: Profile, layout: KeyLayout, codec: Codec, pool: PreparePool | undefined): (input: unknown) => Promise<PreparedObject> {
  if (pool === undefined) return prepareHere(profile, layout, codec);
  return pool.preparer({ profile, layout, codec });
}
