/// <reference lib="dom" />
// The offline viewer's script, built for the browser (tsup's second entry) and inlined into every
// bundle's viewer.html. It runs from a file:// URL with no network: everything it shows comes from
// the page itself or from a file the reader picks. Archive text only ever reaches the page through
// textContent, or an email's HTML through a sandboxed srcdoc frame.
import { gunzipSync, unzipSync } from 'fflate';
import { decompress as lz4Decompress } from 'lz4js';
import PostalMime from 'postal-mime';
import type { BundleManifest, BundleManifestObject } from '../export/bundle-manifest.js';

type Check = 'verified' | 'altered' | 'missing' | 'unchecked';

interface Row {
  readonly object: BundleManifestObject;
  readonly index: number;
  embedded: Check;
  file: Check;
  bytes?: Uint8Array;
  document?: Record<string, unknown>;
  decodeError?: string;
}

// An email's HTML may load nothing and run nothing: the frame has no allow-scripts, and this policy rides with it.
const frameCsp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text.replace(/\s+/g, ''));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function decode(bytes: Uint8Array, codec: string): Uint8Array {
  if (codec === 'gzip') return gunzipSync(bytes);
  if (codec === 'lz4') return lz4Decompress(bytes);
  return bytes;
}

function statusOf(row: Row): 'verified' | 'ALTERED' | 'unreadable' {
  if (row.embedded === 'altered' || row.file === 'altered' || row.file === 'missing') return 'ALTERED';
  if (row.embedded === 'missing') return 'unreadable';
  return 'verified';
}

function statusText(row: Row): string {
  const status = statusOf(row);
  if (row.file === 'missing') return 'ALTERED (missing from the bundle)';
  if (status === 'ALTERED') return row.file === 'altered' && row.embedded !== 'altered' ? 'ALTERED (the bundle file)' : 'ALTERED';
  if (status === 'unreadable') return 'no copy in this page';
  return row.file === 'verified' ? 'verified (page and bundle file)' : 'verified';
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined);

function readManifest(): BundleManifest {
  const source = document.getElementById('manifest')?.textContent ?? '';
  return JSON.parse(source) as BundleManifest;
}

async function checkEmbedded(rows: Row[]): Promise<void> {
  const copies = new Map<number, string>();
  for (const node of Array.from(document.querySelectorAll('script[data-object]'))) copies.set(Number(node.getAttribute('data-object')), node.textContent ?? '');
  for (const row of rows) {
    const copy = copies.get(row.index);
    if (copy === undefined) {
      row.embedded = 'missing';
      continue;
    }
    try {
      row.bytes = fromBase64(copy);
    } catch {
      row.embedded = 'altered';
      continue;
    }
    row.embedded = (await sha256Hex(row.bytes)) === row.object.sha256 ? 'verified' : 'altered';
    try {
      const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(decode(row.bytes, row.object.codec)));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) row.document = parsed as Record<string, unknown>;
      else row.decodeError = 'its JSON is not an object';
    } catch (error) {
      row.decodeError = `it does not decode as ${row.object.codec} JSON (${error instanceof Error ? error.message : String(error)})`;
    }
  }
}

function renderList(manifest: BundleManifest, rows: Row[]): HTMLElement {
  const altered = rows.filter((row) => statusOf(row) === 'ALTERED').length;
  const verified = rows.filter((row) => statusOf(row) === 'verified').length;
  const summary = element(
    'p',
    { id: 'summary', class: altered > 0 ? 'bad' : 'good', role: 'status' },
    `${rows.length} message(s): ${verified} verified${altered > 0 ? `, ${altered} ALTERED` : ''}${manifest.missing.length > 0 ? `; ${manifest.missing.length} could not be read from the archive when the bundle was made (not included)` : ''}.`,
  );
  const body = element('tbody');
  for (const row of rows) {
    const { object } = row;
    const status = statusOf(row);
    body.append(
      element(
        'tr',
        { 'data-index': String(row.index), 'data-status': status },
        element('td', {}, object.sent_at?.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') ?? '-'),
        element('td', {}, object.channel ?? '-'),
        element('td', {}, object.summary.to ?? '-'),
        element('td', {}, element('a', { href: `#m-${row.index}` }, object.summary.title ?? object.message_id ?? object.key)),
        element('td', { class: status === 'verified' ? 'ok' : 'altered' }, statusText(row)),
      ),
    );
  }
  const table = element(
    'table',
    { id: 'messages' },
    element('caption', {}, 'Messages in this bundle'),
    element('thead', {}, element('tr', {}, ...['Sent', 'Channel', 'To', 'Subject or first line', 'Integrity'].map((name) => element('th', { scope: 'col' }, name)))),
    body,
  );
  const missing =
    manifest.missing.length === 0
      ? undefined
      : element('section', { class: 'missing' }, element('h2', {}, 'Not included'), element('ul', {}, ...manifest.missing.map((entry) => element('li', {}, `${entry.destination}: ${entry.key}: ${entry.reason}`))));
  return element('section', { 'aria-labelledby': 'list-title' }, element('h1', { id: 'list-title', tabindex: '-1' }, 'Exported messages'), summary, table, missing);
}

function definition(list: HTMLElement, label: string, value: string | undefined): void {
  if (value === undefined) return;
  list.append(element('dt', {}, label), element('dd', {}, value));
}

function saveBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const link = element('a', { href: url, download: name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_') || 'attachment' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function emailBody(document: Record<string, unknown>): HTMLElement {
  const parts = element('div', { class: 'body' });
  const html = text(document['html_body']);
  const plain = text(document['plaintext_body']);
  if (html !== undefined) parts.append(element('h3', {}, 'HTML'), htmlFrame(html));
  if (plain !== undefined) parts.append(element('h3', {}, 'Plain text'), element('pre', {}, plain));
  const attachments = document['attachments'];
  if (Array.isArray(attachments) && attachments.length > 0) {
    const found: AttachmentView[] = [];
    for (const [index, attachment] of (attachments as Record<string, unknown>[]).entries()) {
      const encoded = text(attachment['bytes']);
      let bytes: Uint8Array | undefined;
      try {
        bytes = encoded === undefined ? undefined : fromBase64(encoded);
      } catch {
        bytes = undefined;
      }
      found.push({ name: text(attachment['file_name']) ?? `attachment-${index + 1}`, type: text(attachment['content_type']) ?? 'unknown type', ...(bytes === undefined ? {} : { bytes }) });
    }
    parts.append(element('h3', {}, 'Attachments'), attachmentList(found, 'data-attachment'));
  }
  const raw = text(document['raw_mime']);
  if (raw !== undefined) parts.append(rawMimeView(raw));
  return parts;
}

interface AttachmentView {
  readonly name: string;
  readonly type: string;
  readonly bytes?: Uint8Array;
}

/** Elements that load or run something, whatever their attributes. */
const loadingElements = 'script, link, base, meta, object, embed, iframe, frame, frameset, applet, audio, video, source, track, portal, noscript';
/** Attributes that name something to load or go to. */
const urlAttributes = new Set(['src', 'srcset', 'href', 'xlink:href', 'background', 'poster', 'lowsrc', 'dynsrc', 'data', 'action', 'formaction', 'ping', 'longdesc', 'cite']);

/**
 * The email's HTML with nothing left that could load: parsed inert (DOMParser loads nothing),
 * loading elements and event handlers removed, every URL attribute that is not a data: URL dropped
 * (a link keeps its address as its title, so the reader still sees where it pointed). The frame's
 * sandbox and policies block the same things again; this does not depend on when they apply.
 */
function inertHtml(html: string): string {
  const parsed = new DOMParser().parseFromString(html, 'text/html');
  for (const node of Array.from(parsed.querySelectorAll(loadingElements))) node.remove();
  for (const node of Array.from(parsed.querySelectorAll('*'))) {
    for (const attribute of Array.from(node.attributes)) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith('on')) node.removeAttribute(attribute.name);
      else if (urlAttributes.has(name) && !/^\s*data:/i.test(attribute.value)) {
        if (name === 'href' && node.localName === 'a') node.setAttribute('title', attribute.value);
        node.removeAttribute(attribute.name);
      }
    }
  }
  return parsed.documentElement.outerHTML;
}

function htmlFrame(html: string): HTMLIFrameElement {
  const frame = element('iframe', { sandbox: '', csp: frameCsp, title: 'Email as sent (no script runs, nothing remote loads)', referrerpolicy: 'no-referrer' });
  // The policy in the document itself too: a browser that ignores the csp attribute still applies it.
  frame.srcdoc = `<!doctype html><meta http-equiv="Content-Security-Policy" content="${frameCsp}">${inertHtml(html)}`;
  return frame;
}

function attachmentList(attachments: readonly AttachmentView[], marker: string): HTMLUListElement {
  const list = element('ul');
  for (const [index, attachment] of attachments.entries()) {
    const item = element('li', {}, `${attachment.name} · ${attachment.type}${attachment.bytes === undefined ? '' : ` (${attachment.bytes.length} bytes) `}`);
    if (attachment.bytes !== undefined) {
      const content = attachment.bytes;
      const save = element('button', { type: 'button', [marker]: String(index) }, 'Save');
      // Saved as opaque bytes: the browser writes the file and never opens or renders it here.
      save.addEventListener('click', () => saveBytes(content, attachment.name));
      item.append(save);
    }
    list.append(item);
  }
  return list;
}

/**
 * An email stored as its exact MIME bytes: parsed here (postal-mime) into its HTML part (in the
 * sandboxed frame), text part and attachments. The source itself names every recipient, so it is
 * behind a disclosure the reader opens.
 */
function rawMimeView(raw: string): HTMLElement {
  const section = element('div', { class: 'raw-mime' }, element('h3', {}, 'As sent (raw MIME)'));
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(raw);
  } catch {
    bytes = new TextEncoder().encode(raw);
  }
  const parsed = element('div', { id: 'raw-mime-parts' }, element('p', {}, 'Reading the message…'));
  section.append(parsed);
  PostalMime.parse(bytes as Uint8Array<ArrayBuffer>)
    .then((email) => {
      const parts: Node[] = [];
      if (email.subject !== undefined) parts.push(element('p', {}, `Subject: ${email.subject}`));
      if (email.html !== undefined) parts.push(htmlFrame(email.html));
      if (email.text !== undefined) parts.push(element('h3', {}, 'Text part'), element('pre', {}, email.text));
      if (email.attachments.length > 0) {
        const views = email.attachments.map((attachment, index) => ({
          name: attachment.filename ?? `attachment-${index + 1}`,
          type: attachment.mimeType,
          bytes: typeof attachment.content === 'string' ? new TextEncoder().encode(attachment.content) : new Uint8Array(attachment.content),
        }));
        parts.push(element('h3', {}, 'Attachments'), attachmentList(views, 'data-mime-attachment'));
      }
      parsed.replaceChildren(...parts);
    })
    .catch((error: unknown) => {
      parsed.replaceChildren(element('p', { class: 'bad' }, `The MIME message could not be parsed (${error instanceof Error ? error.name : 'error'}); its source is below.`));
    });
  section.append(element('details', {}, element('summary', {}, 'Source (shows every recipient’s address)'), element('pre', {}, new TextDecoder('utf-8').decode(bytes))));
  return section;
}

function renderMessage(row: Row): HTMLElement {
  const { object, document: message } = row;
  const status = statusOf(row);
  const section = element('section', { 'aria-labelledby': 'message-title', 'data-message': String(row.index) });
  section.append(
    element('p', {}, element('a', { href: '#', id: 'back' }, '← All messages')),
    element('h1', { id: 'message-title', tabindex: '-1' }, object.summary.title ?? object.message_id ?? object.key),
    element('p', { id: 'integrity', class: status === 'verified' ? 'good' : 'bad', role: 'status' }, `Integrity: ${statusText(row)}. SHA-256 ${object.sha256}`),
  );
  const facts = element('dl');
  definition(facts, 'Channel', object.channel);
  definition(facts, 'Sent', object.sent_at);
  definition(facts, 'Message id', object.message_id);
  definition(facts, 'Project', object.project);
  definition(facts, 'To', object.summary.to);
  definition(facts, 'Cc', object.summary.cc?.join(', '));
  definition(facts, 'Bcc', object.summary.bcc?.join(', '));
  if (message !== undefined) {
    const fromName = text(message['from_name']);
    const fromAddress = text(message['from_address']);
    definition(facts, 'From', fromName === undefined ? fromAddress : `${fromName}${fromAddress === undefined ? '' : ` <${fromAddress}>`}`);
    definition(facts, 'Subject', text(message['subject']));
    definition(facts, 'Campaign', text(message['campaign_id']) ?? text(message['canvas_step_id']));
    definition(facts, 'Provider', text(message['provider']));
    definition(facts, 'Platform', text(message['platform']));
    definition(facts, 'Template', text(message['template_name']));
  }
  definition(facts, 'Stored as', `${object.destination}: ${object.key} (${object.codec}, ${object.size} bytes)`);
  if (row.bytes !== undefined) {
    const stored = row.bytes;
    const save = element('button', { type: 'button', id: 'save-object' }, 'Save the stored object');
    save.addEventListener('click', () => saveBytes(stored, object.key.split('/').pop() ?? 'object'));
    facts.append(element('dt', {}, 'Object'), element('dd', {}, save));
  }
  if (object.ledger !== undefined) definition(facts, 'Ledger', `chain ${object.ledger.chain}${object.ledger.segment === undefined ? '' : `, segment ${object.ledger.segment}`}`);
  section.append(facts);
  if (message === undefined) {
    section.append(element('p', { class: 'bad' }, `This object cannot be shown: ${row.decodeError ?? 'the page holds no copy of it'}.`));
    return section;
  }
  if (object.channel === 'email') section.append(emailBody(message));
  else if (object.channel === 'push') section.append(element('div', { class: 'body' }, element('h3', {}, 'Payload'), element('pre', {}, JSON.stringify(message['payload'], null, 2))));
  else {
    const body = message['body'];
    const bubble = element('div', { class: 'bubble' }, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
    const extra = element('div', { class: 'body' }, bubble);
    if (message['template_params'] !== undefined) extra.append(element('h3', {}, 'Template parameters'), element('pre', {}, JSON.stringify(message['template_params'], null, 2)));
    const media = message['media_urls'];
    if (Array.isArray(media) && media.length > 0) extra.append(element('h3', {}, 'Media (not loaded)'), element('ul', {}, ...media.map((url) => element('li', {}, String(url)))));
    section.append(extra);
  }
  return section;
}

async function checkPicked(files: FileList, rows: Row[], manifest: BundleManifest): Promise<string> {
  const found = new Map<string, Uint8Array>();
  const picked = Array.from(files);
  if (picked.length === 1 && /\.zip$/i.test(picked[0]!.name)) {
    const entries = unzipSync(new Uint8Array(await picked[0]!.arrayBuffer()), { filter: (file) => file.name.startsWith('objects/') || file.name === 'manifest.json' });
    for (const [name, bytes] of Object.entries(entries)) found.set(name, bytes);
  } else {
    for (const file of picked) {
      // A folder's files come as "<folder>/objects/…": the bundle's own paths start after the first segment.
      const relative = (file.webkitRelativePath || file.name).split('/').slice(1).join('/');
      if (relative.startsWith('objects/') || relative === 'manifest.json') found.set(relative, new Uint8Array(await file.arrayBuffer()));
    }
  }
  const known = new Set(manifest.objects.map((object) => object.path));
  let altered = 0;
  for (const row of rows) {
    const bytes = found.get(row.object.path);
    if (bytes === undefined) row.file = 'missing';
    else row.file = (await sha256Hex(bytes)) === row.object.sha256 ? 'verified' : 'altered';
    if (row.file !== 'verified') altered += 1;
  }
  const extra = [...found.keys()].filter((name) => name.startsWith('objects/') && !known.has(name) && !name.endsWith('/'));
  const manifestBytes = found.get('manifest.json');
  const manifestDiffers = manifestBytes !== undefined && JSON.stringify(JSON.parse(new TextDecoder().decode(manifestBytes))) !== JSON.stringify(manifest);
  const notes = [
    `${rows.length - altered} of ${rows.length} file(s) match their SHA-256`,
    ...(altered > 0 ? [`${altered} ALTERED or missing`] : []),
    ...(extra.length > 0 ? [`${extra.length} extra file(s) not in the manifest: ${extra.join(', ')}`] : []),
    ...(manifestBytes === undefined ? ['no manifest.json found'] : manifestDiffers ? ['its manifest.json differs from the one in this page'] : []),
  ];
  return `Checked ${picked.length === 1 ? picked[0]!.name : `${picked.length} files`}: ${notes.join('; ')}.`;
}

async function start(): Promise<void> {
  const main = document.getElementById('main')!;
  const manifest = readManifest();
  const rows: Row[] = manifest.objects.map((object, index) => ({ object, index, embedded: 'unchecked', file: 'unchecked' }));
  await checkEmbedded(rows);
  const checkResult = element('p', { id: 'file-check', role: 'status' });
  const zipInput = element('input', { type: 'file', id: 'pick-zip', accept: '.zip,application/zip' });
  const folderInput = element('input', { type: 'file', id: 'pick-folder', webkitdirectory: '', multiple: '' });
  const picker = element(
    'section',
    { class: 'picker', 'aria-labelledby': 'picker-title' },
    element('h2', { id: 'picker-title' }, 'Check the bundle’s files'),
    element('p', {}, 'This page checks the copy of each message it carries. To check the files handed over, pick the bundle ZIP or its unzipped folder: nothing is uploaded, the check runs here.'),
    element('p', {}, element('label', { for: 'pick-zip' }, 'Bundle ZIP '), zipInput),
    element('p', {}, element('label', { for: 'pick-folder' }, 'Unzipped folder '), folderInput),
    checkResult,
  );
  const render = (moveFocus: boolean) => {
    const match = /^#m-(\d+)$/.exec(location.hash);
    const row = match === null ? undefined : rows[Number(match[1])];
    main.replaceChildren(row === undefined ? renderList(manifest, rows) : renderMessage(row), ...(row === undefined ? [picker] : []));
    // Moving focus to the new heading tells a screen reader the view changed; not on the first view (the reader starts at the top) or after a check (focus stays at the picker, the result is announced).
    if (moveFocus) (document.getElementById(row === undefined ? 'list-title' : 'message-title') as HTMLElement | null)?.focus();
    document.body.setAttribute('data-ready', 'true');
  };
  const onPick = async (input: HTMLInputElement) => {
    if (input.files === null || input.files.length === 0) return;
    try {
      checkResult.textContent = await checkPicked(input.files, rows, manifest);
    } catch (error) {
      checkResult.textContent = `That is not a readable bundle: ${error instanceof Error ? error.message : String(error)}.`;
    }
    render(false);
  };
  zipInput.addEventListener('change', () => void onPick(zipInput));
  folderInput.addEventListener('change', () => void onPick(folderInput));
  window.addEventListener('hashchange', () => render(true));
  render(false);
}

void start().catch((error: unknown) => {
  const main = document.getElementById('main');
  if (main !== null) main.replaceChildren(element('p', { class: 'bad', role: 'alert' }, `This bundle could not be read: ${error instanceof Error ? error.message : String(error)}.`));
  document.body.setAttribute('data-ready', 'error');
});
