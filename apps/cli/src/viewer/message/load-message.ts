import { DestinationError, getCodec, isKeyLayoutPresetName, keyLayoutPresets, readKeyLayout, RetryExhaustedError, retryInline, type DestinationV1, type ParsedKey, type ProfileName, type StoredObject } from '@sentcopy/core';
import { projectKeyLayout } from '@sentcopy/worker';
import { ChecksumFailureError, getObject } from '../../archive/archive-source.js';
import { inspectObject, type ReadResult } from '../../archive/read-object.js';
import type { ViewerContext } from '../viewer-context.js';

/** One archived object read for the message page: what `inspectObject` found, plus the exact bytes the downloads serve. */
export interface LoadedMessage {
  /** The destination's configured name. */
  readonly destinationName: string;
  readonly destination: DestinationV1;
  /** The stored object as read (its bytes are the stored, encoded ones). */
  readonly stored: StoredObject;
  /** Integrity, codec, profile, document and message, from `archive/read-object.ts`. */
  readonly read: ReadResult;
  /** The stored JSON exactly as stored (decoded from its codec), or `undefined` when the bytes do not decode. */
  readonly json?: Uint8Array;
  /** The key's fields under the layout of the projects writing to this destination, when the key fits it. */
  readonly fields?: ParsedKey;
  /** Why the key's fields could not be read (no single layout, or the key does not fit it). */
  readonly keyProblem?: string;
  /** The JSON document to display: the stored document with the validated message's fields over it (when it validates). */
  readonly document?: Record<string, unknown>;
  /** The message's channel, from the document or the key. */
  readonly channel?: string;
}

/** Why a message could not be loaded: the page says which part was not found. */
export type LoadFailure =
  | { readonly notFound: 'destination' }
  | { readonly notFound: 'object' }
  | { readonly unavailable: string }
  /** The store's client refused to hand over the bytes: they fail the checksum the store recorded (S3 checks it on every read). */
  | { readonly corrupt: string; readonly destination: DestinationV1 };

interface KeyReading {
  readonly fields?: ParsedKey;
  readonly problem?: string;
  readonly profileHint?: ProfileName;
  readonly projectId?: string;
}

/** The key's fields under the layout of the projects writing to `destinationName` (as `openArchiveSource` picks it). */
function readKey(context: ViewerContext, destinationName: string, key: string): KeyReading {
  const { config } = context.loaded;
  const writers = Object.entries(config.projects).filter(([, project]) => project.destination === destinationName);
  const layouts = new Set(writers.map(([, project]) => projectKeyLayout(config, project)).map((layout) => (isKeyLayoutPresetName(layout) ? keyLayoutPresets[layout] : layout)));
  const profiles = new Set(writers.map(([, project]) => project.profile ?? 'sentcopy'));
  const profileHint = profiles.size === 1 ? [...profiles][0] : undefined;
  const projectId = writers.length === 1 ? writers[0]![0] : undefined;
  const hints = { ...(profileHint === undefined ? {} : { profileHint }), ...(projectId === undefined ? {} : { projectId }) };
  if (layouts.size !== 1) return { ...hints, problem: layouts.size === 0 ? 'no project writes to this destination, so its key layout is unknown' : 'the projects writing to this destination use different key layouts' };
  const template = [...layouts][0]!;
  try {
    const fields = readKeyLayout(template).parse(key);
    return fields === undefined ? { ...hints, problem: `the key does not fit the layout ${template}` } : { ...hints, fields };
  } catch (error) {
    return { ...hints, problem: `the layout ${template} cannot be read: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Reads `key` from the destination named `destinationName` and checks it. A destination error
 * of kind `invalid` (a key the store refuses) counts as not found; an outage is `unavailable`.
 */
export async function loadMessage(context: ViewerContext, destinationName: string, key: string): Promise<LoadedMessage | LoadFailure> {
  const destination = context.destinations.get(destinationName);
  if (destination === undefined) return { notFound: 'destination' };
  let stored: StoredObject | undefined;
  try {
    stored = (await retryInline(() => getObject(destination, key), { budgetMs: 10_000, maxAttempts: 4 })).value;
  } catch (error) {
    const last = RetryExhaustedError.isInstance(error) ? error.lastError : error;
    if (last instanceof ChecksumFailureError) return { corrupt: last.message, destination };
    if (DestinationError.isInstance(last) && last.kind === 'invalid') return { notFound: 'object' };
    // The message of a destination error names the store and key, never a recipient; a checksum failure is its own sentence.
    return { unavailable: last instanceof Error ? last.message : String(last) };
  }
  if (stored === undefined) return { notFound: 'object' };
  const keyReading = readKey(context, destinationName, key);
  const read = await inspectObject(destination, stored, {
    ...(keyReading.profileHint === undefined ? {} : { profileHint: keyReading.profileHint }),
    ...(keyReading.fields === undefined ? {} : { fields: keyReading.fields }),
    ...(keyReading.projectId === undefined ? {} : { projectId: keyReading.projectId }),
  });
  let json: Uint8Array | undefined;
  try {
    json = await getCodec(read.codec).decode(stored.body);
  } catch {
    // inspectObject already reports the undecodable bytes as corruption.
  }
  // The validated message names fields as payload format v1 does (a vendor profile's document may not); the stored
  // document keeps the fields validation does not know, which are part of what was sent.
  const document = read.message === undefined ? read.document : { ...read.document, ...(read.message as Record<string, unknown>) };
  const channelValue = document?.['channel'];
  const channel = typeof channelValue === 'string' ? channelValue : keyReading.fields?.channel;
  return {
    destinationName,
    destination,
    stored,
    read,
    ...(json === undefined ? {} : { json }),
    ...(keyReading.fields === undefined ? {} : { fields: keyReading.fields }),
    ...(keyReading.problem === undefined ? {} : { keyProblem: keyReading.problem }),
    ...(document === undefined ? {} : { document }),
    ...(channel === undefined ? {} : { channel }),
  };
}

/** True when `loadMessage` answered with a failure. */
export function isLoadFailure(loaded: LoadedMessage | LoadFailure): loaded is LoadFailure {
  return 'notFound' in loaded || 'unavailable' in loaded || 'corrupt' in loaded;
}
