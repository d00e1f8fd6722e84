import { JsonNumber, stringifyJson } from '@sentcopy/core';
import { Command } from 'commander';
import { CliError, emit, exitCodes, formatBytes } from '../cli-kit/index.js';
import { addSourceOptions, openArchiveSource, type SourceOptions } from '../archive/archive-source.js';
import { addFilterOptions, filtersFrom, type FilterOptions } from '../archive/filter-options.js';
import { findObject, type FoundObject } from '../archive/find-object.js';
import { htmlToText } from '../archive/html-to-text.js';
import { maskRecipient, maskRecipients } from '../archive/mask-recipient.js';
import type { ReadResult } from '../archive/read-object.js';
import { readRawMimeView, type RawMimeView } from '../archive/raw-mime-view.js';

interface ShowOptions extends SourceOptions, FilterOptions {
  revealRecipients?: boolean;
  json?: boolean;
}

const recipientFields = ['to', 'cc', 'bcc'];
const recipientHeaders = new Set(['to', 'cc', 'bcc', 'delivered-to', 'x-original-to']);

/** The document with recipient fields (and recipient headers) masked. */
export function maskDocument(document: Record<string, unknown>): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...document };
  for (const field of recipientFields) if (Object.hasOwn(masked, field)) masked[field] = maskRecipients(masked[field]);
  // The raw message holds every recipient in its headers: shown only when recipients are revealed.
  if (typeof masked['raw_mime'] === 'string') masked['raw_mime'] = `(${Buffer.byteLength(masked['raw_mime'], 'base64')} bytes of raw MIME, hidden with the recipients: add --reveal-recipients)`;
  const headers = masked['headers'];
  if (typeof headers === 'object' && headers !== null && !Array.isArray(headers)) {
    masked['headers'] = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [
        name,
        recipientHeaders.has(name.toLowerCase()) && typeof value === 'string'
          ? value
              .split(',')
              .map((part) => maskRecipient(part))
              .join(', ')
          : value,
      ]),
    );
  }
  return masked;
}

/** One line about the object's integrity. */
export function integrityLine(read: ReadResult): string {
  if (read.corruption.length > 0) return `CORRUPT: ${read.corruption.join('; ')}`;
  if (read.recordedSha256 === undefined) return `unverified: no SHA-256 was recorded with the object (its bytes hash to ${read.sha256.slice(0, 16)}…)`;
  return `ok, the bytes match the recorded SHA-256 ${read.sha256.slice(0, 16)}…`;
}

const shownElsewhere = new Set([
  'version',
  'channel',
  'message_id',
  'dispatch_id',
  'project_id',
  'sent_at',
  'to',
  'campaign_id',
  'campaign_name',
  'canvas_id',
  'canvas_step_id',
  'canvas_variation_id',
  'message_variation_id',
  'journey_id',
  'journey_node_id',
  'journey_name',
  'user_id',
  'from_name',
  'from_address',
  'reply_to',
  'cc',
  'bcc',
  'subject',
  'html_body',
  'plaintext_body',
  'amp_body',
  'headers',
  'attachments',
  'raw_mime',
  'derived_from_raw_mime',
  'body',
  'provider',
  'media_urls',
  'subscription_group',
  'platform',
  'app_id',
  'payload',
  'template_name',
  'template_params',
  'extras',
]);

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (JsonNumber.isInstance(value)) return value.text;
  return undefined;
}

function renderHuman(found: FoundObject, destinationName: string, reveal: boolean, raw: ReadonlyMap<FoundObject, RawMimeView>): string {
  const versions = [found, ...(found.otherVersions ?? [])];
  if (versions.length === 1) return renderOne(found, destinationName, reveal, raw.get(found));
  const title = (index: number, entry: FoundObject) =>
    entry.fields?.versionId === undefined ? `══ Copy ${index + 1} of ${versions.length}: the first copy ` : `══ Copy ${index + 1} of ${versions.length}: version ${entry.fields.versionId}, sent later with other content `;
  const intro = `This message id was sent ${versions.length} times with different content; every copy is kept and shown below.`;
  return [intro, ...versions.map((entry, index) => `\n${title(index, entry).padEnd(72, '═')}\n${renderOne(entry, destinationName, reveal, raw.get(entry))}`)].join('\n');
}

/** Rows for an email's raw MIME: its headers, attachments, and where its HTML is. */
function rawMimeRows(raw: RawMimeView, key: string, reveal: boolean, add: (label: string, value: string | undefined) => void): void {
  const people = (list: readonly string[]) => (list.length === 0 ? undefined : (reveal ? list : list.map((address) => maskRecipient(address))).join(', '));
  add('Raw MIME', `${formatBytes(raw.bytes)}, stored byte for byte; its headers:`);
  add('  From', raw.from);
  add('  To', people(raw.to));
  add('  Cc', people(raw.cc));
  add('  Bcc', people(raw.bcc));
  add('  Subject', raw.subject);
  add('  Date', raw.date);
  add('  Message-ID', raw.messageId);
  for (const attachment of raw.attachments) add('Attachment', `${attachment.fileName} (${attachment.contentType}, ${formatBytes(attachment.bytes)})`);
  if (raw.html !== undefined) add('HTML part', `${formatBytes(Buffer.byteLength(raw.html, 'utf8'))}; view it with: sentcopy open '${key}'`);
}

function renderOne(found: FoundObject, destinationName: string, reveal: boolean, raw?: RawMimeView): string {
  const { read } = found;
  const rows: [string, string][] = [];
  const add = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== '') rows.push([label, value]);
  };
  add('Key', read.key);
  if (found.fields?.versionId !== undefined) add('Version', `${found.fields.versionId}: the same message id was stored before with other content, at ${found.fields.originalKey ?? 'the plain key'}`);
  add('Destination', destinationName);
  add('Stored', `${formatBytes(read.size)}, ${read.codec}, ${read.profile} profile${read.lastModified === undefined ? '' : `, written ${read.lastModified.toISOString()}`}`);
  add('Integrity', integrityLine(read));
  const shown = read.message !== undefined ? (read.message as unknown as Record<string, unknown>) : read.document;
  if (shown === undefined) return rows.map(([label, value]) => `${label.padEnd(13)}${value}`).join('\n');
  if (read.invalid !== undefined) add('Note', `not a valid payload format v1 message (${read.invalid}); showing the stored fields`);
  const document = reveal ? shown : maskDocument(shown);
  rows.push(['', '']);
  add('Channel', text(document['channel']));
  add('Message id', text(document['message_id']) ?? text(document['dispatch_id']));
  add('Project', text(document['project_id']));
  const sentAt = document['sent_at'];
  if (typeof sentAt === 'number') add('Sent at', read.message !== undefined || read.profile !== 'braze' ? new Date(sentAt).toISOString() : new Date(sentAt * 1000).toISOString());
  add('To', text(document['to']));
  const campaign = text(document['campaign_id']);
  add('Campaign', campaign === undefined ? text(document['campaign_name']) : `${campaign}${text(document['campaign_name']) === undefined ? '' : ` (${text(document['campaign_name'])})`}`);
  add('Canvas', [text(document['canvas_id']), text(document['canvas_step_id']), text(document['canvas_variation_id'])].filter(Boolean).join(' / ') || undefined);
  add('Journey', [text(document['journey_id']), text(document['journey_node_id']), text(document['journey_name'])].filter(Boolean).join(' / ') || undefined);
  add('Variation', text(document['message_variation_id']));
  add('User id', text(document['user_id']));

  const channel = document['channel'];
  let bodyText: string | undefined;
  if (channel === 'email' || document['subject'] !== undefined || document['html_body'] !== undefined) {
    const fromName = text(document['from_name']);
    const fromAddress = text(document['from_address']);
    add('From', fromName !== undefined && fromAddress !== undefined ? `${fromName} <${fromAddress}>` : (fromName ?? fromAddress));
    add('Reply-To', text(document['reply_to']));
    for (const field of ['cc', 'bcc'] as const) {
      const list = document[field];
      if (Array.isArray(list)) add(field === 'cc' ? 'Cc' : 'Bcc', list.join(', '));
    }
    add('Subject', text(document['subject']));
    const headers = document['headers'];
    if (typeof headers === 'object' && headers !== null) {
      for (const [name, value] of Object.entries(headers)) add(`  ${name}`, text(value));
    }
    const attachments = document['attachments'];
    if (Array.isArray(attachments)) {
      for (const attachment of attachments as Record<string, unknown>[]) {
        const bytes = typeof attachment['bytes'] === 'string' ? Buffer.byteLength(attachment['bytes'], 'base64') : 0;
        add('Attachment', `${text(attachment['file_name']) ?? '(no name)'} (${text(attachment['content_type']) ?? 'unknown type'}, ${formatBytes(bytes)})`);
      }
    }
    if (raw !== undefined) rawMimeRows(raw, read.key, reveal, add);
    const html = text(document['html_body']);
    if (html !== undefined) add('HTML body', `${formatBytes(Buffer.byteLength(html, 'utf8'))}; view it with: sentcopy open '${read.key}'`);
    const amp = text(document['amp_body']);
    if (amp !== undefined) add('AMP body', formatBytes(Buffer.byteLength(amp, 'utf8')));
    const plain = text(document['plaintext_body']);
    bodyText = plain ?? (html === undefined ? undefined : htmlToText(html)) ?? raw?.text ?? (raw?.html === undefined ? undefined : htmlToText(raw.html));
    if (plain === undefined && html !== undefined) add('Text', 'rendered from the HTML body below');
  } else if (channel === 'push') {
    add('Platform', text(document['platform']));
    add('App id', text(document['app_id']));
    bodyText = stringifyJson(document['payload'], 2);
  } else {
    add('Provider', text(document['provider']));
    add('Template', text(document['template_name']));
    if (document['template_params'] !== undefined) add('Parameters', stringifyJson(document['template_params']));
    add('Group', text(document['subscription_group']));
    const media = document['media_urls'];
    if (Array.isArray(media)) for (const url of media) add('Media', text(url));
    bodyText = text(document['body']);
  }
  if (document['extras'] !== undefined) add('Extras', stringifyJson(document['extras']));
  for (const [field, value] of Object.entries(document)) if (!shownElsewhere.has(field)) add(field, text(value) ?? stringifyJson(value));

  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.map(([label, value]) => (label === '' ? '' : `${label.padEnd(width)}${value.replaceAll('\n', `\n${' '.repeat(width)}`)}`));
  if (bodyText !== undefined) lines.push('', `── ${channel === 'push' ? 'Payload' : 'Body'} ${'─'.repeat(40)}`, bodyText);
  return lines.join('\n');
}

/** `sentcopy show`: one archived message, decoded, checked and pretty-printed. */
export function registerShowCommand(program: Command): void {
  const command = program.command('show').description('Show one archived message: decoded, its SHA-256 checked, pretty-printed.').argument('<key-or-message-id>', 'object key (from `sentcopy ls`) or message id');
  addSourceOptions(command);
  addFilterOptions(command)
    .option('--reveal-recipients', 'show recipient addresses (to, cc, bcc) in full instead of masked')
    .option('--json', 'print the stored message as JSON, with the integrity check')
    .addHelpText(
      'after',
      `
A message id is looked up on the keys' {message_id} segment under the prefix the filters give, so
narrow it (--project, --recipient, --channel, --from/--to) on a large archive. A message id sent
more than once with different content has several copies (the first, and versions next to it):
all of them are shown, the first copy first (--json: "versions" and "otherVersions"). Recipients are masked
(j***@example.com) unless --reveal-recipients. Exits 4 when the object is corrupt, 3 when no
object (or more than one) matches.

Examples:
  $ sentcopy show 'shop/3f9a…/email/20260131/m-1042.json.gz'
  $ sentcopy show m-1042 --project shop
  $ sentcopy show m-1042 --project shop --json | jq '.message.subject'
  $ sentcopy show 0f6e… --destination old-braze --layout braze`,
    )
    .action(async (reference: string, options: ShowOptions) => runShow(reference, options));
}

async function runShow(reference: string, options: ShowOptions): Promise<void> {
  const source = await openArchiveSource(options);
  try {
    const found = await findObject(source, reference, filtersFrom(options, source));
    const reveal = options.revealRecipients === true;
    const all = [found, ...(found.otherVersions ?? [])];
    const unreadable = all.find((entry) => entry.read.document === undefined);
    if (unreadable !== undefined && all.length === 1) {
      const { read } = unreadable;
      throw new CliError(`The object ${read.key} is corrupt: ${read.corruption.join('; ')}.`, { exitCode: exitCodes.problemsFound, code: 'object_corrupt', hint: 'Run `sentcopy verify` on this archive to find any others.' });
    }
    const raw = new Map<FoundObject, RawMimeView>();
    for (const entry of all) {
      try {
        const view = await readRawMimeView(entry.read.document);
        if (view !== undefined) raw.set(entry, view);
      } catch {
        // A raw message mailparser cannot read is still shown as stored.
      }
    }
    const toJson = ({ read, fields }: FoundObject) => ({
      key: read.key,
      version: fields?.versionId ?? null,
      originalKey: fields?.originalKey ?? null,
      destination: source.destinationName,
      size: read.size,
      codec: read.codec,
      profile: read.profile,
      sha256: read.sha256,
      recordedSha256: read.recordedSha256 ?? null,
      integrity: read.corruption.length > 0 ? 'corrupt' : read.recordedSha256 === undefined ? 'unverified' : 'ok',
      corruption: read.corruption,
      valid: read.invalid === undefined,
      ...(read.invalid === undefined ? {} : { invalid: read.invalid }),
      recipientsMasked: !reveal,
      message: read.document === undefined ? null : reveal ? read.document : maskDocument(read.document),
    });
    emit(options, { ...toJson(found), ...(all.length > 1 ? { versions: all.length, otherVersions: all.slice(1).map(toJson) } : {}) }, () => renderHuman(found, source.destinationName, reveal, raw));
    if (all.some((entry) => entry.read.corruption.length > 0)) process.exitCode = exitCodes.problemsFound;
  } finally {
    await source.close();
  }
}
