// Emails with attachments archived through the worker's gate (POST /v1/archive, answered once stored in a local folder),
// given three ways: JSON with an `attachments` entry (the baseline), JSON with `raw_mime`, and a `message/rfc822` body.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashApiKey, runWorker } from '@sentcopy/worker';

const apiKey = 'sc_bench_raw_mime_key_000000000000000000000000';
const sentAt = Date.UTC(2026, 11, 4, 21, 29, 40);

/** One realistic email: an HTML part and a PDF attachment of `size` bytes, base64 at 76 columns as mail clients send it. */
function buildEmail(size) {
  const attachment = randomBytes(size);
  const html = `<html><body><p>Hello Ana,</p><p>your invoice is attached.</p>${'<p>Thank you for shopping with us.</p>'.repeat(40)}</body></html>`;
  const wrapped = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
  const body = Buffer.from(
    [
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      html,
      '--b1',
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      wrapped,
      '--b1--',
      '',
    ].join('\r\n'),
  );
  return { attachment, html, body };
}

function forms(email, index) {
  const id = `bench-${index}-${randomBytes(4).toString('hex')}`;
  const head = Buffer.from(`From: Shop <shop@example.com>\r\nTo: Ana <ana@example.net>\r\nSubject: Your invoice\r\nDate: ${new Date(sentAt).toUTCString()}\r\nMessage-ID: <${id}@mail.example.com>\r\n`);
  const raw = Buffer.concat([head, email.body]);
  return {
    json: () => ({
      contentType: 'application/json',
      body: JSON.stringify({
        version: 1,
        channel: 'email',
        message_id: id,
        project_id: 'shop',
        sent_at: sentAt,
        to: 'ana@example.net',
        subject: 'Your invoice',
        html_body: email.html,
        attachments: [{ file_name: 'invoice.pdf', content_type: 'application/pdf', bytes: email.attachment.toString('base64') }],
      }),
    }),
    rawMimeJson: () => ({ contentType: 'application/json', body: JSON.stringify({ version: 1, channel: 'email', project_id: 'shop', raw_mime: raw.toString('base64') }) }),
    rfc822: () => ({ contentType: 'message/rfc822', body: raw }),
  };
}

async function measure(url, size, count, form) {
  const email = buildEmail(size);
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const request = forms(email, next++)[form]();
        const response = await fetch(`${url}/v1/archive`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': request.contentType }, body: request.body });
        if (response.status !== 201) throw new Error(`${form}: the gate answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { perSecond: count / seconds, mbPerSecond: (count * size) / seconds / 1e6, peakRssMb: peakRss / 1e6 };
}

export async function runRawMimeBench({ print = console.log, sizes = [1e6, 10e6], counts = { 1e6: 32, 10e6: 8 } } = {}) {
  const folder = mkdtempSync(path.join(tmpdir(), 'sentcopy-bench-raw-mime-'));
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      destinations: { local: { type: 'fs', root: path.join(folder, 'archive'), acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      http: { limits: { max_body_bytes: 64 * 1024 * 1024, max_message_bytes: 64 * 1024 * 1024 } },
    }),
  );
  const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, logger: () => {} });
  try {
    print('\nEmails with one attachment through the gate (POST /v1/archive, stored in a local folder), 4 in flight; ratio: speed over the JSON-attachments form');
    print('attachment  form                      emails/s    MB/s   ratio   peak RSS');
    for (const size of sizes) {
      const count = counts[size] ?? 8;
      await measure(worker.url, size, 2, 'json'); // warm-up
      const baseline = await measure(worker.url, size, count, 'json');
      for (const [form, label] of [
        ['json', 'JSON with attachments'],
        ['rawMimeJson', 'JSON with raw_mime'],
        ['rfc822', 'message/rfc822 body'],
      ]) {
        const result = form === 'json' ? baseline : await measure(worker.url, size, count, form);
        print(
          `${`${size / 1e6} MB`.padEnd(12)}${label.padEnd(24)}${result.perSecond.toFixed(1).padStart(10)}${result.mbPerSecond.toFixed(1).padStart(8)}${(result.perSecond / baseline.perSecond).toFixed(2).padStart(8)}${`${result.peakRssMb.toFixed(0)} MB`.padStart(11)}`,
        );
      }
    }
  } finally {
    await worker.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runRawMimeBench();
