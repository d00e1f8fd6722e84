import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { CliError, emit, exitCodes, formatBytes } from '../cli-kit/index.js';
import { addSourceOptions, openArchiveSource, type SourceOptions } from '../archive/archive-source.js';
import { addFilterOptions, filtersFrom, type FilterOptions } from '../archive/filter-options.js';
import { findObject } from '../archive/find-object.js';
import { readRawMimeView } from '../archive/raw-mime-view.js';

/** How long the launcher may take to report that it could not open the file, in milliseconds. */
const openerGraceMs = 3_000;

interface OpenOptions extends SourceOptions, FilterOptions {
  out?: string;
  open: boolean;
  blockRemote?: boolean;
  json?: boolean;
}

// Keeps a browser from fetching remote images, fonts and tracking pixels: viewing an archived copy
// must not count as the recipient opening the email.
const blockRemoteMeta = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'">\n`;

/** `sentcopy open`: writes an archived email's HTML body to a file and opens it in the browser. */
export function registerOpenCommand(program: Command): void {
  const command = program
    .command('open')
    .description("Write an archived email's HTML body (or the HTML part of its raw MIME) to a file and open it in the default browser.")
    .argument('<key-or-message-id>', 'object key (from `sentcopy ls`) or message id');
  addSourceOptions(command);
  addFilterOptions(command)
    .option('-o, --out <file>', 'file to write the HTML to (default: a new file in the temp folder)')
    .option('--no-open', 'only write the file; do not start a browser')
    .option('--block-remote', 'add a Content-Security-Policy so the browser loads no remote images or tracking pixels (the file is then not byte-for-byte the stored HTML)')
    .option('--json', 'print where the file was written as JSON')
    .addHelpText(
      'after',
      `
The file holds the HTML exactly as stored (unless --block-remote) and may contain personal data:
it is created readable by you only. Opening it loads remote images as a mail client would, which
a sender's analytics may count as an open; --block-remote prevents that.

Examples:
  $ sentcopy open m-1042 --project shop
  $ sentcopy open 'shop/3f9a…/email/20260131/m-1042.json.gz' --out m-1042.html --no-open
  $ sentcopy open m-1042 --project shop --block-remote`,
    )
    .action(async (reference: string, options: OpenOptions) => runOpen(reference, options));
}

async function runOpen(reference: string, options: OpenOptions): Promise<void> {
  const source = await openArchiveSource(options);
  let file: string;
  let bytes: number;
  let key: string;
  try {
    const { read, otherVersions } = await findObject(source, reference, filtersFrom(options, source));
    key = read.key;
    // A message id sent again with other content has versions: this opens the first copy, and says which others exist.
    if (otherVersions !== undefined && otherVersions.length > 0) {
      process.stderr.write(`note: this message id has ${otherVersions.length + 1} copies; opening the first. Open another by its key:\n${otherVersions.map((entry) => `  ${entry.read.key}`).join('\n')}\n`);
    }
    if (read.document === undefined) {
      throw new CliError(`The object ${read.key} is corrupt: ${read.corruption.join('; ')}.`, { exitCode: exitCodes.problemsFound, code: 'object_corrupt', hint: 'Run `sentcopy verify` on this archive to find any others.' });
    }
    const channel = read.message?.channel ?? read.document['channel'];
    // An email stored as raw MIME shows its HTML part (inline images as data: URLs) when it has no html_body.
    const html = typeof read.document['html_body'] === 'string' ? read.document['html_body'] : (await readRawMimeView(read.document).catch(() => undefined))?.html;
    if (channel !== 'email') {
      throw new CliError(`${read.key} is ${typeof channel === 'string' ? `an ${channel} message` : 'not an email'}; only emails have an HTML body to open.`, {
        exitCode: exitCodes.usage,
        code: 'not_email',
        hint: `Show it with: sentcopy show '${read.key}'`,
      });
    }
    if (typeof html !== 'string') {
      throw new CliError(`The email ${read.key} has no HTML body.`, { exitCode: exitCodes.notFound, code: 'no_html_body', hint: `Its text is shown by: sentcopy show '${read.key}'` });
    }
    file = path.resolve(options.out ?? path.join(tmpdir(), `sentcopy-${randomBytes(6).toString('hex')}.html`));
    const content = options.blockRemote === true ? blockRemoteMeta + html : html;
    bytes = Buffer.byteLength(content, 'utf8');
    try {
      await writeFile(file, content, { mode: 0o600, flag: options.out === undefined ? 'wx' : 'w' });
    } catch (error) {
      throw new CliError(`Cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}).`, { code: 'file_unwritable', hint: 'Choose another file with --out.' });
    }
    if (read.corruption.length > 0) process.exitCode = exitCodes.problemsFound;
  } finally {
    await source.close();
  }

  let opened = false;
  if (options.open) {
    const { default: openFile } = await import('open');
    const failed = (why: string) =>
      new CliError(`Wrote ${file}, but could not open a browser (${why}).`, { code: 'open_failed', hint: 'Open the file yourself, or pass --no-open. On a server without a desktop, set BROWSER to a program that opens HTML files.' });
    let launched: Awaited<ReturnType<typeof openFile>>;
    try {
      launched = await openFile(file, { wait: false });
    } catch (error) {
      throw failed((error as Error).message);
    }
    // The launcher (xdg-open, open, start) hands the file over and exits within milliseconds; a
    // non-zero exit means nothing could show it (a server without a desktop). Still running after
    // the grace period: a browser that runs in the terminal took it.
    const exit = await new Promise<number | 'running' | Error>((resolve) => {
      const timer = setTimeout(() => resolve('running'), openerGraceMs);
      launched.once('error', (error) => (clearTimeout(timer), resolve(error)));
      launched.once('exit', (code) => (clearTimeout(timer), resolve(code ?? 0)));
      if (launched.exitCode !== null) clearTimeout(timer), resolve(launched.exitCode);
    });
    launched.unref();
    if (exit instanceof Error) throw failed(exit.message);
    if (typeof exit === 'number' && exit !== 0) throw failed(`the opener exited with code ${exit}: no browser or desktop found`);
    opened = true;
  }
  emit(options, { key, file, bytes, opened }, () => `${opened ? 'Opened' : 'Wrote'} ${file} (${formatBytes(bytes)} of HTML from ${key}).`);
}
