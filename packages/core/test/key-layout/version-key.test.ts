import { describe, expect, it } from 'vitest';
import { compileKeyLayout, keyLayoutPresets, parseVersionKey, versionKey } from '../../src/index.js';
import { message, testRecipientKey } from './messages.js';

const hash = 'ab'.repeat(32);

describe('version keys', () => {
  it('put "~v-" and 16 hex digits of the content SHA-256 in front of the extension, and read back', () => {
    for (const [original, expected] of [
      ['shop/ab/sms/20260101/msg-1.json.gz', 'shop/ab/sms/20260101/msg-1~v-abababababababab.json.gz'],
      ['sent_messages/Sms/202601/c/h/msg-1.json.lz4', 'sent_messages/Sms/202601/c/h/msg-1~v-abababababababab.json.lz4'],
      ['a/msg-1.json', 'a/msg-1~v-abababababababab.json'],
      ['a/msg-1', 'a/msg-1~v-abababababababab'],
      ['a/.json.gz', 'a/.json.gz~v-abababababababab'],
    ] as const) {
      expect(versionKey(original, hash)).toBe(expected);
      expect(parseVersionKey(expected)).toEqual({ originalKey: original, versionId: 'abababababababab' });
    }
    expect(parseVersionKey('shop/ab/sms/20260101/msg-1.json.gz')).toBeUndefined();
    expect(parseVersionKey('shop/~v-abababababababab.json.gz')).toBeUndefined();
    expect(versionKey(`${'a'.repeat(1010)}.json.gz`, hash)).toBeUndefined();
    expect(() => versionKey('a.json', 'not a hash')).toThrow(RangeError);
  });

  it('are never produced by a key layout: a message id ending like a version has its "~" encoded, for every preset', () => {
    const lookalike = 'msg-1~v-0123456789abcdef';
    for (const template of [...Object.values(keyLayoutPresets), '{message_id}', '{project_id}/{message_id}~v-{yyyymmdd}{yyyymmdd}.json']) {
      // The sentcopy preset keys recipients with a secret; the other templates ignore it.
      const key = compileKeyLayout(template, { recipientKey: testRecipientKey }).render(message('sms', { message_id: lookalike, campaign_id: 'c-1', sent_at: Date.UTC(2026, 0, 1) }));
      expect(parseVersionKey(key), `${template} → ${key}`).toBeUndefined();
      expect(key).toContain('%7E');
    }
    // An id that merely contains "~v-" elsewhere keeps its key unchanged.
    const plain = compileKeyLayout(keyLayoutPresets.braze).render(message('sms', { message_id: 'a~v-b', campaign_id: 'c-1' }));
    expect(plain.endsWith('/a~v-b.json.gz')).toBe(true);
  });
});
