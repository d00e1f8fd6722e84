// Shared inputs of the payload tests: one valid message per channel, deep nesting, a seeded random source.
import { channels, type KnownChannel } from '../../src/payload/index.js';

/** A message as a caller might hand it in: any object, before validation. */
export type MessageInput = Record<string, unknown>;

/** 2024-07-31T16:28:02.680Z, the `sent_at` of CleverTap's documented examples, in milliseconds. */
export const documentedSentAt = 1_722_443_282_680;

/** A minimal valid message of `channel`: only the required fields. */
export function minimalMessage(channel: KnownChannel): MessageInput {
  const base = { version: 1, channel, message_id: `msg-${channel}-1`, project_id: 'acme', sent_at: documentedSentAt };
  switch (channel) {
    case 'email':
      return { ...base, to: 'customer@example.com', html_body: '<p>Hi</p>' };
    case 'sms':
      return { ...base, to: '+15555555555', body: 'Hi there!' };
    case 'push':
      return { ...base, to: 'frfsgvrwe:APfdsafsgdfsgghfgfgjkhfsfgdhjhbvcvnetry767456fxsasdf', platform: 'ios', payload: { aps: { alert: 'Hi' } } };
    case 'whatsapp':
      return { ...base, to: '15555555555', body: 'Hi there!' };
  }
}

/** A valid message of `channel` with every documented field set (and a few unknown ones). */
export function fullMessage(channel: KnownChannel): MessageInput {
  const context = {
    campaign_id: 1_722_529_032,
    campaign_name: 'Flat Offer Sale Campaign',
    canvas_id: 'canvas-1',
    canvas_step_id: 'canvas-step-1',
    canvas_variation_id: 'canvas-variation-1',
    message_variation_id: 'variation-1',
    journey_id: 2450,
    journey_node_id: '1',
    journey_name: 'Flat Offer Sale Journey',
    user_id: 45_142_169,
    extras: { locale: 'en-US', nested: { list: [1, 'two', null, true, { deep: [] }] } },
    dispatch_id: 'unknown-top-level-field',
  };
  const base = { ...minimalMessage(channel), ...context };
  switch (channel) {
    case 'email':
      return {
        ...base,
        from_name: 'Example Shop',
        from_address: 'no-reply@example.com',
        reply_to: 'Support <support@example.com>',
        cc: ['a@example.com'],
        bcc: ['records@example.com', 'audit@example.com'],
        subject: '20% off coupon inside!',
        plaintext_body: 'Hi\r\n',
        amp_body: '<!doctype html><html ⚡4email></html>',
        headers: { 'X-Campaign': 'spring', 'List-Unsubscribe': '<mailto:u@example.com>' },
        attachments: [
          { file_name: 'receipt.pdf', content_type: 'application/pdf', bytes: 'JVBERi0xLjQK' },
          { file_name: 'empty.txt', bytes: '', inline: true },
        ],
      };
    case 'sms':
      return { ...base, provider: 'twilio', media_urls: ['https://cdn.example.com/a.jpg'], subscription_group: 'marketing' };
    case 'push':
      return { ...base, app_id: 'app-key', payload: { aps: { alert: { title: 'T', body: 'B' }, badge: 1 }, custom: { x: [1, 2] } } };
    case 'whatsapp':
      return { ...base, provider: 'meta', template_name: 'order_shipped', template_params: ['Ana', 'SC-1'], media_urls: [] };
  }
}

export const everyChannel: readonly KnownChannel[] = channels;

/** An object nested `levels` deep: `nest(1)` is `{}`, `nest(2)` is `{ a: {} }`. */
export function nest(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < levels; level++) value = { a: value };
  return value;
}

/** An array nested `levels` deep: `nestArray(1)` is `[]`, `nestArray(2)` is `[[]]`. */
export function nestArray(levels: number): unknown[] {
  let value: unknown[] = [];
  for (let level = 1; level < levels; level++) value = [value];
  return value;
}

/** mulberry32, so property tests are reproducible: a failure names its seed. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks one item of `list` with `next`. */
export function pick<T>(next: () => number, list: readonly T[]): T {
  const item = list[Math.floor(next() * list.length)];
  if (item === undefined) throw new Error('pick: empty list');
  return item;
}

/** The UTF-8 text of serialized bytes (fails on invalid UTF-8). */
export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}
