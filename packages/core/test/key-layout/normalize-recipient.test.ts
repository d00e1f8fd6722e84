import { describe, expect, it } from 'vitest';
import { compileKeyLayout, keyLayoutPresets, normalizeRecipient } from '../../src/key-layout/index.js';
import { MessageValidationError, type Channel } from '../../src/payload/index.js';
import { issuesOf, md5, message } from './messages.js';

describe('normalizeRecipient', () => {
  it('trims and lower-cases a whole email address, the local part included', () => {
    expect(normalizeRecipient('email', ' Ana.Garcia@Example.com ')).toBe('ana.garcia@example.com');
    expect(normalizeRecipient('email', '\tANA.GARCIA@EXAMPLE.COM\n')).toBe('ana.garcia@example.com');
    expect(normalizeRecipient('email', 'Chloé.Martin@Exämple.org')).toBe('chloé.martin@exämple.org');
  });

  it('gives every spelling of an address the same md5 as the vendors compute it', () => {
    const expected = md5('ana.garcia@example.com');
    for (const spelling of ['Ana.Garcia@Example.com ', 'ana.garcia@example.com', ' ANA.garcia@EXAMPLE.COM', 'aNa.GaRcIa@eXaMpLe.CoM']) {
      expect(md5(normalizeRecipient('email', spelling))).toBe(expected);
    }
    const braze = compileKeyLayout(keyLayoutPresets.braze);
    expect(braze.render(message('email', { to: 'Ana.Garcia@Example.com ' }))).toBe(braze.render(message('email', { to: 'ana.garcia@example.com' })));
    expect(braze.render(message('email', { to: 'ana.garcia@example.com' })).split('/')[2]).toBe(expected);
  });

  it.each([
    ['+1 (555) 010-0107', '+15550100107'],
    ['1 555 010 0107', '+15550100107'],
    ['15550100107', '+15550100107'],
    ['+1.555.010.0107', '+15550100107'],
    ['001-555-010-0107', '+15550100107'],
    ['00 44 20 7946 0958', '+442079460958'],
    ['  +49 30 901820  ', '+4930901820'],
  ])('writes the phone number %j as E.164 %s for SMS and WhatsApp', (spelling, e164) => {
    expect(normalizeRecipient('sms', spelling)).toBe(e164);
    expect(normalizeRecipient('whatsapp', spelling)).toBe(e164);
  });

  it('gives the same md5 to a WhatsApp number with and without its + (CleverTap hashes the number in country-code format)', () => {
    expect(md5(normalizeRecipient('whatsapp', '15555555555'))).toBe(md5(normalizeRecipient('whatsapp', '+1 555 555 5555')));
    expect(md5(normalizeRecipient('whatsapp', '0015555555555'))).toBe(md5('+15555555555'));
  });

  it('keeps push tokens exactly, case and white space included', () => {
    for (const token of [' AbC:/+= ', 'frfsgvrwe:APfdsafsgdf', 'FRFSGVRWE:APFDSAFSGDF', 'a']) expect(normalizeRecipient('push', token)).toBe(token);
    expect(normalizeRecipient('push', 'AbC')).not.toBe(normalizeRecipient('push', 'abc'));
  });

  it.each<[Channel, string, RegExp]>([
    ['email', 'secret-person', /email address/],
    ['email', 'Secret Person <secret.person@example>', /email address/],
    ['email', '', /email address/],
    ['sms', '+0123456789', /country code/],
    ['sms', 'secret-4155550123-x', /digits/],
    ['whatsapp', '1234567', /8 to 15 digits/],
    ['push', '', /non-empty/],
  ])('refuses a %s recipient that is not one, without echoing it', (channel, to, problem) => {
    const issues = issuesOf(() => normalizeRecipient(channel, to));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('to');
    expect(issues[0]!.problem).toMatch(problem);
    if (to !== '') {
      expect(JSON.stringify(issues)).not.toContain(to);
      expect(JSON.stringify(issues)).not.toMatch(/secret|4155550123|1234567|0123456789/i);
    }
  });

  it('refuses what is not a string or not a channel, as a MessageValidationError', () => {
    expect(issuesOf(() => normalizeRecipient('email', 42 as unknown as string))).toEqual([{ path: 'to', problem: 'must be a string' }]);
    expect(issuesOf(() => normalizeRecipient('sms', [] as unknown as string))).toEqual([{ path: 'to', problem: 'must hold at least one recipient' }]);
    // A channel beyond the known four keeps its recipient exactly as given.
    expect(normalizeRecipient('fax' as Channel, ' +1 555 0100107 ')).toBe(' +1 555 0100107 ');
    expect(issuesOf(() => normalizeRecipient('fax' as Channel, ''))).toEqual([{ path: 'to', problem: 'must not be empty' }]);
  });

  it('makes render refuse an unvalidated message with a bad recipient, naming `to`', () => {
    const unvalidated = { ...message('email'), to: 'not-an-address' };
    let thrown: unknown;
    try {
      compileKeyLayout(keyLayoutPresets.braze).render(unvalidated);
    } catch (error) {
      thrown = error;
    }
    expect(MessageValidationError.isInstance(thrown)).toBe(true);
    expect((thrown as MessageValidationError).issues[0]!.path).toBe('to');
    expect((thrown as Error).message).not.toContain('not-an-address');
  });
});
