import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliWorker, storedKeys, tempFolders, waitFor, writeWorkerConfig, type CliWorker } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

// Issue #14, item 9, end to end: a real worker process (`sentcopy worker`) and real CLI runs store
// numbers a double cannot hold with their exact text, through every way a message comes in:
// POST /v1/messages (queued text, prepared on the worker's prepare pool), POST /v1/archive (the
// parsed body, prepared at once), `sentcopy ingest --worker` and `sentcopy ingest --direct`.

const newFolder = tempFolders('exact-numbers');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const exactTexts = ['12345678901234567891', '-9223372036854775809', '0.1000000000000000055511151231257827', '1e400'] as const;
const [bigInteger, belowLongMin, longDecimal, beyondDouble] = exactTexts;
const sentAt = 1_722_443_282_680;
const token = 'frfsgvrwe:APfdsafsgdfsgghfgfgjkhfsfgdhjhbvcvnetry767456fxsasdf';

/** A push message, written by hand as a sender would, with the numbers in `extras`, in `payload` and as `user_id`. */
function pushText(project: string, messageId: string): string {
  return (
    `{"version":1,"channel":"push","message_id":"${messageId}","project_id":"${project}","sent_at":${sentAt},"to":"${token}","platform":"ios",` +
    `"user_id":${bigInteger},` +
    `"payload":{"aps":{"alert":"Hi","badge":1},"order":${bigInteger},"account":${belowLongMin},"ratio":${longDecimal},"limit":${beyondDouble}},` +
    `"extras":{"big":${bigInteger},"long_min":${belowLongMin},"ratio":${longDecimal},"huge":${beyondDouble},"list":[${exactTexts.join(',')}],"price":1.50}}`
  );
}

/** The stored document (sentcopy profile): keys sorted, no white space, `1.50` in shortest form, the four numbers verbatim. */
function storedSentcopy(project: string, messageId: string): string {
  return (
    `{"channel":"push","extras":{"big":${bigInteger},"huge":${beyondDouble},"list":[${exactTexts.join(',')}],"long_min":${belowLongMin},"price":1.5,"ratio":${longDecimal}},` +
    `"message_id":"${messageId}",` +
    `"payload":{"account":${belowLongMin},"aps":{"alert":"Hi","badge":1},"limit":${beyondDouble},"order":${bigInteger},"ratio":${longDecimal}},` +
    `"platform":"ios","project_id":"${project}","sent_at":${sentAt},"to":"${token}","user_id":${bigInteger},"version":1}`
  );
}

/** The same document as the braze profile stores it: `dispatch_id`, `sent_at` in seconds. */
function storedBraze(project: string, messageId: string): string {
  return storedSentcopy(project, messageId)
    .replace(`"message_id":"${messageId}",`, '')
    .replace('{"channel":"push",', `{"channel":"push","dispatch_id":"${messageId}",`)
    .replace(`"sent_at":${sentAt}`, `"sent_at":${sentAt / 1000}`);
}

describe('numbers keep their exact text through the worker and the CLI', () => {
  let work: string;
  let root: string;
  let keys: Record<string, string>;
  let worker: CliWorker;

  beforeAll(async () => {
    work = newFolder();
    root = path.join(work, 'archive');
    keys = writeWorkerConfig(path.join(work, 'sentcopy.config.json'), {
      destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['push'] }, legacy: { destination: 'local', channels: ['push'], profile: 'braze' } },
    });
    worker = await startCliWorker(path.join(work, 'sentcopy.config.json'));
  }, 60_000);
  afterAll(async () => worker?.stop());

  /** The stored object of `messageId`, found through node:fs by its file name, gunzipped to text. */
  function storedDocument(messageId: string): { key: string; bytes: Buffer; json: string } {
    const key = storedKeys(root).find((candidate) => path.basename(candidate) === `${messageId}.json.gz`);
    if (key === undefined) throw new Error(`no object stored for ${messageId}`);
    const bytes = readFileSync(path.join(root, ...key.split('/')));
    return { key, bytes, json: gunzipSync(bytes).toString('utf8') };
  }

  const post = (route: string, project: string, body: string) => fetch(`${worker.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${keys[project]}`, 'content-type': 'application/json' }, body });

  it.each([
    ['shop', storedSentcopy],
    ['legacy', storedBraze],
  ] as const)(
    'POST /v1/messages and POST /v1/archive store the exact number text (%s project)',
    async (project, stored) => {
      const batch = await post('/v1/messages', project, `[${pushText(project, `${project}-queued`)}]`);
      expect(batch.status).toBe(202);
      expect(await batch.json()).toMatchObject({ accepted: 1, rejected: 0 });

      const gate = await post('/v1/archive', project, pushText(project, `${project}-gated`));
      const answer = (await gate.json()) as { key: string; sha256: string; created: boolean };
      expect(gate.status).toBe(201);
      const gated = storedDocument(`${project}-gated`);
      expect(answer).toMatchObject({ key: gated.key, sha256: sha256(gated.bytes), created: true });
      expect(gated.json).toBe(stored(project, `${project}-gated`));

      await waitFor(() => storedKeys(root).some((key) => key.endsWith(`${project}-queued.json.gz`)), 30_000, 'the queued message to be stored');
      const queued = storedDocument(`${project}-queued`);
      expect(queued.json).toBe(stored(project, `${project}-queued`));
      for (const number of exactTexts) expect(queued.json).toContain(`:${number}`);

      // Deterministic: the same text again is the same object (a conflict would answer 502 or store a second version).
      const again = await post('/v1/archive', project, pushText(project, `${project}-gated`));
      expect(again.status).toBe(201);
      expect(await again.json()).toMatchObject({ key: gated.key, sha256: sha256(gated.bytes), created: false });
      expect(storedKeys(root).filter((key) => key.includes(`${project}-gated`))).toEqual([gated.key]);
    },
    60_000,
  );

  it('sentcopy ingest --worker and --direct store the exact number text, and both agree with the HTTP routes', async () => {
    writeFileSync(path.join(work, 'to-worker.jsonl'), `${pushText('shop', 'shop-ingested')}\n`);
    const viaWorker = await runCli(['ingest', 'to-worker.jsonl', '--worker', worker.url, '--json'], { cwd: work, env: { SENTCOPY_KEY: keys['shop'] } });
    expect(viaWorker.code).toBe(0);
    expect(JSON.parse(viaWorker.stdout)).toMatchObject({ rejected: 0 });
    await waitFor(() => storedKeys(root).some((key) => key.endsWith('shop-ingested.json.gz')), 30_000, 'the ingested message to be stored');
    expect(storedDocument('shop-ingested').json).toBe(storedSentcopy('shop', 'shop-ingested'));

    // Straight into the destination: on the prepare pool's thread, on the main thread, and with a pool
    // whose thread cannot start (a preload that throws in every thread): prepared here instead, and said.
    const noThreads = path.join(work, 'no-threads.mjs');
    writeFileSync(noThreads, "import { isMainThread } from 'node:worker_threads';\nif (!isMainThread) throw new Error('threads are not allowed here');\n");
    for (const [threads, env] of [
      ['1', {}],
      ['0', {}],
      ['1', { NODE_OPTIONS: `--import=${pathToFileURL(noThreads).href}` }],
    ] as const) {
      const messageId = `shop-direct-${threads}-${Object.keys(env).length}`;
      writeFileSync(path.join(work, 'direct.jsonl'), `${pushText('shop', messageId)}\n`);
      const direct = await runCli(['ingest', 'direct.jsonl', '--direct', '--threads', threads, '--json'], { cwd: work, env });
      expect(direct.code).toBe(0);
      expect(JSON.parse(direct.stdout)).toMatchObject({ mode: 'direct', stored: 1, rejected: 0 });
      expect(storedDocument(messageId).json).toBe(storedSentcopy('shop', messageId));
      if ('NODE_OPTIONS' in env) expect(direct.stderr).toMatch(/A prepare thread failed: threads are not allowed here.*Preparing on the main thread instead/);
      else expect(direct.stderr).not.toMatch(/prepare thread/);
    }
  }, 60_000);

  it('sentcopy verify finds every such object intact, and sentcopy show prints the numbers exactly', async () => {
    const checked: number[] = [];
    for (const project of ['shop', 'legacy']) {
      const report = await runCli(['verify', '--project', project, '--json'], { cwd: work });
      const verified = JSON.parse(report.stdout || '{}') as { checked: number };
      expect({ stderr: report.stderr, report: verified }).toMatchObject({ stderr: '', report: { ok: true, intact: verified.checked, problems: [] } });
      expect(report.code).toBe(0);
      checked.push(verified.checked);
    }
    expect(Math.min(...checked)).toBeGreaterThanOrEqual(2);
    const shown = await runCli(['show', storedDocument('shop-gated').key, '--project', 'shop', '--json'], { cwd: work });
    expect(shown.code).toBe(0);
    const shownJson = JSON.parse(shown.stdout) as { valid: boolean };
    expect(shownJson.valid).toBe(true);
    // Numbers, not strings, and not rounded.
    for (const number of exactTexts) expect(shown.stdout).toMatch(new RegExp(`: ${number.replace('.', '\\.')},?\\n`));
    expect(shown.stdout).not.toContain('12345678901234567000');
    const human = await runCli(['show', storedDocument('shop-gated').key, '--project', 'shop'], { cwd: work });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`"order": ${bigInteger},`);
    expect(human.stdout).toContain(`"ratio":${longDecimal}`);
  }, 60_000);

  it('refuses a sent_at written with more digits than a double holds, naming the field, on every route', async () => {
    const text = pushText('shop', 'shop-bad-time').replace(`"sent_at":${sentAt}`, `"sent_at":${sentAt}.0000000000001`);
    const problem = { field: 'sent_at', problem: 'must be a whole number of epoch milliseconds' };
    const batch = await post('/v1/messages', 'shop', `[${text},${pushText('shop', 'shop-beside-bad-time')}]`);
    expect(batch.status).toBe(202);
    expect(await batch.json()).toMatchObject({ accepted: 1, rejected: 1, results: [{ status: 'rejected', reason: 'invalid', errors: [problem] }, { status: 'accepted' }] });
    const gate = await post('/v1/archive', 'shop', text);
    expect(gate.status).toBe(422);
    expect(await gate.json()).toMatchObject({ error: { reason: 'invalid', errors: [problem] } });
    writeFileSync(path.join(work, 'bad-time.jsonl'), `${text}\n`);
    const ingest = await runCli(['ingest', 'bad-time.jsonl', '--direct', '--json'], { cwd: work });
    expect(ingest.code).toBe(4);
    expect(readFileSync(path.join(work, 'bad-time.jsonl.rejects.jsonl'), 'utf8')).toContain('sent_at: must be a whole number of epoch milliseconds');
    await waitFor(() => storedKeys(root).some((key) => key.endsWith('shop-beside-bad-time.json.gz')), 30_000, 'the good message beside it to be stored');
    expect(storedKeys(root).some((key) => key.includes('shop-bad-time'))).toBe(false);
  }, 60_000);
});
