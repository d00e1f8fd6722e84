import { addressesIn, isChannel } from '@sentcopy/core';
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { CliError } from '../../cli-kit/index.js';
import { recipientHashes } from '../../archive/ledger-search.js';
import { maskRecipient, maskRecipients } from '../../archive/mask-recipient.js';
import { messageText } from '../../archive/message-text.js';
import { readRawMimeView } from '../../archive/raw-mime-view.js';
import { messagePath, type AccessEvent, type ViewerApp, type ViewerContext, type ViewerEnv } from '../viewer-context.js';
import { ConversationView, FieldsView, PushView } from './channel-views.js';
import { emailAttachments, emailEml, emailHeaders, maskedRawMime, rawMimeBytes, safeFileName, type EmailAttachmentView } from './email-parts.js';
import { EmailView, emailTabs, type EmailTab, type ImagesState } from './email-view.js';
import { inlineImages } from './inline-images.js';
import { isoTime } from './integrity-panel.js';
import { LedgerLocator, type LedgerCheck, type LedgerHint } from './ledger-check.js';
import { isLoadFailure, loadMessage, type LoadedMessage } from './load-message.js';
import { CorruptObjectPage, MessagePage, MessageProblemPage, type RecipientRow } from './message-page.js';
import { sanitizeEmailHtml } from './sanitize-email.js';

type ViewerContextHono = Context<ViewerEnv>;

/**
 * The message page's own policy. A srcdoc frame inherits it, so it allows what the email frame
 * needs (inline styles, data: images, and http(s) images once the viewer asked for them) and
 * nothing else: same-origin scripts and styles, no connection elsewhere, no form target elsewhere.
 */
export function messagePagePolicy(remoteImages: boolean): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data:${remoteImages ? ' https: http:' : ''}`,
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** A key as pages and the access log show it: any segment that looks like an address or a phone number (a layout that asked for raw recipients) is masked. */
export function displayKey(key: string): string {
  return key
    .split('/')
    .map((segment) => (segment.includes('@') || /^\+\d{6,15}$/.test(segment) ? maskRecipient(segment) : segment))
    .join('/');
}

const userOf = (c: ViewerContextHono) => c.get('user') ?? 'unknown';

function secureHeaders(c: ViewerContextHono, remoteImages = false) {
  c.header('Content-Security-Policy', messagePagePolicy(remoteImages));
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
}

/** `attachment; filename="ascii"; filename*=UTF-8''…`: the ASCII name for old clients, the Unicode one cleaned of path and control characters. */
function contentDisposition(name: string, fallback: string): string {
  const ascii = safeFileName(name, fallback);
  const unicode = name
    .replace(/[\u0000-\u001f\u007f"\\/:*?<>|]+/g, '_')
    .replace(/^[.\s]+/, '')
    .slice(-150);
  return `attachment; filename="${ascii}"${unicode === '' || unicode === ascii ? '' : `; filename*=UTF-8''${encodeURIComponent(unicode)}`}`;
}

interface Part {
  readonly destination: string;
  readonly key: string;
}

function partOf(c: ViewerContextHono): Part {
  return { destination: c.req.param('destination') ?? '', key: c.req.param('key') ?? '' };
}

/**
 * Registers the message routes under `messagePath(destination, key)`: the page (`?tab=`,
 * `?images=ask|load`), and the downloads `/json`, `/eml`, `/raw`, `/stored` and `/attachments/N`.
 * Every answer is written to the access log (`view`, `view-images`, `download`) before it is sent.
 */
export function registerMessageRoutes(app: ViewerApp, context: ViewerContext): void {
  const locator = new LedgerLocator();
  const audit = (c: ViewerContextHono, action: AccessEvent['action'], what: Record<string, string | number | boolean>) => context.audit({ who: userOf(c), action, what });

  /** Loads the message, or answers the not-found / unavailable page (audited). */
  const load = async (c: ViewerContextHono, action: AccessEvent['action'], what: Record<string, string | number | boolean>): Promise<LoadedMessage | Response> => {
    const { destination, key } = partOf(c);
    const loaded = await loadMessage(context, destination, key);
    if (!isLoadFailure(loaded)) return loaded;
    const shownKey = displayKey(key);
    await audit(c, action, { destination, key: shownKey, ...what, found: 'corrupt' in loaded, ...('corrupt' in loaded ? { corrupt: true } : {}) });
    secureHeaders(c);
    if ('corrupt' in loaded) {
      // The bytes cannot be had through the store's client at all; the ledger still says what was stored.
      const ledger = await locator.check(loaded.destination, key).catch((error: unknown): { error: string } => ({ error: error instanceof Error ? error.message : String(error) }));
      return c.html(<CorruptObjectPage user={userOf(c)} destinationName={destination} shownKey={shownKey} reason={loaded.corrupt} ledger={ledger} />, action === 'download' ? 422 : 200);
    }
    if ('unavailable' in loaded) {
      return c.html(<MessageProblemPage user={userOf(c)} title="Destination unavailable" text={`Destination "${destination}" did not answer: ${loaded.unavailable}`} />, 503);
    }
    const textLine = loaded.notFound === 'destination' ? `No destination named "${destination}" is configured (or it could not be opened).` : `No object with the key "${shownKey}" in destination "${destination}".`;
    return c.html(<MessageProblemPage user={userOf(c)} title="Message not found" text={textLine} />, 404);
  };

  const download = async (c: ViewerContextHono, part: string, produce: (loaded: LoadedMessage) => Promise<{ bytes: Uint8Array; name: string; type: string } | string>, extra: Record<string, string | number> = {}) => {
    const loaded = await load(c, 'download', { part, ...extra });
    if (loaded instanceof Response) return loaded;
    const produced = await produce(loaded).catch((error: unknown) => `it could not be read (${error instanceof Error ? error.name : 'error'})`);
    const what = { destination: loaded.destinationName, key: displayKey(loaded.read.key), part, ...extra };
    if (typeof produced === 'string') {
      await audit(c, 'download', { ...what, found: false });
      secureHeaders(c);
      return c.html(<MessageProblemPage user={userOf(c)} title="Nothing to download" text={`This ${part} is not available: ${produced}.`} />, 404);
    }
    await audit(c, 'download', { ...what, bytes: produced.bytes.byteLength });
    secureHeaders(c);
    c.header('Content-Type', produced.type);
    c.header('Content-Disposition', contentDisposition(produced.name, `message.${part}`));
    c.header('Content-Length', String(produced.bytes.byteLength));
    return c.body(produced.bytes as Uint8Array<ArrayBuffer>, 200);
  };

  const baseName = (loaded: LoadedMessage) => safeFileName(text(loaded.document?.['message_id']) ?? text(loaded.document?.['dispatch_id']) ?? loaded.read.key.split('/').at(-1) ?? 'message', 'message');
  const isEmail = (loaded: LoadedMessage) => loaded.channel === 'email';

  app.get('/messages/:destination/:key/json', (c) =>
    download(c, 'json', async (loaded) => (loaded.json === undefined ? 'its stored bytes do not decode' : { bytes: loaded.json, name: `${baseName(loaded)}.json`, type: 'application/json' })),
  );
  app.get('/messages/:destination/:key/eml', (c) =>
    download(c, 'eml', async (loaded) =>
      loaded.document === undefined || !isEmail(loaded) ? 'only an email that decodes has an .eml' : { bytes: await emailEml(loaded.document), name: `${baseName(loaded)}.eml`, type: 'application/octet-stream' },
    ),
  );
  app.get('/messages/:destination/:key/raw', (c) =>
    download(c, 'raw', async (loaded) => {
      const raw = rawMimeBytes(loaded.document);
      return raw === undefined ? 'this message carries no raw MIME' : { bytes: raw, name: `${baseName(loaded)}.eml`, type: 'application/octet-stream' };
    }),
  );
  app.get('/messages/:destination/:key/stored', (c) => download(c, 'stored', async (loaded) => ({ bytes: loaded.stored.body, name: safeFileName(loaded.read.key.split('/').at(-1) ?? '', 'object'), type: 'application/octet-stream' })));
  app.get('/messages/:destination/:key/attachments/:index', (c) => {
    const index = Number(c.req.param('index'));
    return download(
      c,
      'attachment',
      async (loaded) => {
        if (!Number.isSafeInteger(index) || index < 0 || loaded.document === undefined) return 'there is no such attachment';
        const attachment = (await emailAttachments(loaded.document))[index];
        return attachment === undefined ? 'there is no such attachment' : { bytes: attachment.bytes, name: attachment.fileName === '' ? `attachment-${index + 1}` : attachment.fileName, type: 'application/octet-stream' };
      },
      { index: c.req.param('index') },
    );
  });

  app.get('/messages/:destination/:key', async (c) => {
    const requestedTab = c.req.query('tab');
    const tab: EmailTab = (emailTabs as readonly string[]).includes(requestedTab ?? '') ? (requestedTab as EmailTab) : 'rendered';
    const imagesQuery = c.req.query('images');
    const asked: ImagesState = imagesQuery === 'load' ? 'on' : imagesQuery === 'ask' ? 'ask' : 'off';
    const loaded = await load(c, asked === 'on' ? 'view-images' : 'view', { tab });
    if (loaded instanceof Response) return loaded;
    // Only an email has remote images to load; any other page keeps the strict policy whatever the query says.
    const images: ImagesState = loaded.channel === 'email' ? asked : 'off';
    const action = images === 'on' ? 'view-images' : 'view';
    const page = await renderPage(context, locator, loaded, tab, images, userOf(c));
    await audit(c, action, { destination: loaded.destinationName, key: displayKey(loaded.read.key), tab, ...(images === 'on' ? { images: page.remoteImages } : {}) });
    secureHeaders(c, images === 'on');
    return c.html(page.html);
  });
}

async function recipientRows(context: ViewerContext, loaded: LoadedMessage, ledger: LedgerCheck | { error: string }): Promise<RecipientRow[]> {
  const document = loaded.document;
  if (document === undefined) return [];
  const channel = loaded.channel !== undefined && isChannel(loaded.channel) ? loaded.channel : undefined;
  const inLedger = new Set('listed' in ledger && ledger.listed ? ledger.entry.recipients : []);
  const rows: RecipientRow[] = [];
  for (const field of ['to', 'cc', 'bcc']) {
    const value = document[field];
    const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
    for (const entry of values) {
      const addresses = channel === 'email' || channel === undefined ? (addressesIn(entry) ?? [entry]) : [entry];
      for (const address of addresses) {
        let hash: RecipientRow['hash'];
        try {
          const candidates = await recipientHashes(address, channel, context.loaded);
          const known = candidates.find((candidate) => inLedger.has(candidate));
          hash = { value: known ?? candidates[0]!, inLedger: known !== undefined };
        } catch (error) {
          // recipientHashes' messages are about the --recipient option; the page says it in its own words.
          hash = { unavailable: error instanceof CliError && error.code === 'recipient_key_required' ? "not shown: this deployment's recipient key is not set here" : 'not shown: not an address sentcopy can normalize' };
        }
        rows.push({ field, masked: maskRecipient(address), hash });
      }
    }
  }
  return rows;
}

async function renderPage(context: ViewerContext, locator: LedgerLocator, loaded: LoadedMessage, tab: EmailTab, images: ImagesState, user: string) {
  const { document, read } = loaded;
  const path = messagePath(loaded.destinationName, read.key);
  const ledger = await locator.check(loaded.destination, read.key, ledgerHint(context, loaded)).catch((error: unknown): { error: string } => ({ error: error instanceof Error ? error.message : String(error) }));
  const recipients = await recipientRows(context, loaded, ledger);
  const sentAtValue = document?.['sent_at'];
  const sentAt = typeof sentAtValue === 'number' ? isoTime(read.profile === 'braze' ? sentAtValue * 1000 : sentAtValue) : undefined;
  const firstTo = recipients.find((row) => row.field === 'to')?.masked ?? '(no recipient)';
  const messageId = text(document?.['message_id']) ?? text(document?.['dispatch_id']);
  const channel = loaded.channel ?? 'unknown channel';
  let title = `${channel} message${messageId === undefined ? '' : ` ${messageId}`}`;
  let body: Child = null;
  let remoteImages = 0;
  let isEmail = false;
  const notes: string[] = [];
  let hasRaw = false;

  if (document === undefined) {
    title = 'Unreadable object';
  } else if (loaded.channel === 'email') {
    isEmail = true;
    const raw = rawMimeBytes(document);
    hasRaw = raw !== undefined;
    let rawProblem: string | undefined;
    const rawView = await readRawMimeView(document).catch((error: unknown) => {
      // mailparser's messages may quote the message; only the fact is shown.
      rawProblem = `its raw MIME could not be parsed (${error instanceof Error ? error.name : 'error'}); the raw download still has the exact bytes`;
      return undefined;
    });
    if (rawProblem !== undefined) notes.push(rawProblem);
    const subject = text(document['subject']) ?? rawView?.subject;
    if (subject !== undefined) title = subject;
    const html = text(document['html_body']) ?? rawView?.html;
    const attachments: EmailAttachmentView[] = await emailAttachments(document).catch(() => []);
    const sanitized = html === undefined ? undefined : sanitizeEmailHtml(html, { remoteImages: images === 'on', inlineImages: inlineImages(attachments) });
    remoteImages = sanitized?.remoteImages.length ?? 0;
    const plainText = text(document['plaintext_body']) ?? rawView?.text;
    // mailparser hands raw MIME's AMP alternative (text/x-amp-html) over as an attachment: shown as the AMP source too.
    const ampPart = raw === undefined ? undefined : attachments.find((attachment) => attachment.contentType.toLowerCase() === 'text/x-amp-html');
    const ampSource = text(document['amp_body']) ?? (ampPart === undefined ? undefined : new TextDecoder().decode(ampPart.bytes));
    const rawMime = raw === undefined ? undefined : maskedRawMime(raw);
    body = (
      <EmailView
        path={path}
        tab={tab}
        images={images}
        {...(sanitized === undefined ? {} : { sanitized })}
        {...(plainText === undefined ? {} : { plainText })}
        {...(ampSource === undefined ? {} : { ampSource })}
        {...(html === undefined ? {} : { htmlSource: html })}
        headers={emailHeaders(document)}
        attachments={attachments}
        {...(rawMime === undefined ? {} : { rawMime })}
      />
    );
  } else if (loaded.channel === 'sms' || loaded.channel === 'whatsapp') {
    body = <ConversationView document={document} to={firstTo} channel={loaded.channel} {...(sentAt === undefined ? {} : { sentAt })} />;
  } else if (loaded.channel === 'push') {
    const shown = await messageText(document, 'push');
    const pushTitle = shown.subject;
    if (pushTitle !== undefined) title = `Push: ${pushTitle}`;
    body = <PushView document={document} to={firstTo} shown={shown} {...(sentAt === undefined ? {} : { sentAt })} />;
  } else {
    body = <FieldsView document={Object.fromEntries(Object.entries(read.document ?? document).map(([name, value]) => [name, ['to', 'cc', 'bcc'].includes(name) ? maskRecipients(value) : value]))} />;
  }

  const campaign = text(document?.['campaign_id']) ?? text(document?.['canvas_step_id']);
  const facts: [string, string][] = [
    ['Channel', channel],
    ...(messageId === undefined ? [] : [['Message id', messageId] as [string, string]]),
    ...(text(document?.['project_id']) === undefined ? [] : [['Project', text(document?.['project_id'])!] as [string, string]]),
    ...(sentAt === undefined ? [] : [['Sent at', sentAt] as [string, string]]),
    ...(campaign === undefined ? [] : [['Campaign', `${campaign}${text(document?.['campaign_name']) === undefined ? '' : ` (${text(document?.['campaign_name'])})`}`] as [string, string]]),
    ...(isEmail && text(document?.['from_address']) !== undefined ? [['From', `${text(document?.['from_name']) ?? ''} ${text(document?.['from_address'])}`.trim()] as [string, string]] : []),
    ['Destination', loaded.destinationName],
    ['Key', displayKey(read.key)],
  ];
  const html = (
    <MessagePage
      user={user}
      title={title}
      path={path}
      destinationName={loaded.destinationName}
      key={read.key}
      facts={facts}
      recipients={recipients}
      {...(loaded.keyProblem === undefined ? {} : { keyProblem: loaded.keyProblem })}
      {...(read.invalid === undefined ? {} : { invalid: read.invalid })}
      notes={notes}
      integrity={{ destinationName: loaded.destinationName, read, ledger }}
      downloads={{ json: loaded.json !== undefined, eml: isEmail, raw: hasRaw }}
    >
      {body}
    </MessagePage>
  );
  return { html, remoteImages };
}

/**
 * Where to look for the object's ledger entry: the index knows its writer and when it was stored;
 * without it, the store's date for the object is close (the entry is recorded just after the write;
 * a minute of slack covers dates truncated to the second and a store's clock).
 */
function ledgerHint(context: ViewerContext, loaded: LoadedMessage): LedgerHint {
  const messageId = text(loaded.document?.['message_id']) ?? text(loaded.document?.['dispatch_id']);
  if (context.index !== undefined && messageId !== undefined) {
    try {
      const filters = { destinations: [loaded.destinationName], messageId, includeErased: true };
      const find = (extra: { sentFrom?: number; sentUntil?: number }) => context.index!.query({ ...filters, ...extra }, { limit: 100 }).objects.find((object) => object.key === loaded.read.key);
      // The index has no message_id index: narrowed to the message's own sent_at (an indexed range) it reads a few rows,
      // not the whole table (about 0.4 s at 1,000,000 entries); a sent_at stored differently falls back to the whole query.
      const sentAt = loaded.document?.['sent_at'];
      const indexed = (typeof sentAt === 'number' && Number.isFinite(sentAt) ? find({ sentFrom: sentAt, sentUntil: sentAt + 1 }) : undefined) ?? find({});
      if (indexed !== undefined) return { storedAt: indexed.storedAt, writer: indexed.writer };
    } catch {
      // An index that cannot answer only costs the search its shortcut.
    }
  }
  const date = loaded.read.lastModified?.getTime();
  return date === undefined || Number.isNaN(date) ? {} : { storedAt: date, slackMs: 60_000 };
}
