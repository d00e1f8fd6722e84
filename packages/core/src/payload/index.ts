export { channelNamePattern, channels, isChannel, isKnownChannel } from './channel.js';
export type { Channel, KnownChannel } from './channel.js';
export { md5Hex, sha256Hex } from './hashes.js';
export { isJsonNumberText, JsonNumber } from './json-value.js';
export type { JsonObject, JsonValue } from './json-value.js';
export { identifierText } from './identifier-text.js';
export type {
  CustomChannelMessage,
  EmailAttachment,
  EmailMessage,
  Message,
  MessageBase,
  PushMessage,
  SmsMessage,
  WhatsAppMessage,
} from './message.js';
export { messageJsonSchema } from './message-json-schema.js';
export { formatIssues, MessageValidationError } from './message-validation-error.js';
export type { ValidationIssue } from './message-validation-error.js';
export { parseMessage, parseMessageJson, readMessageJson } from './parse-message.js';
export { keepsValueAsDouble, parseJson } from './parse-json.js';
export { addressesIn, isEmailAddress, isMailbox, toE164 } from './recipient-formats.js';
export type { E164Result } from './recipient-formats.js';
export { sampleHtmlEmail, sampleMessages, sampleSms } from './sample-messages.js';
export type { SampleMessagesOptions } from './sample-messages.js';
export { maxSerializeDepth, serializeJson, stringifyJson } from './serialize-json.js';
export { maxMessageDepth, maxValidationIssues, validateMessage } from './validate-message.js';
export type { MessageValidationResult } from './validate-message.js';
