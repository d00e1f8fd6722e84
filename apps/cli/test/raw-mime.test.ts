// sentcopy ingest with .eml and mbox files, and show/open of emails stored as raw MIME, against a local-folder archive.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startCliWorker, tempFolders, writeWorkerConfig } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('raw-mime');

/** An email; `lineEnd` decides LF or CRLF; the body has an 8-bit byte and optionally a line starting with "From ". */
function email(id: string, lineEnd: '\n' | '\r\n', options: { fromLine?: boolean; headers?: Record<string, string>; html?: boolean } = {}): Buffer {
  const boundary = 'b-1';
  const head: Record<string, string> = {
    From: 'Shop <shop@example.com>',
    To: `Ana <ana.${id}@example.net>`,
    Subject: `Receipt ${id}`,
    Date: 'Fri, 04 Dec 2026 21:29:40 +0000',
    'Message-ID': `<${id}@mail.example.com>`,
    'MIME-Version': '1.0',
    'Content-Type': `multipart/mixed; boundary="${boundary}"`,
    ...options.headers,
  };
  const lines = [
    ...Object.entries(head)
      .filter(([, value]) => value !== '')
      .map(([name, value]) => `${name}: ${value}`),
    '',
    `--${boundary}`,
    ...(options.html
      ? ['Content-Type: text/html; charset=utf-8', '', `<p>Thanks, <b>Ana</b> (${id})</p>`]
      : ['Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: 8bit', '', `Merci pour la commande ${id}, caf\u00e9.`]),
    ...(options.fromLine ? ['From the desk of the shop.'] : []),
    `--${boundary}`,
    'Content-Type: application/pdf; name="invoice.pdf"',
    'Content-Disposition: attachment; filename="invoice.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.4 invoice').toString('base64'),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join(lineEnd), 'latin1');
}

/** An mbox (mboxrd) of `messages`: "From " separators, body lines starting with "From " quoted, a blank line after each. */
function mbox(messages: readonly Buffer[]): Buffer {
  return Buffer.concat(
    messages.flatMap((message) => {
      const quoted = Buffer.from(message.toString('latin1').replace(/^(>*From )/gm, '>$1'), 'latin1');
      return [Buffer.from('From shop@example.com Fri Dec  4 21:29:40 2026\n'), quoted, Buffer.from('\n')];
    }),
  );
}

function storedById(root: string): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.sentcopy') walk(file);
      } else if (entry.name.endsWith('.json.gz')) {
        const document = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, unknown>;
        found.set(String(document['message_id']), document);
      }
    }
  };
  walk(root);
  return found;
}

function setUp() {
  const work = newFolder();
  const root = path.join(work, 'archive');
  const keys = writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
    destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
    projects: { shop: { destination: 'local', channels: ['email'] } },
  });
  return { work, root, keys };
}

describe('sentcopy ingest: .eml and mbox files', () => {
  it('--direct: each email of an mbox is archived as its exact bytes (LF and CRLF kept, ">From " unquoted); one without the headers to key it is rejected by number', async () => {
    const { work, root } = setUp();
    const messages = [email('mb-1', '\n'), email('mb-2', '\r\n', { fromLine: true }), email('mb-3', '\n', { headers: { 'Message-ID': '', Date: '' } }), email('mb-4', '\r\n', { html: true })];
    writeFileSync(path.join(work, 'sent.mbox'), mbox(messages));
    const run = await runCli(['ingest', 'sent.mbox', '--project', 'shop', '--direct', '--threads', '0', '--json'], { cwd: work });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'direct', lines: 4, stored: 3, duplicates: 0, rejected: 1 });
    expect(run.code).toBe(4);
    const stored = storedById(root);
    expect([...stored.keys()].sort()).toEqual(['mb-1@mail.example.com', 'mb-2@mail.example.com', 'mb-4@mail.example.com']);
    for (const [index, id] of [
      [0, 'mb-1'],
      [1, 'mb-2'],
      [3, 'mb-4'],
    ] as const) {
      expect(Buffer.from(stored.get(`${id}@mail.example.com`)!['raw_mime'] as string, 'base64').equals(messages[index]!)).toBe(true);
    }
    const rejects = readFileSync(path.join(work, 'sent.mbox.rejects.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { line: number; issues: { path: string }[] });
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.line).toBe(3);
    expect(rejects[0]!.issues.map((issue) => issue.path)).toEqual(['sent_at', 'message_id']);
    // Running again stores nothing new.
    const again = await runCli(['ingest', 'sent.mbox', '--project', 'shop', '--direct', '--threads', '0', '--json'], { cwd: work });
    expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, duplicates: 3, rejected: 1 });
  }, 120_000);

  it('--worker: an .eml file is one email, sent to the worker and stored byte for byte', async () => {
    const { work, root, keys } = setUp();
    const bytes = email('eml-1', '\r\n');
    writeFileSync(path.join(work, 'receipt.eml'), bytes);
    const worker = await startCliWorker(path.join(work, 'sentcopy.config.json'));
    try {
      const run = await runCli(['ingest', 'receipt.eml', '--project', 'shop', '--worker', worker.url, '--json'], { cwd: work, env: { SENTCOPY_KEY: keys['shop'] } });
      expect(JSON.parse(run.stdout)).toMatchObject({ mode: 'worker', lines: 1, accepted: 1, rejected: 0 });
      const deadline = Date.now() + 30_000;
      while (!storedById(root).has('eml-1@mail.example.com') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(Buffer.from(storedById(root).get('eml-1@mail.example.com')!['raw_mime'] as string, 'base64').equals(bytes)).toBe(true);
    } finally {
      await worker.stop();
    }
  }, 120_000);

  it('needs --project for emails, and says when a file is not an mbox', async () => {
    const { work } = setUp();
    writeFileSync(path.join(work, 'x.eml'), email('x', '\n'));
    writeFileSync(path.join(work, 'bad.mbox'), 'Subject: not an mbox\n\nhello\n');
    const noProject = await runCli(['ingest', 'x.eml', '--direct'], { cwd: work });
    expect(noProject.code).toBe(2);
    expect(noProject.stderr).toContain('--project');
    const notMbox = await runCli(['ingest', 'bad.mbox', '--project', 'shop', '--direct', '--threads', '0'], { cwd: work });
    expect(notMbox.code).toBe(2);
    expect(notMbox.stderr).toContain('does not start with a "From " line');
  }, 60_000);
});

describe('sentcopy show / open: emails stored as raw MIME', () => {
  it('show prints its headers (recipients masked), text part and attachments; open writes its HTML part', async () => {
    const { work } = setUp();
    writeFileSync(path.join(work, 'two.mbox'), mbox([email('show-1', '\r\n'), email('show-2', '\n', { html: true })]));
    const ingest = await runCli(['ingest', 'two.mbox', '--project', 'shop', '--direct', '--threads', '0', '--json'], { cwd: work });
    expect(JSON.parse(ingest.stdout)).toMatchObject({ stored: 2 });
    const shown = await runCli(['show', 'show-1@mail.example.com', '--project', 'shop'], { cwd: work });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Raw MIME\s+\d+ B, stored byte for byte/);
    expect(shown.stdout).toMatch(/Subject\s+Receipt show-1/);
    expect(shown.stdout).toMatch(/Attachment\s+invoice\.pdf \(application\/pdf, 16 B\)/);
    expect(shown.stdout).toContain('Merci pour la commande show-1, café.');
    expect(shown.stdout).not.toContain('ana.show-1@example.net');
    const json = await runCli(['show', 'show-1@mail.example.com', '--project', 'shop', '--json'], { cwd: work });
    expect(JSON.parse(json.stdout).message.raw_mime).toMatch(/bytes of raw MIME, hidden with the recipients/);
    const revealed = await runCli(['show', 'show-1@mail.example.com', '--project', 'shop', '--reveal-recipients'], { cwd: work });
    expect(revealed.stdout).toContain('ana.show-1@example.net');
    const out = path.join(work, 'show-2.html');
    const opened = await runCli(['open', 'show-2@mail.example.com', '--project', 'shop', '--out', out, '--no-open'], { cwd: work });
    expect(opened.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('<p>Thanks, <b>Ana</b> (show-2)</p>');
  }, 120_000);
});
