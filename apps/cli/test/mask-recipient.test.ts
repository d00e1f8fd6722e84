import { describe, expect, it } from 'vitest';
import { maskRecipient, maskRecipients } from '../src/archive/mask-recipient.js';

describe('maskRecipient', () => {
  it('masks addresses with display names and lists without showing the names', () => {
    expect(maskRecipient('Jane Doe <jane.doe@example.com>')).toBe('j***@example.com');
    expect(maskRecipient('"Doe, Jane" <jane@example.com>, Bob <bob@example.org>')).toBe('j***@example.com, b***@example.org');
    expect(maskRecipients(['Jane Doe <jane@example.com>', '+1 555 010 0100'])).toEqual(['j***@example.com', '+1555***0100']);
    for (const masked of [maskRecipient('Jane Doe <jane.doe@example.com>'), maskRecipient('"Doe, Jane" <jane@example.com>')]) expect(masked).not.toMatch(/Jane|Doe|jane\.doe/);
  });

  it('masks bare addresses, phone numbers and tokens as before', () => {
    expect(maskRecipient(' jane@example.com ')).toBe('j***@example.com');
    expect(maskRecipient('+15550100100')).toBe('+1555***0100');
    expect(maskRecipient('abcdefghijklmnopqrstuvwxyz')).toBe('abcd***wxyz');
    expect(maskRecipient('short')).toBe('***');
  });
});
