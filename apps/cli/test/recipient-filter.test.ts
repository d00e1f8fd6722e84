import { readKeyLayout } from '@sentcopy/core';
import { describe, expect, it } from 'vitest';
import { recipientMatch } from '../src/archive/recipient-filter.js';

describe('recipientMatch', () => {
  it('finds an address given with a display name as the address itself', () => {
    const plain = recipientMatch('jane.doe@example.com', undefined, readKeyLayout('sentcopy-unkeyed'));
    for (const given of ['Jane Doe <Jane.Doe@Example.com>', '"Doe, Jane" <jane.doe@example.com>']) {
      expect(recipientMatch(given, undefined, readKeyLayout('sentcopy-unkeyed')).keyForms).toEqual(plain.keyForms);
      expect(recipientMatch(given, 'email', readKeyLayout('sentcopy-unkeyed')).normalized).toEqual(new Set(['jane.doe@example.com']));
    }
  });
});
