import { keyLayoutPresets } from '../key-layout/index.js';
import { parseWithContext } from './parse-with-context.js';
import type { Profile } from './profile.js';
import type { JsonObject, Message } from '../payload/index.js';

// A validated message is pure JSON data (validateMessage copies it), whatever its static type says.
const storeAsIs = (message: Message): JsonObject => message as unknown as JsonObject;

// These profiles store payload format v1 field names as they are: CleverTap documents the same
// names (message_id, sent_at in milliseconds, campaign_id, journey_*); Iterable does not publish
// its per-channel field names, so its profile matches Iterable's key layout and gzip and keeps v1 names.

/** sentcopy's own profile: payload format v1 as received, hash-first keys, gzip. */
export const sentcopyProfile = Object.freeze<Profile>({
  name: 'sentcopy',
  description: 'Payload format v1 as received; keys start with the project and the recipient hash; gzip.',
  layout: keyLayoutPresets.sentcopy,
  codec: 'gzip',
  render: storeAsIs,
  parse: parseWithContext,
});

/** CleverTap Message Archiving: CleverTap's field names (the v1 names), `sent_at` in milliseconds, LZ4 frames. */
export const clevertapProfile = Object.freeze<Profile>({
  name: 'clevertap',
  description: "CleverTap's Message Archiving JSON and key layout (sent_messages/Channel/yyyymm/campaign/md5), LZ4 frame.",
  layout: keyLayoutPresets.clevertap,
  codec: 'lz4',
  render: storeAsIs,
  parse: parseWithContext,
});

/** Iterable Stored Messages: Iterable's key layout and gzip, payload format v1 field names. */
export const iterableProfile = Object.freeze<Profile>({
  name: 'iterable',
  description: "Iterable's Stored Messages key layout (channel/project/sha256/campaign) and gzip; v1 field names.",
  layout: keyLayoutPresets.iterable,
  codec: 'gzip',
  render: storeAsIs,
  parse: parseWithContext,
});
