import { channelNamePattern, channels, type KnownChannel } from './channel.js';
import type { JsonObject } from './json-value.js';
import { attachmentFieldRules, baseFieldRules, baseRequiredFields, channelFieldRules, customChannelFieldRules, maxMessageIdLength, maxSentAt, minSentAt, type FieldRule } from './message-fields.js';
import { addressListPattern, base64Pattern, mailboxPattern, phoneNumberPattern } from './recipient-formats.js';
import { maxMessageDepth } from './validate-message.js';

const channelTitles: Readonly<Record<KnownChannel, string>> = {
  email: 'Email message',
  sms: 'SMS message',
  push: 'Push notification',
  whatsapp: 'WhatsApp message',
};

const oneOrList = (item: JsonObject, minItems: number): JsonObject => ({
  anyOf: [item, { type: 'array', items: item, ...(minItems > 0 ? { minItems } : {}) }],
});
const numberOrString = (string: JsonObject): JsonObject => ({ anyOf: [string, { type: 'number' }] });

function ruleSchema(rule: FieldRule): JsonObject {
  switch (rule) {
    case 'version':
      return { const: 1, description: 'Payload format version.' };
    case 'channel':
      return { type: 'string', pattern: channelNamePattern };
    case 'message-id':
      return numberOrString({ type: 'string', minLength: 1, maxLength: maxMessageIdLength });
    case 'required-identifier':
      return numberOrString({ type: 'string', minLength: 1 });
    case 'epoch-milliseconds':
      return { type: 'integer', minimum: minSentAt, maximum: maxSentAt, description: 'Epoch milliseconds, UTC.' };
    case 'string':
      return { type: 'string' };
    case 'identifier':
      return { $ref: '#/$defs/identifier' };
    case 'mailbox':
      return { $ref: '#/$defs/mailbox' };
    case 'email-recipients':
      return oneOrList({ $ref: '#/$defs/addressList' }, 1);
    case 'phone-recipients':
      return oneOrList({ $ref: '#/$defs/phoneNumber' }, 1);
    case 'token-recipients':
      return oneOrList({ type: 'string', minLength: 1 }, 1);
    case 'address-lists':
      return oneOrList({ $ref: '#/$defs/addressList' }, 0);
    case 'string-or-strings':
      return oneOrList({ type: 'string' }, 0);
    case 'headers':
      return { $ref: '#/$defs/headers' };
    case 'json-object':
      return { type: 'object' };
    case 'string-or-object':
      return { type: ['string', 'object'] };
    case 'json-list-or-object':
      return { type: ['array', 'object'] };
    case 'attachments':
      return { type: 'array', items: { $ref: '#/$defs/attachment' } };
    case 'base64':
      return { type: 'string', contentEncoding: 'base64', pattern: base64Pattern };
  }
}

const required = new Set(baseRequiredFields);

/** The schema of `field`: optional fields also accept `null`, which counts as absent. */
function fieldSchema(field: string, rule: FieldRule): JsonObject {
  const schema = ruleSchema(rule);
  return required.has(field) ? schema : { anyOf: [{ type: 'null' }, schema] };
}

function propertiesOf(fields: Readonly<Record<string, FieldRule>>): JsonObject {
  return Object.fromEntries(Object.entries(fields).map(([field, rule]) => [field, fieldSchema(field, rule)]));
}

function channelSchema(channel: KnownChannel): JsonObject {
  return {
    title: channelTitles[channel],
    type: 'object',
    properties: { channel: { const: channel }, ...propertiesOf(channelFieldRules[channel].fields) },
    required: ['channel'],
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
 * One `oneOf` branch per known channel, told apart by `channel`'s `const`, and one for any other
 * channel name (generic rules only). Unknown fields are allowed (`additionalProperties: true`);
 * optional fields may be `null`. What JSON Schema cannot say, the validator still checks: strings
 * must be well-formed Unicode and nesting is limited to {@link maxMessageDepth} levels.
 */
export const messageJsonSchema: JsonObject = deepFreeze<JsonObject>({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:sentcopy:schema:message-v1',
  title: 'sentcopy message (payload format v1)',
  description:
    'One message as sent (email, SMS, push, WhatsApp, or another channel a project declares), archived as an exact copy. Unknown fields are kept as received; ' +
    'optional fields may be null, which counts as absent. ' +
    `Beyond this schema, strings and keys must be well-formed Unicode (no lone surrogates) and nesting is limited to ${maxMessageDepth} levels.`,
  type: 'object',
  properties: { ...propertiesOf(baseFieldRules), to: ruleSchema('token-recipients') },
  required: [...baseRequiredFields],
  additionalProperties: true,
  oneOf: [...channels.map((channel) => ({ $ref: `#/$defs/${channel}Message` })), { $ref: '#/$defs/customChannelMessage' }],
  $defs: {
    identifier: {
      description: 'An id kept exactly as received: a string or a number (an empty string counts as absent).',
      type: ['string', 'number'],
    },
    mailbox: {
      description: 'One email address, optionally with a display name: "jane@example.com", "Jane Doe <jane@example.com>", "\\"Doe, Jane\\" <jane@example.com>". Surrounding white space is tolerated.',
      type: 'string',
      pattern: mailboxPattern,
    },
    addressList: {
      description: 'One or more email addresses, each optionally with a display name, separated by commas.',
      type: 'string',
      pattern: addressListPattern,
    },
    phoneNumber: {
      description: 'A phone number with its country code (8 to 15 digits, optional + or 00; spaces, dashes, dots and parentheses allowed).',
      type: 'string',
      pattern: phoneNumberPattern,
    },
    headers: {
      description: 'Email headers: an object mapping names to a string, a number or a list of them (null counts as absent), or all headers as one string.',
      anyOf: [
        { type: 'string' },
        {
          type: 'object',
          additionalProperties: { anyOf: [{ type: ['null', 'string', 'number'] }, { type: 'array', items: { type: ['string', 'number'] } }] },
        },
      ],
    },
    attachment: {
      description: "A file attached to an email: the documented fields (file_name, content_type, base64 bytes) or nodemailer's (filename, contentType, content, encoding).",
      type: 'object',
      properties: propertiesOf(attachmentFieldRules),
      additionalProperties: true,
    },
    ...Object.fromEntries(channels.map((channel) => [`${channel}Message`, channelSchema(channel)])),
    customChannelMessage: {
      title: 'Message of another channel a project declares (generic rules only)',
      type: 'object',
      properties: { channel: { not: { enum: [...channels] } }, ...propertiesOf(customChannelFieldRules.fields) },
      required: ['channel'],
      additionalProperties: true,
    },
  },
});
