import { describe, expect, it } from 'vitest';
import { MessageValidationError, parseMessage, validateMessage, type ValidationIssue } from '../../src/payload/index.js';
import { everyChannel, fullMessage, minimalMessage } from './fixtures.js';

describe('parseMessage', () => {
  it.each(everyChannel)('returns a valid %s message as a deep copy', (channel) => {
    const input = fullMessage(channel);
    const message = parseMessage(input);
    expect(message).toEqual(input);
    expect(message).not.toBe(input);
    expect(message['extras']).not.toBe(input['extras']);
  });

  it('throws a MessageValidationError listing every issue', () => {
    const input = { ...minimalMessage('sms'), version: 2, to: '+0', body: 5 };
    const expected = validateMessage(input);
    expect(expected.ok).toBe(false);
    let thrown: unknown;
    try {
      parseMessage(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MessageValidationError);
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as MessageValidationError;
    expect(error.name).toBe('MessageValidationError');
    expect(error.issues).toEqual(expected.ok ? [] : expected.issues);
    expect(error.message).toBe('Invalid message: version: must be 1 (the only payload format version); ' + 'to: must be a phone number with its country code, 8 to 15 digits (E.164); body: must be a string');
  });

  it('never throws anything but a MessageValidationError, whatever the input', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    for (const input of [null, undefined, 5, 'x', [], new Date(), revocable.proxy, Symbol('s'), 10n]) {
      expect(() => parseMessage(input)).toThrow(MessageValidationError);
    }
  });
});

describe('MessageValidationError', () => {
  const issue = (index: number): ValidationIssue => ({ path: `extras.n${index}`, problem: 'must be a finite number' });

  it('shows a problem without a path on its own', () => {
    expect(new MessageValidationError([{ path: '', problem: 'the message must be a JSON object' }]).message).toBe('Invalid message: the message must be a JSON object');
  });

  it('lists the first 10 issues and counts the rest', () => {
    const error = new MessageValidationError(Array.from({ length: 25 }, (_, index) => issue(index)));
    expect(error.message).toMatch(/^Invalid message: extras\.n0: must be a finite number; .*extras\.n9: must be a finite number; and 15 more problems$/);
    expect(error.message).not.toContain('extras.n10');
    expect(error.issues).toHaveLength(25);
    expect(new MessageValidationError(Array.from({ length: 11 }, (_, index) => issue(index))).message).toMatch(/; and 1 more problem$/);
    expect(new MessageValidationError(Array.from({ length: 10 }, (_, index) => issue(index))).message).not.toMatch(/more problem/);
  });

  it('is recognised by isInstance, also across copies of the package (Symbol.for marker)', () => {
    const error = new MessageValidationError([issue(0)]);
    expect(MessageValidationError.isInstance(error)).toBe(true);
    expect(MessageValidationError.isInstance(new Error('x'))).toBe(false);
    expect(MessageValidationError.isInstance(null)).toBe(false);
    expect(MessageValidationError.isInstance('MessageValidationError')).toBe(false);
    const fromOtherCopy = Object.assign(new Error('x'), { [Symbol.for('sentcopy.message-validation-error')]: true });
    expect(MessageValidationError.isInstance(fromOtherCopy)).toBe(true);
  });
});
