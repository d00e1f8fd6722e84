import { describe, expect, it } from 'vitest';
import { isEmailAddress, toE164 } from '../../src/payload/index.js';

describe('toE164', () => {
  it.each([
    ['+15555555555', '+15555555555'],
    ['15555555555', '+15555555555'],
    ['+1 (555) 010-0100', '+15550100100'],
    ['0044 20 7946 0958', '+442079460958'],
    ['00 44 20 7946 0958', '+442079460958'],
    ['+44.20.7946.0958', '+442079460958'],
    [' +49 30 901820 ', '+4930901820'],
    ['+12345678', '+12345678'],
    ['+123456789012345', '+123456789012345'],
    ['+1\u00a0555\u00a0555\u00a05555', '+15555555555'],
  ])('converts %j to %s', (input, expected) => {
    expect(toE164(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', /8 to 15 digits/],
    ['+1234567', /8 to 15 digits/],
    ['+1234567890123456', /8 to 15 digits/],
    ['+', /8 to 15 digits/],
    ['+0123456789', /country code/],
    ['0123456789', /country code/],
    ['000123456789', /country code/],
    ['+1555CALLNOW', /digits/],
    ['+1 555 555 5555 x12', /digits/],
    ['1+5555555555', /digits/],
    ['+١٥٥٥٥٥٥٥٥٥٥', /digits/],
    ['+1/555/555/5555', /digits/],
  ])('refuses %j, without echoing it', (input, problem) => {
    const result = toE164(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toMatch(problem);
    if (input.length > 2) expect(result.problem).not.toContain(input);
  });
});

describe('isEmailAddress', () => {
  it.each(['customer@example.com', 'Ana.Garcia@Example.com', 'a+tag@sub.example.co.uk', ' padded@example.com\t', 'ünïcode@exämple.de', "o'brien@example.ie", 'x@a.b'])('accepts %j', (address) => {
    expect(isEmailAddress(address)).toBe(true);
  });

  it.each([
    '',
    'plain',
    'a@b',
    '@example.com',
    'a@',
    'a@@example.com',
    'a@b@example.com',
    'Ana <ana@example.com>',
    '"Ana" ana@example.com',
    'a b@example.com',
    'a@exa mple.com',
    'a@example..com',
    'a@.example.com',
    'a@example.com.',
    'a,b@example.com',
    'a;b@example.com',
    'a@example.com\n b@example.com',
    'a\u0000@example.com',
    'a@[127.0.0.1]',
  ])('refuses %j', (address) => {
    expect(isEmailAddress(address)).toBe(false);
  });

  it('answers a long hostile input quickly (no catastrophic backtracking)', () => {
    const started = performance.now();
    expect(isEmailAddress(`${'a.'.repeat(50_000)}@${'b.'.repeat(50_000)}`)).toBe(false);
    expect(isEmailAddress(`a@${'b.'.repeat(50_000)},`)).toBe(false);
    expect(isEmailAddress(`${'a'.repeat(100_000)}`)).toBe(false);
    expect(isEmailAddress(`${' '.repeat(50_000)}a@b.c${' '.repeat(50_000)}x`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
