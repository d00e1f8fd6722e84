import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKeyProblem } from '../../src/destination/index.js';
import { compileKeyLayout, KeyLayoutError, keyLayoutPresets, normalizeRecipient, safeSegment } from '../../src/key-layout/index.js';
import { MessageValidationError, parseMessage, sampleMessages, type Message } from '../../src/payload/index.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const email = parseMessage({
  version: 1,
  channel: 'email',
  message_id: '651fd10b282850b39e1169c13975234b',
  project_id: 'shop',
  sent_at: Date.UTC(2024, 8, 4, 7, 36, 0),
  to: ' Ana.Garcia@Example.com',
  subject: 'Hi',
  html_body: '<p>Hi</p>',
  campaign_id: 'ee965cb2-8934-4b0a-acf1-91c899c2f915',
});
const whatsapp = parseMessage({
  version: 1,
  channel: 'whatsapp',
  message_id: '49482d489b871510eeff7db9a8ab443248ad1ea596e5108e02d16ab5b2ea47db',
  project_id: 'shop',
  sent_at: Date.UTC(2024, 8, 4, 7, 36, 0),
  to: '15555555555',
  body: 'Hi there!',
  campaign_id: 1725435360,
});
const push = parseMessage({
  version: 1,
  channel: 'push',
  message_id: 'p-1',
  project_id: 'shop',
  sent_at: Date.UTC(2025, 0, 1),
  to: 'frfsgvrwe:APfdsafsgdf/+sgghfgfg',
  platform: 'ios',
  payload: { aps: { alert: 'Hi' } },
  canvas_step_id: 'step-7',
});

function issuesOf(run: () => unknown): { path: string; problem: string }[] {
  try {
    run();
  } catch (error) {
    if (MessageValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a MessageValidationError');
}

function layoutError(template: string): KeyLayoutError {
  try {
    compileKeyLayout(template);
  } catch (error) {
    if (KeyLayoutError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(template)} to be refused`);
}

describe('presets', () => {
  it('braze: sent_messages/channel/md5 of the normalized recipient/campaign, canvas step or unassociated/id.json.gz', () => {
    const layout = compileKeyLayout(keyLayoutPresets.braze);
    expect(layout.render(email)).toBe(`sent_messages/email/${md5('ana.garcia@example.com')}/ee965cb2-8934-4b0a-acf1-91c899c2f915/651fd10b282850b39e1169c13975234b.json.gz`);
    expect(layout.render(push)).toBe(`sent_messages/push/${md5('frfsgvrwe:APfdsafsgdf/+sgghfgfg')}/step-7/p-1.json.gz`);
    const { canvas_step_id: _step, ...unassociated } = push;
    expect(layout.render(unassociated as Message)).toBe(`sent_messages/push/${md5('frfsgvrwe:APfdsafsgdf/+sgghfgfg')}/unassociated/p-1.json.gz`);
  });

  it('clevertap: CleverTap channel names, yyyymm, numeric campaign, md5 of the E.164 number', () => {
    const layout = compileKeyLayout(keyLayoutPresets.clevertap);
    expect(layout.render(whatsapp)).toBe(`sent_messages/WhatsApp/202409/1725435360/${md5('+15555555555')}/49482d489b871510eeff7db9a8ab443248ad1ea596e5108e02d16ab5b2ea47db.json.lz4`);
    expect(layout.render({ ...email, channel: 'email' }).split('/')[1]).toBe('Email');
    expect(layout.render({ ...whatsapp, channel: 'sms' } as Message).split('/')[1]).toBe('Sms');
    expect(layout.render(push)).toBe(`sent_messages/Push/202501/unassociated/${md5('frfsgvrwe:APfdsafsgdf/+sgghfgfg')}/p-1.json.lz4`);
    expect(issuesOf(() => compileKeyLayout('{campaign_id}/{message_id}').render(push))).toEqual([
      { path: 'campaign_id', problem: 'is required by the key layout (placeholder {campaign_id})' },
    ]);
  });

  it('iterable and sentcopy: sha256 of the normalized recipient', () => {
    expect(compileKeyLayout(keyLayoutPresets.iterable).render(push)).toBe(`push/shop/${sha256('frfsgvrwe:APfdsafsgdf/+sgghfgfg')}/unassociated/p-1.json.gz`);
    expect(compileKeyLayout(keyLayoutPresets.sentcopy).render(email)).toBe(`shop/${sha256('ana.garcia@example.com')}/email/20240904/651fd10b282850b39e1169c13975234b.json.gz`);
  });

  it('no preset puts a raw recipient in a key', () => {
    for (const message of sampleMessages({ count: 40 })) {
      for (const template of Object.values(keyLayoutPresets)) {
        const key = compileKeyLayout(template).render(message);
        expect(key.toLowerCase()).not.toContain(message.to.trim().toLowerCase());
        expect(key).not.toContain(normalizeRecipient(message.channel, message.to));
      }
    }
  });

  it('lists the placeholders a template uses', () => {
    expect(compileKeyLayout(keyLayoutPresets.braze).placeholders).toEqual(['channel', 'md5(recipient)', 'campaign_id|canvas_step_id|unassociated', 'message_id']);
  });
});

describe('placeholders', () => {
  it('fills date parts in UTC across month and year boundaries', () => {
    const layout = compileKeyLayout('{yyyy}/{mm}/{dd}/{hh}/{yyyymm}/{yyyymmdd}/{message_id}');
    expect(layout.render({ ...push, sent_at: Date.parse('2024-12-31T23:59:59.999Z') })).toBe('2024/12/31/23/202412/20241231/p-1');
    expect(layout.render({ ...push, sent_at: Date.parse('2025-01-01T00:00:00.000Z') })).toBe('2025/01/01/00/202501/20250101/p-1');
  });

  it('takes fields, extras and the clear recipient only when asked', () => {
    const message = { ...email, user_id: 42, extras: { tenant: 'eu west', nested: { a: 1 } } };
    expect(compileKeyLayout('{extras.tenant}/{user_id}/{recipient}/{message_id}').render(message)).toBe('eu%20west/42/ana.garcia%40example.com/651fd10b282850b39e1169c13975234b');
    expect(issuesOf(() => compileKeyLayout('{extras.nested}/{message_id}').render(message))).toEqual([
      { path: 'extras.nested', problem: 'is required by the key layout (placeholder {extras.nested})' },
    ]);
    expect(issuesOf(() => compileKeyLayout('{journey_id|user_id}/{message_id}').render(push))[0]).toEqual({
      path: 'journey_id',
      problem: 'is required by the key layout: none of journey_id, user_id has a value (placeholder {journey_id|user_id})',
    });
  });

  it('refuses malformed templates, naming the problem and where it is', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['/a/{message_id}', /must not start with "\/"/],
      ['a/{message_id}/', /must not end with "\/"/],
      ['a//{message_id}', /empty segment/],
      ['a/../{message_id}', /"\.\." segment/],
      ['./{message_id}', /"\." segment/],
      ['a/{message_id', /never closed/],
      ['a}/{message_id}', /no matching "\{"/],
      ['a/{{message_id}}', /nested/],
      ['a/{}/{message_id}', /empty \("\{\}"\)/],
      ['{campaign}/{message_id}', /unknown placeholder "campaign"/],
      ['{camapign_id|unassociated}/{message_id}', /unknown placeholder "camapign_id"/],
      ['{campaign_id|../x}/{message_id}', /never closed/],
      ['{campaign_id|a b}/{message_id}', /fallback "a b"/],
      ['{campaign_id||x}/{message_id}', /empty name/],
      ['a\\b/{message_id}', /backslash/],
      ['a\u0000/{message_id}', /control characters/],
      ['{to}/{message_id}', /unknown placeholder "to"/],
      ['{payload}/{message_id}', /unknown placeholder "payload"/],
      ['{project_id}/{channel}.json.gz', /must contain \{message_id\}/],
      [`${'x'.repeat(600)}/{message_id}`, /literal text takes 600 bytes/],
    ];
    for (const [template, expected] of cases) {
      const error = layoutError(template);
      expect(error.message, template).toMatch(expected);
      expect(error.template).toBe(template);
    }
    expect(layoutError('a/{message_id').position).toBe(2);
  });
});

describe('hostile values stay inside their segment', () => {
  const hostile = [
    '../../etc/passwd',
    '..',
    '.',
    'a/b',
    '/',
    '\\..\\..\\',
    '%2e%2e',
    '%2F',
    '\u0000',
    '\r\n',
    ' ',
    '~',
    'é',
    'e\u0301',
    '😀'.repeat(300),
    'x'.repeat(10_000),
    '<script>',
    '?a=b#c',
    '*',
  ];
  const layout = compileKeyLayout('p/{campaign_id}/{message_id}.json');

  it('keeps the segment count, passes the key rules, and is deterministic and distinct', () => {
    const seen = new Map<string, string>();
    for (const value of hostile) {
      const key = layout.render({ ...push, campaign_id: value, message_id: value });
      expect(key.split('/'), value).toHaveLength(3);
      expect(objectKeyProblem(key), value).toBeUndefined();
      expect(layout.render({ ...push, campaign_id: value, message_id: value })).toBe(key);
      const segment = key.split('/')[1]!;
      expect(seen.has(segment), value).toBe(false);
      seen.set(segment, value);
    }
  });

  it('is injective over generated values, including ones that look like encodings or truncations', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const alphabet = ['a', '.', '/', '%', '2', 'F', '~', ' ', '\u0000', 'é', '😀', '\\', '-', '_'];
    const values = new Set<string>();
    while (values.size < 3000) {
      const length = 1 + Math.floor(random() * (random() < 0.05 ? 400 : 8));
      values.add(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
    }
    const long = 'a'.repeat(180);
    values.add(`${long}~${sha256(`${long}b`).slice(0, 16)}`);
    values.add(`${long}b${'c'.repeat(100)}`);
    const segments = new Set<string>();
    for (const value of values) {
      const segment = safeSegment(value);
      expect(segment).toMatch(/^[A-Za-z0-9._%~-]+$/);
      expect(segment.length).toBeLessThanOrEqual(200);
      expect(['.', '..']).not.toContain(segment);
      segments.add(segment);
    }
    expect(segments.size).toBe(values.size);
  });

  it('bounds long values with a hash and never cuts inside an escape', () => {
    const segment = safeSegment('é'.repeat(500));
    expect(segment).toMatch(/^(%C3%A9)+~[0-9a-f]{16}$/);
    expect(safeSegment('a'.repeat(200))).toBe('a'.repeat(200));
    expect(safeSegment('a'.repeat(201))).toBe(`${'a'.repeat(180)}~${sha256('a'.repeat(201)).slice(0, 16)}`);
    expect(() => safeSegment('')).toThrow(RangeError);
  });

  it('gives a 512-emoji message_id a valid key under every preset', () => {
    const message = { ...whatsapp, message_id: '😀'.repeat(512) };
    for (const template of Object.values(keyLayoutPresets)) {
      const key = compileKeyLayout(template).render(message);
      expect(objectKeyProblem(key)).toBeUndefined();
      expect(key.split('/')).toHaveLength(template.split('/').length);
    }
  });

  it('names the field when message data would make the key too long', () => {
    const layout = compileKeyLayout('{campaign_id}/{journey_id}/{user_id}/{canvas_id}/{canvas_step_id}/{journey_node_id}/{message_id}');
    const long = 'x'.repeat(300);
    const issues = issuesOf(() => layout.render({ ...push, campaign_id: long, journey_id: long, user_id: long, canvas_id: long, canvas_step_id: long, journey_node_id: long }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.problem).toMatch(/longer than 1024 bytes/);
    expect(JSON.stringify(issues)).not.toContain('xxx');
  });
});

describe('normalizeRecipient', () => {
  it('lower-cases and trims email, so every spelling hashes alike', () => {
    expect(normalizeRecipient('email', ' Ana.Garcia@Example.com ')).toBe('ana.garcia@example.com');
    expect(md5(normalizeRecipient('email', 'ANA.GARCIA@EXAMPLE.COM'))).toBe(md5('ana.garcia@example.com'));
  });

  it('writes phone numbers as E.164', () => {
    for (const spelling of ['+1 (555) 010-0000', '0015550100000', '1.555.010.0000', '15550100000', '+15550100000']) {
      expect(normalizeRecipient('sms', spelling)).toBe('+15550100000');
      expect(normalizeRecipient('whatsapp', spelling)).toBe('+15550100000');
    }
  });

  it('keeps push tokens exactly', () => {
    expect(normalizeRecipient('push', ' AbC:/+= ')).toBe(' AbC:/+= ');
  });

  it('refuses what is not a recipient of the channel without echoing it', () => {
    for (const [channel, to] of [['email', 'secret-person'], ['sms', '+0123secret'], ['push', '']] as const) {
      const issues = issuesOf(() => normalizeRecipient(channel, to));
      expect(issues[0]?.path).toBe('to');
      if (to !== '') expect(JSON.stringify(issues)).not.toContain(to);
    }
  });
});
