import { describe, expect, it } from 'vitest';
import { channels, sampleHtmlEmail, sampleMessages, sampleSms, serializeJson, toE164, validateMessage, type EmailMessage, type Message } from '../../src/payload/index.js';
import { maxSentAt, minSentAt } from '../../src/payload/message-fields.js';

const defaultNow = Date.UTC(2025, 2, 14, 9, 30, 0);
const bytesOf = (messages: readonly Message[]): Buffer => Buffer.concat(messages.map((message) => serializeJson(message)));
const withoutSentAt = ({ sent_at: _sentAt, ...rest }: Message): Record<string, unknown> => rest;

describe('sampleMessages', () => {
  it('generates messages that all pass validateMessage unchanged', () => {
    for (const seed of [1, 2, 3, 42, 0, -5, 2 ** 40]) {
      for (const message of sampleMessages({ count: 32, seed, projectId: `project-${seed}` })) {
        expect(validateMessage(message)).toEqual({ ok: true, message });
      }
    }
  });

  it('defaults to 8 messages, two of each channel, in project demo, the last sent at 2025-03-14T09:30:00Z', () => {
    const messages = sampleMessages();
    expect(messages).toHaveLength(8);
    for (const channel of channels) expect(messages.filter((message) => message.channel === channel)).toHaveLength(2);
    expect(messages.every((message) => message.project_id === 'demo')).toBe(true);
    expect(messages.at(-1)!.sent_at).toBe(defaultNow);
  });

  it('covers the documented variety: campaigns, Canvas steps, journeys, unassociated sends, attachments, templates', () => {
    const messages = sampleMessages();
    expect(messages.some((message) => typeof message.campaign_id === 'number')).toBe(true);
    expect(messages.some((message) => typeof message.campaign_id === 'string')).toBe(true);
    expect(messages.some((message) => message.campaign_id === undefined && message.canvas_step_id !== undefined)).toBe(true);
    expect(messages.some((message) => message.campaign_id === undefined && message.canvas_step_id === undefined)).toBe(true);
    expect(messages.some((message) => message.journey_id !== undefined)).toBe(true);
    expect(messages.some((message) => message.channel === 'email' && ((message as EmailMessage).attachments?.length ?? 0) > 0)).toBe(true);
    expect(messages.some((message) => message.channel === 'whatsapp' && message.template_name !== undefined)).toBe(true);
    expect(new Set(messages.filter((message) => message.channel === 'push').map((message) => message.platform))).toEqual(new Set(['ios', 'android']));
  });

  it.each([0, 1, 2, 7, 8, 9, 13, 100])('honours count %i', (count) => {
    expect(sampleMessages({ count })).toHaveLength(count);
  });

  it('honours projectId and now: sent_at rises 1 to 2 seconds at a time and ends at now', () => {
    const now = Date.UTC(2024, 8, 4, 7, 36, 0, 681);
    const messages = sampleMessages({ projectId: 'acme', count: 50, now });
    expect(messages.every((message) => message.project_id === 'acme')).toBe(true);
    expect(messages.at(-1)!.sent_at).toBe(now);
    for (let index = 1; index < messages.length; index++) {
      const gap = messages[index]!.sent_at - messages[index - 1]!.sent_at;
      expect(gap).toBeGreaterThanOrEqual(1_000);
      expect(gap).toBeLessThan(2_000);
    }
  });

  it('gives identical bytes for the same options, and different messages for different seeds', () => {
    const options = { projectId: 'acme', count: 24, now: defaultNow, seed: 9 };
    expect(bytesOf(sampleMessages(options)).equals(bytesOf(sampleMessages({ ...options })))).toBe(true);
    const other = sampleMessages({ ...options, seed: 10 });
    expect(bytesOf(other).equals(bytesOf(sampleMessages(options)))).toBe(false);
    const ids = new Set(sampleMessages(options).map((message) => message.message_id));
    expect(other.some((message) => ids.has(message.message_id))).toBe(false);
    expect(sampleMessages({ count: 8 })).toEqual(sampleMessages({ count: 8, seed: 1 }));
  });

  it('keeps message i the same whatever the count (only sent_at shifts)', () => {
    const long = sampleMessages({ count: 16, seed: 5 });
    for (const count of [1, 3, 9]) {
      expect(sampleMessages({ count, seed: 5 }).map(withoutSentAt)).toEqual(long.slice(0, count).map(withoutSentAt));
    }
  });

  it('gives unique message_ids across 1000 messages, and across projects', () => {
    const messages = sampleMessages({ count: 1_000 });
    expect(new Set(messages.map((message) => message.message_id)).size).toBe(1_000);
    const otherProject = sampleMessages({ count: 1_000, projectId: 'other' });
    const ids = new Set(messages.map((message) => message.message_id));
    expect(otherProject.some((message) => ids.has(message.message_id))).toBe(false);
  });

  it('uses only fake recipients: example.com addresses and +1 555 numbers', () => {
    for (const message of sampleMessages({ count: 96, seed: 11 })) {
      if (message.channel === 'email') expect((message.to as string).toLowerCase()).toMatch(/@example\.com$/);
      if (message.channel === 'sms' || message.channel === 'whatsapp') {
        const phone = toE164(message.to as string);
        expect(phone.ok && phone.value.startsWith('+1555')).toBe(true);
      }
    }
  });

  it('returns fresh objects: changing one result does not change the next', () => {
    const first = sampleMessages();
    (first[0] as { headers: Record<string, string> }).headers['X-Campaign'] = 'changed';
    (first[2] as unknown as { payload: { aps: { badge: number } } }).payload.aps.badge = 99;
    expect(sampleMessages()).not.toEqual(first);
    expect(serializeJson(sampleMessages()[0]!)).toEqual(serializeJson(sampleHtmlEmail()));
  });

  it.each([
    [{ count: -1 }, /count/],
    [{ count: 1.5 }, /count/],
    [{ count: Number.NaN }, /count/],
    [{ now: 1.5 }, /now/],
    [{ now: 1_722_443_282 }, /now/],
    [{ now: maxSentAt + 1 }, /now/],
    [{ now: minSentAt + 10, count: 100 }, /count is too large for now/],
    [{ seed: 1.5 }, /seed/],
    [{ seed: Number.NaN }, /seed/],
    [{ projectId: '' }, /projectId/],
    [{ projectId: 'a\uD800' }, /projectId/],
  ])('refuses options %j that would give invalid messages', (options, message) => {
    expect(() => sampleMessages(options)).toThrow(RangeError);
    expect(() => sampleMessages(options)).toThrow(message);
  });

  it('accepts the extreme valid now values', () => {
    expect(sampleMessages({ now: minSentAt, count: 1 })[0]!.sent_at).toBe(minSentAt);
    expect(sampleMessages({ now: maxSentAt, count: 8 }).every((message) => validateMessage(message).ok)).toBe(true);
  });
});

describe('sampleHtmlEmail and sampleSms', () => {
  it('are the first two default sample messages', () => {
    const [email, sms] = sampleMessages();
    expect(sampleHtmlEmail()).toEqual(email);
    expect(sampleSms()).toEqual(sms);
  });

  it('sampleHtmlEmail is a realistic HTML email whose serialized JSON is 25 to 40 KB', () => {
    const email = sampleHtmlEmail();
    expect(email.channel).toBe('email');
    const size = serializeJson(email).length;
    expect(size).toBeGreaterThanOrEqual(25 * 1024);
    expect(size).toBeLessThanOrEqual(40 * 1024);
    expect(email.html_body).toMatch(/^<!DOCTYPE html>/);
    expect(email.html_body).toContain('</html>');
    expect(email.plaintext_body?.length).toBeGreaterThan(1_000);
    expect(email.subject).toBeTruthy();
    expect(validateMessage(email).ok).toBe(true);
  });

  it('sampleSms is a text of at most 160 characters', () => {
    const sms = sampleSms();
    expect(sms.channel).toBe('sms');
    expect(sms.body!.length).toBeGreaterThan(100);
    expect(sms.body!.length).toBeLessThanOrEqual(160);
    expect(validateMessage(sms).ok).toBe(true);
  });

  it('every generated SMS, whatever the seed, fits in 160 characters', () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const message of sampleMessages({ seed, count: 16 })) {
        if (message.channel === 'sms') expect((message.body as string).length).toBeLessThanOrEqual(160);
      }
    }
  });
});
