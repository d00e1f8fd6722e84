// The one description of payload format v1 that both the validator and the JSON Schema are built from.
import type { Channel } from './channel.js';

/** What a known field must hold. */
export type FieldRule =
  | 'version'
  | 'channel'
  | 'message-id'
  | 'epoch-milliseconds'
  | 'string'
  | 'non-empty-string'
  | 'identifier'
  | 'email-address'
  | 'phone-number'
  | 'string-list'
  | 'string-map'
  | 'json-object'
  | 'json-list-or-object'
  | 'attachments'
  | 'base64';

// Defined with the other message limits; re-exported here for the validator and the JSON Schema.
export { maxMessageIdLength } from '../limits/index.js';

/** Smallest accepted `sent_at`: 1e11 ms is March 1973; anything smaller is almost certainly epoch seconds. */
export const minSentAt = 100_000_000_000;

/** Largest accepted `sent_at`: the last millisecond of the year 9999 (UTC). */
export const maxSentAt = 253_402_300_799_999;

/** Fields of every channel, except `to`, whose rule depends on the channel. */
export const baseFieldRules: Readonly<Record<string, FieldRule>> = {
  version: 'version',
  channel: 'channel',
  message_id: 'message-id',
  project_id: 'non-empty-string',
  sent_at: 'epoch-milliseconds',
  campaign_id: 'identifier',
  campaign_name: 'string',
  canvas_id: 'non-empty-string',
  canvas_step_id: 'non-empty-string',
  canvas_variation_id: 'non-empty-string',
  message_variation_id: 'non-empty-string',
  journey_id: 'identifier',
  journey_node_id: 'identifier',
  journey_name: 'string',
  user_id: 'identifier',
  extras: 'json-object',
};

/** Required on every channel. */
export const baseRequiredFields: readonly string[] = ['version', 'channel', 'message_id', 'project_id', 'sent_at', 'to'];

/** Fields and requirements of one channel. */
export interface ChannelFieldRules {
  /** Rules of the channel's own fields, `to` included. */
  readonly fields: Readonly<Record<string, FieldRule>>;
  /** Channel fields that must be present. */
  readonly required: readonly string[];
  /** At least one of these must be present (empty: no such requirement). */
  readonly requireOneOf: readonly string[];
}

/** The channel-specific part of payload format v1. */
export const channelFieldRules: Readonly<Record<Channel, ChannelFieldRules>> = {
  email: {
    fields: {
      to: 'email-address',
      from_name: 'string',
      from_address: 'email-address',
      reply_to: 'string',
      cc: 'string-list',
      bcc: 'string-list',
      subject: 'string',
      html_body: 'string',
      plaintext_body: 'string',
      amp_body: 'string',
      headers: 'string-map',
      attachments: 'attachments',
      raw_mime: 'base64',
    },
    required: [],
    requireOneOf: ['html_body', 'plaintext_body', 'amp_body', 'raw_mime'],
  },
  sms: {
    fields: {
      to: 'phone-number',
      body: 'string',
      provider: 'string',
      media_urls: 'string-list',
      subscription_group: 'string',
    },
    required: ['body'],
    requireOneOf: [],
  },
  push: {
    fields: {
      to: 'non-empty-string',
      platform: 'non-empty-string',
      app_id: 'string',
      payload: 'json-object',
    },
    required: ['platform', 'payload'],
    requireOneOf: [],
  },
  whatsapp: {
    fields: {
      to: 'phone-number',
      body: 'string',
      provider: 'string',
      template_name: 'non-empty-string',
      template_params: 'json-list-or-object',
      media_urls: 'string-list',
    },
    required: [],
    requireOneOf: ['body', 'template_name'],
  },
};

/** Rules of an attachment's own fields. */
export const attachmentFieldRules = {
  fields: { file_name: 'non-empty-string', content_type: 'string', bytes: 'base64' },
  required: ['file_name', 'bytes'],
} as const;
