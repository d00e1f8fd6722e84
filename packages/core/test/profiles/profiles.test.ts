import { describe, expect, it } from 'vitest';
import { codecNames } from '../../src/codecs/index.js';
import { keyLayoutPresets } from '../../src/key-layout/index.js';
import { MessageValidationError, parseMessage, sampleMessages, serializeJson, type Message } from '../../src/payload/index.js';
import { brazeProfile, clevertapProfile, getProfile, isProfileName, profileNames, profiles } from '../../src/profiles/index.js';

const samples = sampleMessages({ projectId: 'acme', count: 12, now: Date.UTC(2024, 8, 4, 7, 36, 0, 681) });
const decode = (bytes: Uint8Array): unknown => JSON.parse(Buffer.from(bytes).toString('utf8'));

function issuesOf(run: () => unknown): { path: string; problem: string }[] {
  try {
    run();
  } catch (error) {
    if (MessageValidationError.isInstance(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a MessageValidationError');
}

describe('every profile', () => {
  it.each(profileNames)('%s: stored JSON parses back to exactly the message, through serialization', (name) => {
    const profile = profiles[name];
    for (const message of samples) {
      const stored = decode(serializeJson(profile.render(message)));
      expect(profile.parse(stored)).toEqual(message);
    }
  });

  it.each(profileNames)('%s: layout is its preset and its extension matches its codec', (name) => {
    const profile = profiles[name];
    expect(profile.layout).toBe(keyLayoutPresets[name]);
    expect(codecNames).toContain(profile.codec);
    expect(profile.layout.endsWith({ gzip: '.json.gz', lz4: '.json.lz4', none: '.json' }[profile.codec])).toBe(true);
  });

  it('looks profiles up by name and refuses unknown names with the valid ones', () => {
    expect(getProfile('braze')).toBe(brazeProfile);
    expect(isProfileName('clevertap')).toBe(true);
    expect(isProfileName('constructor')).toBe(false);
    expect(() => getProfile('mailchimp')).toThrow('Unknown profile "mailchimp". Use one of: sentcopy, braze, clevertap, iterable.');
    expect(() => getProfile('toString')).toThrow(TypeError);
  });

  it('the v1 profiles store payload format v1 unchanged, with CleverTap as LZ4', () => {
    for (const message of samples) {
      for (const name of ['sentcopy', 'clevertap', 'iterable'] as const) expect(profiles[name].render(message)).toEqual(message);
    }
    expect([profiles.sentcopy.codec, profiles.clevertap.codec, profiles.iterable.codec, profiles.braze.codec]).toEqual(['gzip', 'lz4', 'gzip', 'gzip']);
  });
});

describe('braze profile', () => {
  const sms = parseMessage({
    version: 1,
    channel: 'sms',
    message_id: '651fd10b282850b39e1169c13975234b',
    project_id: 'acme',
    sent_at: 1722443282680,
    to: '+15555555555',
    body: 'Hi there!',
    campaign_id: 'ee965cb2-8934-4b0a-acf1-91c899c2f915',
  });

  it('writes dispatch_id and sent_at in (fractional) seconds, never message_id', () => {
    const stored = brazeProfile.render(sms);
    expect(stored).toMatchObject({ dispatch_id: '651fd10b282850b39e1169c13975234b', sent_at: 1722443282.68, version: 1, to: '+15555555555' });
    expect(stored).not.toHaveProperty('message_id');
    const bytes = Buffer.from(serializeJson(stored)).toString();
    expect(bytes).toContain('"dispatch_id":"651fd10b282850b39e1169c13975234b",');
    expect(bytes).toContain('"sent_at":1722443282.68,');
    expect(brazeProfile.render({ ...sms, sent_at: 1722443282000 })['sent_at']).toBe(1722443282);
  });

  it('restores every millisecond exactly across the whole accepted range', () => {
    for (const sentAt of [100_000_000_000, 1722443282001, 1722443282999, 1_999_999_999_999, 253_402_300_799_999]) {
      const stored = decode(serializeJson(brazeProfile.render({ ...sms, sent_at: sentAt })));
      expect(brazeProfile.parse(stored).sent_at).toBe(sentAt);
    }
  });

  it('refuses a message that already carries dispatch_id instead of dropping it', () => {
    expect(issuesOf(() => brazeProfile.render({ ...sms, dispatch_id: 'other' }))).toEqual([{ path: 'dispatch_id', problem: expect.stringContaining('braze profile') }]);
  });

  it('reads a file as Braze writes it, taking channel and project from the context', () => {
    const written = { version: 1, to: '+15555555555', body: 'Hi there!', provider: 'twilio', media_urls: [], sent_at: 1722443282, dispatch_id: 'd-1', canvas_step_id: 'step-7' };
    const message = brazeProfile.parse(written, { channel: 'sms', project_id: 'acme' });
    expect(message).toMatchObject({ channel: 'sms', project_id: 'acme', message_id: 'd-1', sent_at: 1722443282000, canvas_step_id: 'step-7' });
    expect(message).not.toHaveProperty('dispatch_id');
  });

  it('names fields as Braze stores them in errors', () => {
    const { dispatch_id: _dispatchId, ...withoutId } = brazeProfile.render(sms);
    expect(issuesOf(() => brazeProfile.parse(withoutId))).toEqual([{ path: 'dispatch_id', problem: 'is required' }]);
    expect(issuesOf(() => brazeProfile.parse({ ...brazeProfile.render(sms), sent_at: '1722443282' }))).toEqual([{ path: 'sent_at', problem: 'must be a number of epoch seconds' }]);
    expect(issuesOf(() => brazeProfile.parse({ ...brazeProfile.render(sms), message_id: 'x' }))[0]?.path).toBe('message_id');
    expect(issuesOf(() => brazeProfile.parse([]))).toEqual([{ path: '', problem: 'the stored message must be a JSON object' }]);
  });
});

describe('clevertap profile', () => {
  it('reads CleverTap’s documented push payload, numeric ids kept as numbers', () => {
    const documented = {
      version: 1,
      to: 'frfsgvrwe:APfdsafsgdfsgghfgfgjkhfsfgdhjhbvcvnetry767456fxsasdf',
      payload: { aps: { alert: 'Flat 20% off' } },
      platform: 'iOS',
      sent_at: 1722443282680,
      message_id: '57040f2b01ac851c2b2538e817983d1e2e6cdd01cc5e20740550729525a3f345',
      campaign_id: 1722529032,
      campaign_name: 'Flat Offer Sale Campaign',
      user_id: 45142169,
      journey_id: 2450,
      journey_node_id: 1,
      journey_name: 'Flat Offer Sale Journey',
    };
    const message: Message = clevertapProfile.parse(documented, { channel: 'push', project_id: 'acme' });
    expect(message).toEqual({ ...documented, channel: 'push', project_id: 'acme' });
    expect(clevertapProfile.render(message)).toEqual(message);
  });

  it('a field in the document wins over the context', () => {
    const message = samples.find((candidate) => candidate.channel === 'email')!;
    expect(clevertapProfile.parse(message, { channel: 'sms', project_id: 'other' })).toEqual(message);
  });
});
