import { createHash } from 'node:crypto';
import { createHmacRecipientHash, sha256RecipientHash, type KeyLayout, type RecipientHash } from '@sentcopy/core';

const md5RecipientHash: RecipientHash = (recipient) => createHash('md5').update(recipient, 'utf8').digest('hex');

/** A recipient hash and the name that tells it apart (`hmac`, `md5`, `sha256`). */
export interface NamedRecipientHash {
  /** Which hash: `hmac` (keyed with `recipient_hash_key`), `md5` or `sha256` (unkeyed). */
  readonly name: 'hmac' | 'md5' | 'sha256';
  /** The hash. */
  readonly hash: RecipientHash;
}

/**
 * The recipient hash of a key layout, so a person's ledger entries are found the way their keys
 * are: `{hmac(recipient)}` layouts (sentcopy's) hash with the deployment's secret, vendor presets
 * with their documented unkeyed MD5 or SHA-256. A layout with no recipient hash (a custom template,
 * or one with the recipient in clear) gets the keyed hash when there is a secret, else SHA-256:
 * raw addresses are never written to the ledger.
 */
export function layoutRecipientHash(layout: Pick<KeyLayout, 'placeholders'>, recipientKey: string | undefined): NamedRecipientHash {
  const names = new Set(layout.placeholders.flatMap((placeholder) => placeholder.split('|')));
  if (names.has('hmac(recipient)') && recipientKey !== undefined) return { name: 'hmac', hash: createHmacRecipientHash(recipientKey) };
  if (names.has('md5(recipient)')) return { name: 'md5', hash: md5RecipientHash };
  if (names.has('sha256(recipient)')) return { name: 'sha256', hash: sha256RecipientHash };
  return recipientKey === undefined ? { name: 'sha256', hash: sha256RecipientHash } : { name: 'hmac', hash: createHmacRecipientHash(recipientKey) };
}
