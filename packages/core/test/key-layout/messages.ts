// Shared inputs of the key layout tests: one message per channel, validated by parseMessage, and
// helpers that catch the errors the tests assert on. Hashes are computed here with node:crypto,
// independently of the code under test.
import { createHash, createHmac } from 'node:crypto';
import { KeyLayoutError, compileKeyLayout } from '../../src/key-layout/index.js';
import { MessageValidationError, parseMessage, type Channel, type Message, type ValidationIssue } from '../../src/payload/index.js';

export const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
/** The secret the tests compile `{hmac(recipient)}` layouts with (presets included). */
export const testRecipientKey = 'test-recipient-key-3f9a1c0d5e7b2468';
export const hmac = (text: string, key: string = testRecipientKey): string => createHmac('sha256', key).update(text, 'utf8').digest('hex');

/** 2024-09-04T07:36:00Z: the month of CleverTap's documented WhatsApp example key. */
export const september2024 = Date.UTC(2024, 8, 4, 7, 36, 0);

/** A message before validation, as a sender hands it in. */
export type MessageInput = Record<string, unknown>;

/** One valid message input per channel, each with campaign context and a recipient typed untidily. */
export const inputs: Readonly<Record<Channel, MessageInput>> = {
  email: {
    version: 1,
    channel: 'email',
    message_id: '651fd10b282850b39e1169c13975234b',
    project_id: 'shop',
    sent_at: september2024,
    to: ' Ana.Garcia@Example.com ',
    subject: 'Your order',
    html_body: '<p>Hi Ana</p>',
    campaign_id: 'ee965cb2-8934-4b0a-acf1-91c899c2f915',
    canvas_step_id: 'step-email-1',
  },
  sms: {
    version: 1,
    channel: 'sms',
    message_id: '9f8c76ccdaf0895515f813af702670324d996296788652b50b3475d6fe6e719a',
    project_id: 'shop',
    sent_at: september2024,
    to: '+1 (555) 010-0107',
    body: 'Your code is 123456',
    provider: 'twilio',
    campaign_id: 1722529032,
  },
  push: {
    version: 1,
    channel: 'push',
    message_id: '57040f2b01ac851c2b2538e817983d1e2e6cdd01cc5e20740550729525a3f345',
    project_id: 'shop',
    sent_at: september2024,
    to: 'frfsgvrwe:APfdsafsgdf/+Sgghfgfg==',
    platform: 'ios',
    payload: { aps: { alert: 'Hi' } },
    campaign_id: 'spring-sale',
    canvas_step_id: 'step-push-3',
  },
  whatsapp: {
    version: 1,
    channel: 'whatsapp',
    message_id: '49482d489b871510eeff7db9a8ab443248ad1ea596e5108e02d16ab5b2ea47db',
    project_id: 'shop',
    sent_at: september2024,
    to: '0015555555555',
    body: 'Hi there!',
    campaign_id: 1725435360,
  },
};

/** The normalized recipients of {@link inputs}, written out by hand. */
export const normalized: Readonly<Record<Channel, string>> = {
  email: 'ana.garcia@example.com',
  sms: '+15550100107',
  push: 'frfsgvrwe:APfdsafsgdf/+Sgghfgfg==',
  whatsapp: '+15555555555',
};

/** The input of `channel` with `changes` applied (a field set to `undefined` is removed), validated. */
export function message(channel: Channel, changes: MessageInput = {}): Message {
  const input: MessageInput = { ...inputs[channel], ...changes };
  for (const [field, value] of Object.entries(changes)) if (value === undefined) delete input[field];
  return parseMessage(input);
}

/** The issues of the `MessageValidationError` that `run` throws. */
export function issuesOf(run: () => unknown): ValidationIssue[] {
  try {
    run();
  } catch (error) {
    if (MessageValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a MessageValidationError');
}

/** The `KeyLayoutError` that compiling `template` throws. */
export function layoutError(template: string): KeyLayoutError {
  try {
    compileKeyLayout(template);
  } catch (error) {
    if (KeyLayoutError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(template)} to be refused`);
}
