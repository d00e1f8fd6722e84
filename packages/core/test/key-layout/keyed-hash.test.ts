import { describe, expect, it } from 'vitest';
import { compileKeyLayout, keyLayoutPresets, RecipientKeyError } from '../../src/key-layout/index.js';
import { hmac, md5, message, sha256, testRecipientKey } from './messages.js';

// {hmac(recipient)}: the keyed hash of sentcopy's default layout. Expected values are computed in
// messages.ts with node:crypto, independently of the code under test.

function recipientKeyError(run: () => unknown): RecipientKeyError {
  try {
    run();
  } catch (error) {
    if (RecipientKeyError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a RecipientKeyError');
}

describe('{hmac(recipient)}', () => {
  it('puts HMAC-SHA-256(secret, E.164 number) in the key of an SMS, and neither the plain SHA-256 nor the MD5 of the number', () => {
    const key = compileKeyLayout('sentcopy', { recipientKey: testRecipientKey }).render(message('sms'));
    expect(key.split('/')[1]).toBe(hmac('+15550100107'));
    expect(key).toBe(`shop/${hmac('+15550100107')}/sms/20240904/${message('sms').message_id}.json.gz`);
    for (const unkeyed of [sha256('+15550100107'), md5('+15550100107'), sha256('15550100107'), '15550100107']) expect(key).not.toContain(unkeyed);
  });

  it('depends on the secret: another secret gives another folder, the same secret as bytes or text the same one', () => {
    const other = 'another-deployment-secret-0001';
    const byText = compileKeyLayout('{hmac(recipient)}/{message_id}', { recipientKey: testRecipientKey }).render(message('whatsapp'));
    const byBytes = compileKeyLayout('{hmac(recipient)}/{message_id}', { recipientKey: new TextEncoder().encode(testRecipientKey) }).render(message('whatsapp'));
    const byOther = compileKeyLayout('{hmac(recipient)}/{message_id}', { recipientKey: other }).render(message('whatsapp'));
    expect(byBytes).toBe(byText);
    expect(byOther.split('/')[0]).toBe(hmac('+15555555555', other));
    expect(byOther).not.toBe(byText);
  });

  it('hashes the normalized recipient, so every spelling of an address lands in one folder', () => {
    const layout = compileKeyLayout('sentcopy', { recipientKey: testRecipientKey });
    expect(layout.render(message('email', { to: 'ANA.GARCIA@example.COM' })).split('/')[1]).toBe(hmac('ana.garcia@example.com'));
    expect(layout.render(message('sms', { to: '0015550100107' }))).toBe(layout.render(message('sms', { to: '+1 555-010-0107' })));
  });

  it('is refused without a secret, with an error naming the recipientKey option and the unkeyed alternative', () => {
    for (const template of ['sentcopy', keyLayoutPresets.sentcopy, 'x/{campaign_id|hmac(recipient)}/{message_id}']) {
      const error = recipientKeyError(() => compileKeyLayout(template));
      expect(error.reason).toBe('missing');
      expect(error.name).toBe('RecipientKeyError');
      expect(error.message).toContain('recipientKey option');
      expect(error.message).toContain('"sentcopy-unkeyed"');
      expect(recipientKeyError(() => compileKeyLayout(template, { recipientKey: '' })).reason).toBe('missing');
    }
  });

  it('refuses a secret shorter than 16 bytes without echoing it, and one that is neither text nor bytes', () => {
    const short = 'hunter2-secret';
    const error = recipientKeyError(() => compileKeyLayout('sentcopy', { recipientKey: short }));
    expect(error.reason).toBe('too_short');
    expect(error.message).toContain('at least 16');
    expect(error.message).not.toContain(short);
    expect(recipientKeyError(() => compileKeyLayout('sentcopy', { recipientKey: 42 as unknown as string })).reason).toBe('invalid');
    expect(compileKeyLayout('sentcopy', { recipientKey: 'x'.repeat(16) }).usesRecipientKey).toBe(true);
  });

  it('reports a malformed template before a missing secret', () => {
    expect(() => compileKeyLayout('{hmac(recipient)}/{oops}/{message_id}')).toThrow(/unknown placeholder "oops"/);
  });

  it('does not need a secret where it is not used, and layouts without it ignore one', () => {
    for (const name of ['sentcopy-unkeyed', 'braze', 'clevertap', 'iterable'] as const) {
      expect(compileKeyLayout(name).usesRecipientKey).toBe(false);
      expect(compileKeyLayout(name, { recipientKey: testRecipientKey }).render(message('sms'))).toBe(compileKeyLayout(name).render(message('sms')));
    }
  });

  it('accepts a preset name as the template', () => {
    expect(compileKeyLayout('sentcopy', { recipientKey: testRecipientKey }).template).toBe(keyLayoutPresets.sentcopy);
    expect(compileKeyLayout('braze').template).toBe(keyLayoutPresets.braze);
  });

  it('keeps the secret off the compiled layout: it never shows when the layout is serialized or inspected', async () => {
    const layout = compileKeyLayout('sentcopy', { recipientKey: testRecipientKey });
    const { inspect } = await import('node:util');
    expect(JSON.stringify(layout)).not.toContain(testRecipientKey);
    expect(inspect(layout, { showHidden: true, depth: 5 })).not.toContain(testRecipientKey);
    expect(Object.values(layout).some((value) => value instanceof Uint8Array)).toBe(false);
  });
});

describe('redact()', () => {
  it('hides the unkeyed hash and the clear recipient of a key, keeping every other segment', () => {
    const unkeyed = compileKeyLayout('sentcopy-unkeyed');
    const key = unkeyed.render(message('sms'));
    expect(key).toContain(sha256('+15550100107'));
    const redacted = unkeyed.redact(key);
    expect(redacted).toBe(`shop/{sha256(recipient)}/sms/20240904/${message('sms').message_id}.json.gz`);
    expect(redacted).not.toContain(sha256('+15550100107'));

    const braze = compileKeyLayout('braze');
    expect(braze.redact(braze.render(message('email')))).toBe(`sent_messages/email/{md5(recipient)}/ee965cb2-8934-4b0a-acf1-91c899c2f915/${message('email').message_id}.json.gz`);
    const clear = compileKeyLayout('{project_id}/r={recipient}/{message_id}');
    expect(clear.redact(clear.render(message('email')))).toBe(`shop/r={recipient}/${message('email').message_id}`);
  });

  it('keeps the keyed hash, which cannot be reversed without the secret', () => {
    const keyed = compileKeyLayout('sentcopy', { recipientKey: testRecipientKey });
    const key = keyed.render(message('whatsapp'));
    expect(keyed.redact(key)).toBe(key);
  });

  it('gives the template for a key of another shape', () => {
    expect(compileKeyLayout('sentcopy-unkeyed').redact('a/b')).toBe(keyLayoutPresets['sentcopy-unkeyed']);
  });
});
