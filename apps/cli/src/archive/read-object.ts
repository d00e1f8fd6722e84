import { createHash } from 'node:crypto';
import {
  archiveMetadataKeys,
  CodecError,
  detectCodec,
  formatIssues,
  getCodec,
  getProfile,
  isChannel,
  isProfileName,
  JsonNumber,
  MessageValidationError,
  parseJson,
  type Channel,
  type CodecName,
  type DestinationV1,
  type Message,
  type ParsedKey,
  type ProfileName,
  type StoredObject,
} from '@sentcopy/core';

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What reading one object found: its integrity, its JSON document and, when it validates, the message. */
export interface ReadResult {
  /** The object's key. */
  readonly key: string;
  /** Size of the stored bytes. */
  readonly size: number;
  /** SHA-256 of the bytes read. */
  readonly sha256: string;
  /**
   * The SHA-256 recorded when the object was written, or `undefined` when the store has none
   * (an object written by another tool, or a local-folder object whose sidecar is gone).
   */
  readonly recordedSha256?: string;
  /** The codec the bytes were decoded with. */
  readonly codec: CodecName;
  /** The profile the JSON is in (recorded with the object, else guessed from the document). */
  readonly profile: ProfileName;
  /** Problems that make the object corrupt: hash mismatches, undecodable bytes or JSON. Empty when intact. */
  readonly corruption: readonly string[];
  /** The JSON document, when the bytes decoded. */
  readonly document?: Record<string, unknown>;
  /** The message, when the document validates as payload format v1 under its profile. */
  readonly message?: Message;
  /** Why the document is not a valid message (payload format v1), when it is not. */
  readonly invalid?: string;
  /** The object's metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Content type recorded with the object. */
  readonly contentType?: string;
  /** When the object was written, if the store says. */
  readonly lastModified?: Date;
}

function codecFor(key: string, object: StoredObject): CodecName {
  if (key.endsWith('.gz') || object.contentEncoding === 'gzip') return 'gzip';
  if (key.endsWith('.lz4') || object.contentEncoding === 'lz4') return 'lz4';
  if (key.endsWith('.json')) return 'none';
  return detectCodec(object.body);
}

function guessProfile(metadata: Readonly<Record<string, string>>, document: Record<string, unknown> | undefined, hint: ProfileName | undefined): ProfileName {
  const recorded = metadata[archiveMetadataKeys.profile];
  if (recorded !== undefined && isProfileName(recorded)) return recorded;
  // Braze writes the message id as dispatch_id; no other profile does.
  if (document !== undefined && Object.hasOwn(document, 'dispatch_id') && !Object.hasOwn(document, 'message_id')) return 'braze';
  // A document without dispatch_id was not written in Braze's shape, whatever the layout says.
  if (hint === 'braze' && document !== undefined) return 'sentcopy';
  return hint ?? 'sentcopy';
}

/**
 * Whether the store really recorded the SHA-256 it reports. `get()` falls back to hashing the bytes
 * when nothing was recorded, which would make every check pass, so for objects without sentcopy's
 * own metadata the answer comes from `head()`: a local folder reports no content type when the
 * sidecar holding the hash is gone, S3 reports no hash at all.
 */
async function recordedHash(destination: DestinationV1, object: StoredObject): Promise<string | undefined> {
  if (object.metadata[archiveMetadataKeys.contentSha256] !== undefined) return object.sha256;
  const info = await destination.head(object.key);
  if (info?.sha256 === undefined || info.contentType === undefined) return undefined;
  return info.sha256;
}

/** Validates `document` under `profile`, filling channel/project from the key when the document lacks them. */
function toMessage(document: Record<string, unknown>, profile: ProfileName, fields: ParsedKey | undefined, projectId: string | undefined): { message?: Message; invalid?: string } {
  try {
    const context = { ...(fields?.channel === undefined ? {} : { channel: fields.channel }), ...(projectId === undefined ? {} : { project_id: projectId }) };
    return { message: getProfile(profile).parse(document, context) };
  } catch (error) {
    if (MessageValidationError.isInstance(error)) return { invalid: formatIssues(error.issues) };
    return { invalid: error instanceof Error ? error.message : String(error) };
  }
}

/** Options for {@link inspectObject}. */
export interface InspectOptions {
  /** The profile the configuration or `--layout` suggests, for documents that do not record theirs. */
  readonly profileHint?: ProfileName;
  /** The key's fields, for documents that lack channel or project (as vendor-written ones may). */
  readonly fields?: ParsedKey;
  /** The project the archive belongs to, for documents that lack it. */
  readonly projectId?: string;
}

/**
 * Checks a stored object: re-hashes its bytes against the recorded SHA-256, decodes them (the
 * codec from the key's extension or the recorded encoding), compares the JSON with the recorded
 * content SHA-256, parses it and validates the message.
 */
export async function inspectObject(destination: DestinationV1, object: StoredObject, options: InspectOptions = {}): Promise<ReadResult> {
  const corruption: string[] = [];
  const sha256 = sha256Hex(object.body);
  const recordedSha256 = await recordedHash(destination, object);
  if (recordedSha256 !== undefined && recordedSha256 !== sha256) corruption.push(`its bytes hash to ${sha256.slice(0, 12)}…, not the recorded ${recordedSha256.slice(0, 12)}…`);

  const codec = codecFor(object.key, object);
  let json: Uint8Array | undefined;
  try {
    json = await getCodec(codec).decode(object.body);
  } catch (error) {
    corruption.push(`it does not decode as ${codec}: ${CodecError.isInstance(error) ? error.message : String(error)}`);
  }
  let document: Record<string, unknown> | undefined;
  if (json !== undefined) {
    const contentSha256 = object.metadata[archiveMetadataKeys.contentSha256];
    if (contentSha256 !== undefined && sha256Hex(json) !== contentSha256) corruption.push('its decoded JSON does not match the recorded content SHA-256');
    try {
      // Exact numbers: a stored 12345678901234567891 must not read back rounded (or 1e400 as Infinity, which fails validation).
      const parsed: unknown = parseJson(Buffer.from(json).toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) document = parsed as Record<string, unknown>;
      else corruption.push('its JSON is not an object');
    } catch {
      corruption.push('its decoded bytes are not JSON');
    }
  }
  const profile = guessProfile(object.metadata, document, options.profileHint);
  const validated = document === undefined ? {} : toMessage(document, profile, options.fields, options.projectId);
  return {
    key: object.key,
    size: object.body.byteLength,
    sha256,
    ...(recordedSha256 === undefined ? {} : { recordedSha256 }),
    codec,
    profile,
    corruption,
    ...(document === undefined ? {} : { document }),
    ...validated,
    metadata: object.metadata,
    ...(object.contentType === undefined ? {} : { contentType: object.contentType }),
    ...(object.lastModified === undefined ? {} : { lastModified: object.lastModified }),
  };
}

/** The fields filters need, read from a JSON document of any profile (used when the key lacks them). */
export interface DocumentFields {
  readonly channel?: Channel;
  readonly projectId?: string;
  /** `campaign_id`, else `canvas_step_id`, as text. */
  readonly campaign?: string;
  readonly to?: string;
  /** `sent_at` in epoch ms. */
  readonly sentAt?: number;
}

/** Reads filterable fields straight from a document, without validating it. */
export function documentFields(document: Record<string, unknown>, profile: ProfileName): DocumentFields {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : JsonNumber.isInstance(value) ? value.text : undefined);
  const sentAt = typeof document['sent_at'] === 'number' ? (profile === 'braze' ? Math.round(document['sent_at'] * 1000) : document['sent_at']) : undefined;
  const channel = document['channel'];
  const campaign = text(document['campaign_id']) ?? text(document['canvas_step_id']);
  const projectId = text(document['project_id']);
  const to = typeof document['to'] === 'string' ? document['to'] : undefined;
  return {
    ...(typeof channel === 'string' && isChannel(channel) ? { channel } : {}),
    ...(projectId === undefined ? {} : { projectId }),
    ...(campaign === undefined ? {} : { campaign }),
    ...(to === undefined ? {} : { to }),
    ...(sentAt === undefined ? {} : { sentAt }),
  };
}
