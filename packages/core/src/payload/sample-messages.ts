import { createHash } from 'node:crypto';
import type { JsonObject } from './json-value.js';
import type { EmailMessage, Message, PushMessage, SmsMessage, WhatsAppMessage } from './message.js';
import { maxSentAt, minSentAt } from './message-fields.js';

/** Options for {@link sampleMessages}. */
export interface SampleMessagesOptions {
  /** `project_id` of every message (a non-empty string). @default 'demo' */
  projectId?: string;
  /** How many messages to generate (a whole number, 0 or more). @default 8 (two of each channel) */
  count?: number;
  /**
   * `sent_at` of the last message, in epoch milliseconds; earlier messages are 1 to 2 seconds apart.
   * Every `sent_at` must stay within what `validateMessage` accepts (1973 to the year 9999).
   * @default 2025-03-14T09:30:00Z
   */
  now?: number;
  /** Seed of the pseudo-random choices (recipients, products, ids), a whole number; the same seed gives the same messages. @default 1 */
  seed?: number;
}

const defaultNow = Date.UTC(2025, 2, 14, 9, 30, 0);

interface Person {
  readonly first: string;
  readonly last: string;
  readonly email: string;
  readonly phone: string;
}

const people: readonly Person[] = [
  ['Ana', 'García', 'Ana.Garcia@Example.com'],
  ['Ben', 'Okafor', 'ben.okafor@example.com'],
  ['Chloé', 'Martin', 'chloe.martin@example.com'],
  ['Dmitri', 'Ivanov', 'dmitri.ivanov@example.com'],
  ['Emeka', 'Nwosu', 'emeka.nwosu@example.com'],
  ['Fatima', 'Haddad', 'Fatima.Haddad@example.com'],
  ['Guo', 'Wei', 'guo.wei@example.com'],
  ['Hana', 'Sato', 'hana.sato@example.com'],
  ['Isabel', 'Rossi', 'isabel.rossi@example.com'],
  ['Jonas', 'Berg', 'jonas.berg@example.com'],
  ['Keiko', 'Tanaka', 'keiko.tanaka@example.com'],
  ['Luca', 'Bianchi', 'luca.bianchi@example.com'],
].map(([first, last, email], index) => ({
  first: first!,
  last: last!,
  email: email!,
  phone: `+1555010${String(100 + index * 7).padStart(4, '0')}`,
}));

const adjectives = ['Classic', 'Organic', 'Wireless', 'Vintage', 'Compact', 'Deluxe', 'Everyday', 'Recycled', 'Linen', 'Ceramic'];
const nouns = ['Backpack', 'Desk Lamp', 'Water Bottle', 'Headphones', 'Throw Blanket', 'Mug Set', 'Sneakers', 'Notebook', 'Planter', 'Jacket'];

/** mulberry32: a tiny deterministic generator, so the same seed always yields the same sample. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

function hexOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function uuidOf(text: string): string {
  const hex = hexOf(text);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

interface ProductBlocks {
  readonly html: string;
  readonly text: string;
}

let cachedBlocks: { seed: number; blocks: ProductBlocks } | undefined;

/** Product rows of the marketing email; built once per seed and shared, since strings are immutable. */
function productBlocks(seed: number, targetHtmlLength: number): ProductBlocks {
  if (cachedBlocks?.seed === seed) return cachedBlocks.blocks;
  const next = randomSource(seed ^ 0x5eed);
  const pick = (list: readonly string[]): string => list[Math.floor(next() * list.length)]!;
  const html: string[] = [];
  const text: string[] = [];
  let length = 0;
  for (let row = 0; length < targetHtmlLength; row++) {
    const cells: string[] = [];
    for (let column = 0; column < 2; column++) {
      const name = `${pick(adjectives)} ${pick(nouns)}`;
      const sku = `SKU-${String(Math.floor(next() * 1e6)).padStart(6, '0')}`;
      const price = (5 + next() * 195).toFixed(2);
      const was = (Number(price) * 1.25).toFixed(2);
      const url = `https://shop.example.com/p/${sku.toLowerCase()}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring-sale&amp;utm_content=row-${row}-${column}`;
      cells.push(
        `<td class="product" width="50%" valign="top" style="padding:12px;font-family:Helvetica,Arial,sans-serif;">` +
          `<a href="${url}" style="text-decoration:none;color:#1a1a1a;">` +
          `<img src="https://cdn.example.com/img/${sku.toLowerCase()}.jpg" width="264" height="264" alt="${name}" style="display:block;border:0;width:100%;max-width:264px;height:auto;border-radius:6px;">` +
          `<p style="margin:10px 0 4px;font-size:15px;line-height:20px;font-weight:bold;">${name}</p></a>` +
          `<p style="margin:0 0 10px;font-size:14px;line-height:18px;color:#555555;"><span style="text-decoration:line-through;">$${was}</span> <strong style="color:#c0392b;">$${price}</strong></p>` +
          `<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td style="border-radius:4px;background:#1a73e8;">` +
          `<a href="${url}" style="display:inline-block;padding:8px 16px;font-size:14px;color:#ffffff;text-decoration:none;">Shop now</a>` +
          `</td></tr></table></td>`,
      );
      text.push(`${name} (${sku}) - $${price}, was $${was}\n${url.replaceAll('&amp;', '&')}\n`);
    }
    const rowHtml = `<tr>${cells.join('')}</tr>\n`;
    html.push(rowHtml);
    length += rowHtml.length;
  }
  const blocks = { html: html.join(''), text: text.join('\n') };
  cachedBlocks = { seed, blocks };
  return blocks;
}

function marketingHtml(person: Person, blocks: ProductBlocks, unsubscribeUrl: string): string {
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<title>Spring sale: 20% off everything</title><style>body{margin:0;padding:0;background:#f4f4f4;}' +
    '@media only screen and (max-width:600px){.product{display:block!important;width:100%!important;}}</style></head>\n' +
    '<body style="margin:0;padding:0;background:#f4f4f4;">' +
    '<div style="display:none;max-height:0;overflow:hidden;">Our spring sale starts now: 20% off with code SPRING20.</div>\n' +
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f4;"><tr><td align="center">\n' +
    '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="background:#ffffff;max-width:600px;">\n' +
    '<tr><td style="padding:24px;text-align:center;"><img src="https://cdn.example.com/img/logo.png" width="140" height="40" alt="Example Shop" style="border:0;"></td></tr>\n' +
    `<tr><td style="padding:0 24px 16px;font-family:Helvetica,Arial,sans-serif;font-size:22px;line-height:28px;color:#1a1a1a;">Hi ${person.first}, our spring sale is on!</td></tr>\n` +
    '<tr><td style="padding:0 24px 24px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#333333;">' +
    'Take 20% off everything with code <strong>SPRING20</strong> until Sunday. Here is what we picked for you:</td></tr>\n' +
    `<tr><td><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">\n${blocks.html}</table></td></tr>\n` +
    '<tr><td style="padding:24px;font-family:Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#888888;text-align:center;">' +
    `Example Shop, 100 Example Street, Springfield.<br>You receive this email because you subscribed at shop.example.com. <a href="${unsubscribeUrl}" style="color:#888888;">Unsubscribe</a>` +
    '</td></tr>\n</table>\n</td></tr></table>\n</body></html>\n'
  );
}

/** A tiny, valid PDF, so the receipt has a realistic attachment. */
function receiptPdf(orderNumber: string, total: string): string {
  const text = `BT /F1 18 Tf 72 720 Td (Example Shop receipt ${orderNumber} total $${total}) Tj ET`;
  const pdf =
    '%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n' +
    '3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources <</Font <</F1 5 0 R>>>>>> endobj\n' +
    `4 0 obj <</Length ${text.length}>> stream\n${text}\nendstream endobj\n` +
    '5 0 obj <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n';
  return Buffer.from(pdf, 'latin1').toString('base64');
}

interface Context {
  readonly projectId: string;
  readonly seed: number;
  readonly next: () => number;
}

function base(context: Context, index: number, sentAt: number) {
  return {
    version: 1 as const,
    message_id: hexOf(`sentcopy-sample:${context.seed}:${context.projectId}:${index}`).slice(0, 32),
    project_id: context.projectId,
    sent_at: sentAt,
  };
}

function pickPerson(context: Context): Person {
  return people[Math.floor(context.next() * people.length)]!;
}

function buildMessage(context: Context, index: number, sentAt: number): Message {
  const person = pickPerson(context);
  const common = base(context, index, sentAt);
  const userId = `user-${hexOf(`${context.seed}:${person.email}`).slice(0, 10)}`;
  const numericUserId = 45_000_000 + people.indexOf(person) * 1_013;
  const marketingCampaign = uuidOf(`campaign:${context.seed}:spring-sale`);
  const journeyCampaign = 1_722_529_032 + context.seed;
  switch (index % 8) {
    case 0: {
      const blocks = productBlocks(context.seed, 28_000);
      const unsubscribeUrl = `https://shop.example.com/unsubscribe?u=${userId}`;
      const email: EmailMessage = {
        ...common,
        channel: 'email',
        to: person.email,
        campaign_id: marketingCampaign,
        campaign_name: 'Spring sale 2025',
        message_variation_id: uuidOf(`variation:${context.seed}:spring-sale:b`),
        user_id: userId,
        from_name: 'Example Shop',
        from_address: 'news@shop.example.com',
        reply_to: 'support@shop.example.com',
        subject: `${person.first}, 20% off everything starts now`,
        html_body: marketingHtml(person, blocks, unsubscribeUrl),
        plaintext_body: `Hi ${person.first}, our spring sale is on!\n\nTake 20% off everything with code SPRING20 until Sunday.\n\n${blocks.text}\n` + `Unsubscribe: ${unsubscribeUrl}\nExample Shop, 100 Example Street, Springfield.\n`,
        headers: {
          'List-Unsubscribe': `<${unsubscribeUrl}>, <mailto:unsubscribe@shop.example.com?subject=${userId}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          'X-Campaign': 'spring-sale-2025',
        },
        extras: { locale: 'en-US', ab_group: 'B', segment: 'engaged-90d' },
      };
      return email;
    }
    case 1: {
      const sms: SmsMessage = {
        ...common,
        channel: 'sms',
        to: person.phone,
        body: `Example Shop: Hi ${person.first}, spring sale! 20% off everything with code SPRING20 until Sunday. ` + 'Shop: https://ex.example.com/s/spr20 Reply STOP to opt out',
        provider: 'twilio',
        subscription_group: 'marketing-sms-us',
        campaign_id: journeyCampaign,
        campaign_name: 'Spring sale SMS reminder',
        journey_id: 2450,
        journey_node_id: 3,
        journey_name: 'Spring sale journey',
        user_id: numericUserId,
      };
      return sms;
    }
    case 2: {
      const push: PushMessage = {
        ...common,
        channel: 'push',
        to: hexOf(`apns:${context.seed}:${person.email}`),
        platform: 'ios',
        app_id: uuidOf(`app:${context.seed}:ios`),
        canvas_id: uuidOf(`canvas:${context.seed}:cart`),
        canvas_step_id: uuidOf(`canvas-step:${context.seed}:cart:2`),
        canvas_variation_id: uuidOf(`canvas-variation:${context.seed}:cart:a`),
        user_id: userId,
        payload: {
          aps: {
            alert: { title: 'You left something behind', body: `${person.first}, your cart is waiting. Checkout takes a minute.` },
            badge: 1,
            sound: 'default',
            'mutable-content': 1,
            'thread-id': 'cart-reminder',
          },
          deep_link: 'exampleshop://cart',
          image_url: 'https://cdn.example.com/img/cart.jpg',
        },
      };
      return push;
    }
    case 3: {
      const orderNumber = `SC-${10_000 + Math.floor(context.next() * 90_000)}`;
      const trackingUrl = `https://track.example.com/${orderNumber.toLowerCase()}`;
      const whatsapp: WhatsAppMessage = {
        ...common,
        channel: 'whatsapp',
        to: person.phone,
        provider: 'twilio',
        template_name: 'order_shipped',
        template_params: [person.first, orderNumber, trackingUrl],
        body: `Hi ${person.first}, good news: order ${orderNumber} has shipped. Track it here: ${trackingUrl}`,
        campaign_id: uuidOf(`campaign:${context.seed}:order-updates`),
        campaign_name: 'Order updates',
        user_id: userId,
      };
      return whatsapp;
    }
    case 4: {
      const orderNumber = `SC-${10_000 + Math.floor(context.next() * 90_000)}`;
      const total = (20 + context.next() * 300).toFixed(2);
      const email: EmailMessage = {
        ...common,
        channel: 'email',
        to: person.email,
        from_name: 'Example Shop',
        from_address: 'orders@shop.example.com',
        reply_to: 'support@shop.example.com',
        bcc: ['records@shop.example.com'],
        subject: `Your receipt for order ${orderNumber}`,
        plaintext_body: `Hi ${person.first},\n\nThanks for your order ${orderNumber}. Total charged: $${total}.\n` + 'Your receipt is attached as a PDF.\n\nQuestions? Reply to this email.\nExample Shop\n',
        html_body:
          `<html><body style="font-family:Helvetica,Arial,sans-serif;"><p>Hi ${person.first},</p>` +
          `<p>Thanks for your order <strong>${orderNumber}</strong>. Total charged: <strong>$${total}</strong>.</p>` +
          '<p>Your receipt is attached as a PDF.</p><p>Questions? Reply to this email.<br>Example Shop</p></body></html>',
        headers: { 'X-Order': orderNumber },
        attachments: [{ file_name: `receipt-${orderNumber}.pdf`, content_type: 'application/pdf', bytes: receiptPdf(orderNumber, total) }],
      };
      return email;
    }
    case 5: {
      const code = String(100_000 + Math.floor(context.next() * 900_000));
      const sms: SmsMessage = {
        ...common,
        channel: 'sms',
        to: person.phone,
        body: `Your Example Shop verification code is ${code}. It expires in 10 minutes. Never share this code.`,
        provider: 'vonage',
        subscription_group: 'transactional-sms',
      };
      return sms;
    }
    case 6: {
      const payload: JsonObject = {
        message: {
          notification: { title: 'Back in stock', body: 'The Linen Jacket in your size is back. Get it before it sells out again.' },
          data: { deep_link: 'exampleshop://p/sku-104233', campaign: 'back-in-stock' },
          android: { priority: 'high', notification: { channel_id: 'promotions', color: '#1a73e8' } },
        },
      };
      const hex = hexOf(`fcm:${context.seed}:${person.email}`);
      const push: PushMessage = {
        ...common,
        channel: 'push',
        to: `${hex.slice(0, 22)}:APA91b${hex.slice(22)}`,
        platform: 'android',
        app_id: uuidOf(`app:${context.seed}:android`),
        campaign_id: journeyCampaign + 7,
        campaign_name: 'Back in stock alerts',
        user_id: numericUserId,
        payload,
      };
      return push;
    }
    default: {
      const whatsapp: WhatsAppMessage = {
        ...common,
        channel: 'whatsapp',
        to: person.phone,
        provider: 'meta',
        body: `Hi ${person.first} 👋 here is the size guide you asked for. Anything else we can help with?`,
        media_urls: ['https://cdn.example.com/docs/size-guide.pdf'],
        canvas_step_id: uuidOf(`canvas-step:${context.seed}:support:1`),
      };
      return whatsapp;
    }
  }
}

/**
 * Generates realistic messages of every channel, deterministically (same options, same messages),
 * for `sentcopy demo`, tests and benchmarks. The pattern repeats every 8 messages: a ~30 KB HTML
 * marketing email, an SMS of at most 160 characters with journey ids, an iOS push inside a Canvas (no
 * campaign), a WhatsApp template message, a transactional email with a PDF attachment and no
 * campaign, an unassociated verification SMS, an Android push, and a WhatsApp reply with only a
 * `canvas_step_id`. Recipients are fake: `example.com` addresses and `+1555` numbers.
 */
export function sampleMessages(options: SampleMessagesOptions = {}): Message[] {
  const projectId = options.projectId ?? 'demo';
  if (typeof projectId !== 'string' || projectId.length === 0 || !projectId.isWellFormed()) {
    throw new RangeError('sampleMessages: projectId must be a non-empty string.');
  }
  const count = options.count ?? 8;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('sampleMessages: count must be a whole number, 0 or more.');
  const now = options.now ?? defaultNow;
  if (!Number.isSafeInteger(now) || now < minSentAt || now > maxSentAt) {
    throw new RangeError('sampleMessages: now must be epoch milliseconds (a whole number between 1973 and the year 9999).');
  }
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new RangeError('sampleMessages: seed must be a whole number.');
  const context: Context = { projectId, seed, next: randomSource(seed) };
  // Gaps come from their own stream, so message i is the same whatever the count (only sent_at shifts).
  const nextGap = randomSource(seed ^ 0x6a9);
  const gaps = Array.from({ length: count }, () => 1_000 + Math.floor(nextGap() * 1_000));
  let sentAt = now - gaps.reduce((sum, gap) => sum + gap, 0);
  if (count > 0 && sentAt + gaps[0]! < minSentAt) throw new RangeError('sampleMessages: count is too large for now (the first message would be sent before 1973).');
  const messages: Message[] = [];
  for (let index = 0; index < count; index++) {
    sentAt += gaps[index]!;
    messages.push(buildMessage(context, index, sentAt));
  }
  return messages;
}

/** The first default sample message (`sampleMessages()[0]`): a ~30 KB HTML marketing email with a plain-text part (for benchmarks). */
export function sampleHtmlEmail(): EmailMessage {
  return sampleMessages()[0] as EmailMessage;
}

/** The second default sample message (`sampleMessages()[1]`): a marketing SMS of at most 160 characters (for benchmarks). */
export function sampleSms(): SmsMessage {
  return sampleMessages()[1] as SmsMessage;
}
