import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BundleManifest } from '../export/bundle-manifest.js';

/** Thrown when the offline viewer's built script is not beside the CLI (the browser build did not run). */
export class OfflineViewerMissingError extends Error {
  constructor(readonly looked: readonly string[]) {
    super(`The offline viewer's script was not found (looked at ${looked.join(', ')}); build the CLI with \`pnpm build\`.`);
    this.name = 'OfflineViewerMissingError';
  }
}

// From dist/bin.js it is dist/browser/; from src/viewer/offline/ (tests running the sources) the same file, three folders up.
const candidates = ['./browser/offline-viewer.global.js', '../../../dist/browser/offline-viewer.global.js'];

let cached: string | undefined;

/** The offline viewer's script as tsup built it (an IIFE with fflate and lz4js inside). */
export function offlineViewerScript(): string {
  if (cached !== undefined) return cached;
  const looked: string[] = [];
  for (const candidate of candidates) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    looked.push(file);
    if (existsSync(file)) {
      cached = readFileSync(file, 'utf8');
      return cached;
    }
  }
  throw new OfflineViewerMissingError(looked);
}

const style = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bad: #a40e26; --good: #116329; --focus: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header { padding: 0.6rem 1.5rem; border-bottom: 1px solid var(--line); display: flex; gap: 1rem; align-items: baseline; }
header strong { font-size: 1.1rem; }
header span { color: var(--muted); }
main { padding: 1rem 1.5rem 3rem; max-width: 1300px; }
h1 { font-size: 1.4rem; margin: 0.4rem 0 0.6rem; }
h2 { font-size: 1.1rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: 0.3rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td:nth-child(2), td:nth-child(3) { white-space: nowrap; }
td:nth-child(4) { overflow-wrap: anywhere; }
th { background: #f6f8fa; }
a { color: #0550ae; }
a:focus-visible, input:focus-visible, button:focus-visible, h1:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.good { color: var(--good); font-weight: 600; }
.bad, .altered { color: var(--bad); font-weight: 700; }
.ok { color: var(--good); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.5rem 0 1rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; border: 1px solid var(--line); padding: 0.6rem; max-height: 28rem; overflow: auto; }
iframe { width: 100%; height: 26rem; border: 1px solid var(--line); background: #fff; }
.bubble { display: inline-block; max-width: 36rem; padding: 0.6rem 0.9rem; border-radius: 1rem; background: #e7f3e4; white-space: pre-wrap; overflow-wrap: anywhere; }
.picker { margin-top: 2rem; padding-top: 0.5rem; border-top: 1px solid var(--line); }
.missing { margin-top: 1.5rem; }
button { font: inherit; margin-left: 0.5rem; padding: 0.1rem 0.6rem; }
`;

/** `<` and friends escaped so JSON inside a script element can never close it. */
const scriptSafeJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const escapeHtml = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The two halves of viewer.html, between which the bundle writer streams one {@link embeddedObject} per object. */
export interface OfflinePageParts {
  /** Everything up to the embedded objects: the CSP, the style, the manifest. */
  readonly head: string;
  /** The closing part: the script (allowed by its hash), then the end of the document. */
  readonly tail: string;
}

/**
 * viewer.html around its embedded objects. The only script that may run is the viewer's own,
 * allowed by its SHA-256 in the Content-Security-Policy; nothing may be loaded from anywhere.
 */
export function offlinePageParts(manifest: BundleManifest): OfflinePageParts {
  const script = offlineViewerScript().replace(/<\/script/gi, '<\\/script');
  const scriptHash = createHash('sha256').update(script, 'utf8').digest('base64');
  // Inline styles are allowed because an email's HTML (a srcdoc frame inherits this policy) is mostly inline styles; styles cannot run code or, with default-src 'none', load anything.
  const csp = `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'`;
  const head = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`sentcopy export · ${manifest.objects.length} message(s) · ${manifest.created_at}`)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    `<header><strong>sentcopy</strong><span>${escapeHtml(`Export of ${manifest.created_at} by ${manifest.query.who}`)}</span></header>`,
    '<main id="main"><p>Checking the bundle… (this page needs JavaScript; it loads nothing from the network)</p></main>',
    `<script type="application/json" id="manifest">${scriptSafeJson(manifest)}</script>`,
    '',
  ].join('\n');
  const tail = `<script>${script}</script>\n</body>\n</html>\n`;
  return { head, tail };
}

/** One object's stored bytes as the page carries them: base64 in a data block no browser runs. */
export function embeddedObject(index: number, bytes: Uint8Array): string {
  return `<script type="application/octet-stream" data-object="${index}">${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}</script>\n`;
}
