import { channels, type Channel } from './channel.js';
import type { JsonObject } from './json-value.js';
import {
  attachmentFieldRules,
  baseFieldRules,
  baseRequiredFields,
  channelFieldRules,
  maxMessageIdLength,
  maxSentAt,
  minSentAt,
  type FieldRule,
} from './message-fields.js';
import { base64Pattern, emailAddressPattern, phoneNumberPattern } from './recipient-formats.js';
import { maxMessageDepth } from './validate-message.js';

const channelTitles: Readonly<Record<Channel, string>> = {
  email: 'Email message',
  sms: 'SMS message',
  push: 'Push notification',
  whatsapp: 'WhatsApp message',
};

function ruleSchema(rule: FieldRule): JsonObject {
  switch (rule) {
    case 'version':
      return { const: 1, description: 'Payload format version.' };
    case 'channel':
      return { enum: [...channels] };
    case 'message-id':
      return { type: 'string', minLength: 1, maxLength: maxMessageIdLength };
    case 'epoch-milliseconds':
      return { type: 'integer', minimum: minSentAt, maximum: maxSentAt, description: 'Epoch milliseconds, UTC.' };
    case 'string':
      return { type: 'string' };
    case 'non-empty-string':
      return { type: 'string', minLength: 1 };
    case 'identifier':
      return { $ref: '#/$defs/identifier' };
    case 'email-address':
      return { $ref: '#/$defs/emailAddress' };
    case 'phone-number':
      return { $ref: '#/$defs/phoneNumber' };
    case 'string-list':
      return { $ref: '#/$defs/stringList' };
    case 'string-map':
      return { $ref: '#/$defs/stringMap' };
    case 'json-object':
      return { type: 'object' };
    case 'json-list-or-object':
      return { type: ['array', 'object'] };
    case 'attachments':
      return { type: 'array', items: { $ref: '#/$defs/attachment' } };
    case 'base64':
      return { type: 'string', contentEncoding: 'base64', pattern: base64Pattern };
  }
}

function propertiesOf(fields: Readonly<Record<string, FieldRule>>): JsonObject {
  return Object.fromEntries(Object.entries(fields).map(([field, rule]) => [field, ruleSchema(rule)]));
}

function channelSchema(channel: Channel): JsonObject {
  const rules = channelFieldRules[channel];
  return {
    title: channelTitles[channel],
    type: 'object',
    properties: { channel: { const: channel }, ...propertiesOf(rules.fields) },
    required: ['channel', ...rules.required],
    ...(rules.requireOneOf.length > 0 ? { anyOf: rules.requireOneOf.map((field) => ({ required: [field] })) } : {}),
    additionalProperties: true,
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * JSON Schema (draft 2020-12) of payload format v1, for consumers outside TypeScript. Built from
 * the same field rules as `validateMessage`, and published as `@sentcopy/core/schema/message-v1.schema.json`.
 *
 * One `oneOf` branch per channel, told apart by `channel`'s `const`. Unknown fields are allowed
 * (`additionalProperties: true`). What JSON Schema cannot say, the validator still checks: strings
 * must be well-formed Unicode and nesting is limited to {@link maxMessageDepth} levels.
 */
export const messageJsonSchema: JsonObject = deepFreeze<JsonObject>({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:sentcopy:schema:message-v1',
  title: 'sentcopy message (payload format v1)',
  description:
    'One message as sent (email, SMS, push or WhatsApp), archived as an exact copy. Unknown fields are kept as received. ' +
    `Beyond this schema, strings and keys must be well-formed Unicode (no lone surrogates) and nesting is limited to ${maxMessageDepth} levels.`,
  type: 'object',
  properties: { ...propertiesOf(baseFieldRules), to: { type: 'string' } },
  required: [...baseRequiredFields],
  additionalProperties: true,
  oneOf: channels.map((channel) => ({ $ref: `#/$defs/${channel}Message` })),
  $defs: {
    identifier: {
      description: 'An id kept exactly as received: a non-empty string or a number.',
      anyOf: [{ type: 'string', minLength: 1 }, { type: 'number' }],
    },
    emailAddress: {
      description: 'An email address without display name; surrounding white space is tolerated.',
      type: 'string',
      pattern: emailAddressPattern,
    },
    phoneNumber: {
      description: 'A phone number with its country code (8 to 15 digits, optional + or 00; spaces, dashes, dots and parentheses allowed).',
      type: 'string',
      pattern: phoneNumberPattern,
    },
    stringList: { type: 'array', items: { type: 'string' } },
    stringMap: { type: 'object', additionalProperties: { type: 'string' } },
    attachment: {
      type: 'object',
      properties: {
        file_name: ruleSchema(attachmentFieldRules.fields.file_name),
        content_type: ruleSchema(attachmentFieldRules.fields.content_type),
        bytes: { type: 'string', contentEncoding: 'base64', pattern: base64Pattern },
      },
      required: [...attachmentFieldRules.required],
      additionalProperties: true,
    },
    ...Object.fromEntries(channels.map((channel) => [`${channel}Message`, channelSchema(channel)])),
  },
});
