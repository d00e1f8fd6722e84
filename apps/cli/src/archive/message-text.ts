import { isChannel, type DestinationV1 } from '@sentcopy/core';
import type { MessageText, MessageTextExtractor } from '@sentcopy/ledger-index';
import { htmlToText } from './html-to-text.js';
import { readRawMimeView } from './raw-mime-view.js';
import { inspectObject } from './read-object.js';

/** Keys of a push payload whose text a person reads (APNs `aps.alert`, FCM `notification`, web push). */
const pushTitleKeys = new Set(['title', 'subtitle']);
const pushBodyKeys = new Set(['body', 'alert', 'message', 'text']);

const joined = (parts: readonly (string | undefined)[]) => {
  const present = parts.filter((part): part is string => part !== undefined && part !== '');
  return present.length === 0 ? undefined : present.join('\n');
};

const stringOf = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** Every string in a JSON value (a structured WhatsApp body, template parameters), depth first. */
function stringsIn(value: unknown, found: string[] = [], depth = 0): string[] {
  if (depth > 16) return found;
  if (typeof value === 'string') found.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, found, depth + 1);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) stringsIn(item, found, depth + 1);
  return found;
}

/** A push payload's title and body, wherever the platform puts them. */
function pushText(payload: unknown): MessageText {
  const titles: string[] = [];
  const bodies: string[] = [];
  const walk = (value: unknown, depth: number) => {
    if (depth > 16 || typeof value !== 'object' || value === null) return;
    for (const [name, item] of Object.entries(value)) {
      if (typeof item === 'string') {
        if (pushTitleKeys.has(name)) titles.push(item);
        else if (pushBodyKeys.has(name)) bodies.push(item);
      } else walk(item, depth + 1);
    }
  };
  walk(payload, 0);
  const subject = joined(titles);
  const body = joined(bodies);
  return { ...(subject === undefined ? {} : { subject }), ...(body === undefined ? {} : { body }) };
}

/** The searchable text of one message document (any channel), raw MIME included. */
export async function messageText(document: Record<string, unknown>, channel: string): Promise<MessageText> {
  let subject: string | undefined;
  let body: string | undefined;
  if (channel === 'email') {
    const plain = stringOf(document['plaintext_body']);
    const html = stringOf(document['html_body']);
    const raw = await readRawMimeView(document);
    subject = joined([stringOf(document['subject']), raw?.subject]);
    const htmlText = html === undefined ? undefined : htmlToText(html);
    const rawText = raw === undefined ? undefined : (raw.text ?? (raw.html === undefined ? undefined : htmlToText(raw.html)));
    // Plain text and HTML usually say the same; both are kept when they differ, so neither hides a word.
    body = joined([plain, htmlText === plain ? undefined : htmlText, rawText === plain || rawText === htmlText ? undefined : rawText]);
  } else if (channel === 'push') {
    return pushText(document['payload']);
  } else {
    const bodyValue = document['body'];
    subject = stringOf(document['subject']);
    body = joined([typeof bodyValue === 'string' ? bodyValue : joined(stringsIn(bodyValue)), joined(stringsIn(document['template_params']))]);
  }
  return { ...(subject === undefined ? {} : { subject }), ...(body === undefined ? {} : { body }) };
}

/**
 * The extractor `sentcopy index --text` gives the index: decodes the object (its codec), parses
 * the JSON with exact numbers, reads it under its profile, and finds its text. Only content is
 * indexed: no address, header or attachment.
 */
export function messageTextExtractor(destination: DestinationV1): MessageTextExtractor {
  return async (source, stored) => {
    const read = await inspectObject(destination, stored, {
      ...(isChannel(source.channel) ? { fields: { channel: source.channel, values: {} } } : {}),
      projectId: source.projectId,
    });
    if (read.corruption.length > 0) throw new Error(read.corruption.join('; '));
    const document = (read.message as Record<string, unknown> | undefined) ?? read.document;
    if (document === undefined) throw new Error('it holds no JSON document');
    const channel = typeof document['channel'] === 'string' ? document['channel'] : source.channel;
    try {
      return await messageText(document, channel);
    } catch (error) {
      // mailparser's messages may quote the message; only the fact is reported.
      throw new Error(`its raw MIME could not be parsed (${error instanceof Error ? error.name : 'error'})`, { cause: error });
    }
  };
}
