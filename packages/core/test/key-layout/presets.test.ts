import { describe, expect, it } from 'vitest';
import { objectKeyProblem } from '../../src/destination/index.js';
import { compileKeyLayout, keyLayoutPresets, type KeyLayoutPresetName } from '../../src/key-layout/index.js';
import { channels, parseMessage, sampleMessages, type Channel } from '../../src/payload/index.js';
import { hmac, inputs, issuesOf, md5, message, normalized, sha256, testRecipientKey } from './messages.js';

const ids: Readonly<Record<Channel, string>> = {
  email: '651fd10b282850b39e1169c13975234b',
  sms: '9f8c76ccdaf0895515f813af702670324d996296788652b50b3475d6fe6e719a',
  push: '57040f2b01ac851c2b2538e817983d1e2e6cdd01cc5e20740550729525a3f345',
  whatsapp: '49482d489b871510eeff7db9a8ab443248ad1ea596e5108e02d16ab5b2ea47db',
};

const expected: Readonly<Record<KeyLayoutPresetName, Readonly<Record<Channel, string>>>> = {
  sentcopy: {
    email: `shop/${hmac('ana.garcia@example.com')}/email/20240904/${ids.email}.json.gz`,
    sms: `shop/${hmac('+15550100107')}/sms/20240904/${ids.sms}.json.gz`,
    push: `shop/${hmac('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/push/20240904/${ids.push}.json.gz`,
    whatsapp: `shop/${hmac('+15555555555')}/whatsapp/20240904/${ids.whatsapp}.json.gz`,
  },
  'sentcopy-unkeyed': {
    email: `shop/${sha256('ana.garcia@example.com')}/email/20240904/${ids.email}.json.gz`,
    sms: `shop/${sha256('+15550100107')}/sms/20240904/${ids.sms}.json.gz`,
    push: `shop/${sha256('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/push/20240904/${ids.push}.json.gz`,
    whatsapp: `shop/${sha256('+15555555555')}/whatsapp/20240904/${ids.whatsapp}.json.gz`,
  },
  braze: {
    email: `sent_messages/email/${md5('ana.garcia@example.com')}/ee965cb2-8934-4b0a-acf1-91c899c2f915/${ids.email}.json.gz`,
    sms: `sent_messages/sms/${md5('+15550100107')}/1722529032/${ids.sms}.json.gz`,
    push: `sent_messages/push/${md5('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/spring-sale/${ids.push}.json.gz`,
    whatsapp: `sent_messages/whatsapp/${md5('+15555555555')}/1725435360/${ids.whatsapp}.json.gz`,
  },
  clevertap: {
    email: `sent_messages/Email/202409/ee965cb2-8934-4b0a-acf1-91c899c2f915/${md5('ana.garcia@example.com')}/${ids.email}.json.lz4`,
    sms: `sent_messages/Sms/202409/1722529032/${md5('+15550100107')}/${ids.sms}.json.lz4`,
    push: `sent_messages/Push/202409/spring-sale/${md5('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/${ids.push}.json.lz4`,
    whatsapp: `sent_messages/WhatsApp/202409/1725435360/${md5('+15555555555')}/${ids.whatsapp}.json.lz4`,
  },
  iterable: {
    email: `email/shop/${sha256('ana.garcia@example.com')}/ee965cb2-8934-4b0a-acf1-91c899c2f915/${ids.email}.json.gz`,
    sms: `sms/shop/${sha256('+15550100107')}/1722529032/${ids.sms}.json.gz`,
    push: `push/shop/${sha256('frfsgvrwe:APfdsafsgdf/+Sgghfgfg==')}/spring-sale/${ids.push}.json.gz`,
    whatsapp: `whatsapp/shop/${sha256('+15555555555')}/1725435360/${ids.whatsapp}.json.gz`,
  },
};

const presetNames = Object.keys(keyLayoutPresets) as KeyLayoutPresetName[];

describe('key layout presets', () => {
  it('are the documented templates', () => {
    expect(keyLayoutPresets).toEqual({
      sentcopy: '{project_id}/{hmac(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz',
      'sentcopy-unkeyed': '{project_id}/{sha256(recipient)}/{channel}/{yyyymmdd}/{message_id}.json.gz',
      braze: 'sent_messages/{channel}/{md5(recipient)}/{campaign_id|canvas_step_id|unassociated}/{message_id}.json.gz',
      clevertap: 'sent_messages/{Channel}/{yyyymm}/{campaign_id|unassociated}/{md5(recipient)}/{message_id}.json.lz4',
      iterable: '{channel}/{project_id}/{sha256(recipient)}/{campaign_id|unassociated}/{message_id}.json.gz',
    });
    expect(Object.isFrozen(keyLayoutPresets)).toBe(true);
  });

  for (const preset of presetNames) {
    it.each(channels)(`${preset} renders the exact key of a %s message`, (channel) => {
      const key = compileKeyLayout(keyLayoutPresets[preset], { recipientKey: testRecipientKey }).render(message(channel));
      expect(key).toBe(expected[preset][channel]);
      expect(objectKeyProblem(key)).toBeUndefined();
    });
  }

  it('braze has the shape of its documented example: sent_messages/email/<32 hex>/<campaign>/<id>.json.gz', () => {
    const key = compileKeyLayout(keyLayoutPresets.braze).render(message('email'));
    expect(key).toMatch(/^sent_messages\/email\/[0-9a-f]{32}\/ee965cb2-8934-4b0a-acf1-91c899c2f915\/651fd10b282850b39e1169c13975234b\.json\.gz$/);
  });

  it('clevertap gives a WhatsApp message of September 2024 the documented key shape', () => {
    const key = compileKeyLayout(keyLayoutPresets.clevertap).render(message('whatsapp'));
    expect(key).toMatch(/^sent_messages\/WhatsApp\/202409\/1725435360\/[0-9a-f]{32}\/49482d489b871510eeff7db9a8ab443248ad1ea596e5108e02d16ab5b2ea47db\.json\.lz4$/);
  });

  it('braze falls back from campaign_id to canvas_step_id to unassociated', () => {
    const braze = compileKeyLayout(keyLayoutPresets.braze);
    const hash = md5('ana.garcia@example.com');
    expect(braze.render(message('email'))).toBe(`sent_messages/email/${hash}/ee965cb2-8934-4b0a-acf1-91c899c2f915/${ids.email}.json.gz`);
    expect(braze.render(message('email', { campaign_id: undefined }))).toBe(`sent_messages/email/${hash}/step-email-1/${ids.email}.json.gz`);
    expect(braze.render(message('email', { campaign_id: undefined, canvas_step_id: undefined }))).toBe(`sent_messages/email/${hash}/unassociated/${ids.email}.json.gz`);
  });

  it('iterable files a message without a campaign under unassociated', () => {
    expect(compileKeyLayout(keyLayoutPresets.iterable).render(message('sms', { campaign_id: undefined }))).toBe(`sms/shop/${sha256('+15550100107')}/unassociated/${ids.sms}.json.gz`);
  });

  it('clevertap files a message without campaign_id under unassociated; a template without the fallback refuses it, naming the field', () => {
    const pushWithout = message('push', { campaign_id: undefined });
    expect(compileKeyLayout(keyLayoutPresets.clevertap).render(pushWithout).split('/')[3]).toBe('unassociated');
    const strict = keyLayoutPresets.clevertap.replace('{campaign_id|unassociated}', '{campaign_id}');
    expect(issuesOf(() => compileKeyLayout(strict).render(pushWithout))).toEqual([{ path: 'campaign_id', problem: 'is required by the key layout (placeholder {campaign_id})' }]);
  });

  it('list the placeholders they use', () => {
    expect(compileKeyLayout(keyLayoutPresets.braze).placeholders).toEqual(['channel', 'md5(recipient)', 'campaign_id|canvas_step_id|unassociated', 'message_id']);
    expect(compileKeyLayout(keyLayoutPresets.clevertap).placeholders).toEqual(['Channel', 'yyyymm', 'campaign_id|unassociated', 'md5(recipient)', 'message_id']);
    expect(compileKeyLayout(keyLayoutPresets.sentcopy, { recipientKey: testRecipientKey }).placeholders).toEqual(['project_id', 'hmac(recipient)', 'channel', 'yyyymmdd', 'message_id']);
    expect(compileKeyLayout(keyLayoutPresets['sentcopy-unkeyed']).placeholders).toEqual(['project_id', 'sha256(recipient)', 'channel', 'yyyymmdd', 'message_id']);
  });

  it('give one key to every spelling of the same recipient', () => {
    for (const preset of presetNames) {
      const layout = compileKeyLayout(keyLayoutPresets[preset], { recipientKey: testRecipientKey });
      expect(layout.render(message('email', { to: 'ana.garcia@example.com' }))).toBe(layout.render(message('email', { to: 'ANA.GARCIA@EXAMPLE.COM' })));
      expect(layout.render(message('sms', { to: '15550100107' }))).toBe(layout.render(message('sms', { to: '+1.555.010.0107' })));
    }
  });
});

describe('no raw recipient in the keys of the presets', () => {
  function forms(channel: Channel, to: string): string[] {
    const trimmed = to.trim();
    const result = [to, trimmed, trimmed.toLowerCase(), encodeURIComponent(trimmed.toLowerCase())];
    if (channel === 'sms' || channel === 'whatsapp') {
      const digits = trimmed.replace(/\D/g, '');
      result.push(digits, `+${digits}`, `%2B${digits}`, digits.slice(-7));
    }
    if (channel === 'email') result.push(trimmed.toLowerCase().split('@')[0]!);
    return result.filter((form) => form.length >= 6);
  }

  it('for the sample message of each channel', () => {
    for (const preset of presetNames) {
      for (const channel of channels) {
        const key = compileKeyLayout(keyLayoutPresets[preset], { recipientKey: testRecipientKey }).render(message(channel));
        for (const form of [...forms(channel, String(inputs[channel].to)), normalized[channel]]) expect(key, `${preset} ${channel}`).not.toContain(form);
      }
    }
  });

  it('for generated sample messages', () => {
    const all = sampleMessages({ count: 80, seed: 3 }).map((sample) => parseMessage(sample));
    for (const preset of presetNames) {
      const layout = compileKeyLayout(keyLayoutPresets[preset], { recipientKey: testRecipientKey });
      for (const sample of all) {
        if (preset === 'clevertap' && sample.campaign_id === undefined) continue;
        const key = layout.render(sample);
        for (const form of forms(sample.channel, sample.to as string)) expect(key.toLowerCase(), preset).not.toContain(form.toLowerCase());
      }
    }
  });
});
