import { createHash } from 'node:crypto';
import { messageKey } from './jetstream-names.js';

/** How the queue names one message: its stable id and the keys it is de-duplicated by. */
export interface MessageIdentity {
  /**
   * The queue's id: the message key and the version, so that two contents under one message id
   * are two entries. Stable through retries, hurries and replays.
   */
  readonly id: string;
  /**
   * The project and message id (see `messageKey`): the key of the message's entry in the
   * queued-ids bucket, which lists every version queued, and of its version mark in the
   * archived-ids bucket.
   */
  readonly dedupeKey: string;
  /**
   * The payload's SHA-256 as a key-value-safe token (its first 32 base64url characters, 192 bits):
   * "the same message" is the same project, message id and version. `''` for a message queued by a
   * sentcopy that did not tell versions apart (its content is not known from its id).
   */
  readonly version: string;
}

/** Length of the version token: 32 base64url characters (192 bits of the SHA-256). */
const versionLength = 32;
const versionPattern = /^[A-Za-z0-9_-]{32}$/;

/** The payload's SHA-256, lower-case hex. */
export function payloadSha256(payload: Uint8Array): string {
  return createHash('sha256').update(payload).digest('hex');
}

/** The identity of a message about to be queued. */
export function identify(project: string, messageId: string, payload: Uint8Array): MessageIdentity & { readonly payloadSha256: string } {
  const dedupeKey = messageKey(project, messageId);
  const digest = createHash('sha256').update(payload).digest();
  const version = digest.toString('base64url').slice(0, versionLength);
  return { id: `${dedupeKey}.${version}`, dedupeKey, version, payloadSha256: digest.toString('hex') };
}

/** The version an id names (its last token); `''` for an id of the earlier form, which names none. */
export function versionOfId(id: string): string {
  const parts = id.split('.');
  return parts.length === 3 && versionPattern.test(parts[2]!) ? parts[2]! : '';
}

/** The message key an id belongs to: the id without its version. */
export function keyOfId(id: string): string {
  const version = versionOfId(id);
  return version === '' ? id : id.slice(0, -(version.length + 1));
}
