import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { sampleMessages } from '@sentcopy/core';
import { describe, expect, it } from 'vitest';
import { BufferFullError, createSentcopyClient, MessageRejectedError, UndeliveredError, WorkerUnavailableError, type ClientHealth, type ClientMessage, type SendResult } from '../src/index.js';
import { apiKey, startWorker, storedKeys, storedMessages, waitFor } from './worker-fixture.js';

const sample = (count: number, seed = 1) => sampleMessages({ projectId: 'shop', count, seed }) as unknown as ClientMessage[];
const ids = (messages: readonly { message_id?: unknown }[]) => messages.map((message) => String(message.message_id)).sort();

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A real HTTP server in front of the worker: it answers the first requests with `faults` (status,
 * headers, body, as the worker would answer them), then forwards every request to the worker.
 */
async function startFaultyFront(workerUrl: string, faults: { status: number; headers?: Record<string, string>; body: unknown }[]) {
  const seen: { at: number; answered: number; body: string }[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readAll(request);
      const fault = faults.shift();
      if (fault !== undefined) {
        seen.push({ at: Date.now(), answered: fault.status, body: body.toString('utf8') });
        response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        response.end(JSON.stringify(fault.body));
        return;
      }
      const forwarded = await fetch(`${workerUrl}${request.url}`, { method: request.method, headers: { authorization: request.headers.authorization ?? '', 'content-type': request.headers['content-type'] ?? '' }, body });
      seen.push({ at: Date.now(), answered: forwarded.status, body: body.toString('utf8') });
      response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
      response.end(Buffer.from(await forwarded.arrayBuffer()));
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('send() under faults', () => {
  // SENTCOPY_SOAK=1: 20,000 messages and five stops instead of 600 and one.
  const soak = process.env.SENTCOPY_SOAK === '1';
  const restartCount = soak ? 20_000 : 600;
  const restarts = soak ? 5 : 1;
  it(
    `loses nothing when the worker stops mid-run and restarts on the same queue folder and port (${restartCount} messages, ${restarts} stop${restarts === 1 ? '' : 's'}); messages sent again are answered duplicate`,
    async () => {
      let current = await startWorker();
      const { folder, port, root } = current;
      const client = createSentcopyClient({ url: current.url, apiKey, maxBatchMessages: 20, maxInFlightRequests: 2, retryBaseDelayMs: 20, retryMaxDelayMs: 300, maxBufferedMessages: restartCount, maxBufferedBytes: 2 ** 30 });
      const messages = sample(restartCount);
      let settled = 0;
      const promises = client.send(messages).map((promise) => promise.finally(() => settled++));
      try {
        for (let stop = 1; stop <= restarts; stop++) {
          await waitFor(() => settled >= (stop * restartCount) / (restarts + 5), `answers before stop ${stop}`, 300_000);
          await current.worker.stop();
          await waitFor(() => client.health().state !== 'ok', 'the client to see the worker gone');
          expect(client.health().lastProblem).toMatch(/^network error|^HTTP 503/);
          expect(settled).toBeLessThan(restartCount);
          current = await startWorker({ folder, port });
        }
        const results = await Promise.all(promises);
        expect(results.filter((result) => result.status !== 'accepted' && result.status !== 'duplicate')).toEqual([]);
        const again = await Promise.all(client.send(messages.slice(0, 100)));
        expect(again.map((result) => result.status)).toEqual(new Array(100).fill('duplicate'));
        await waitFor(() => storedKeys(root).length >= restartCount, 'every copy', 600_000);
        const stored = storedMessages(root);
        expect(stored).toHaveLength(restartCount);
        expect(ids(stored)).toEqual(ids(messages));
        const report = await client.close();
        expect(report).toEqual({ delivered: restartCount + 100, rejected: 0, undelivered: [] });
      } finally {
        await current.worker.stop();
      }
    },
    soak ? 1_200_000 : 120_000,
  );

  it('retries 429 and 503 answers, waiting at least what Retry-After asks, and then delivers everything', async () => {
    const target = await startWorker();
    const front = await startFaultyFront(target.url, [
      { status: 429, body: { error: { code: 'rate_limited', message: 'Slow down.' } } },
      { status: 503, headers: { 'retry-after': '1' }, body: { error: { code: 'queue_unavailable', message: 'The queue could not store the batch.', problem: 'disk_full' } } },
    ]);
    const states: ClientHealth['state'][] = [];
    const problems: (string | undefined)[] = [];
    const client = createSentcopyClient({ url: front.url, apiKey, onBackpressure: (health) => states.push(health.state) });
    const watch = setInterval(() => problems.push(client.health().lastProblem), 50);
    try {
      const messages = sample(30);
      const results = await Promise.all(client.send(messages));
      expect(results.map((result) => result.status)).toEqual(new Array(30).fill('accepted'));
      expect(front.seen.map((request) => request.answered)).toEqual([429, 503, 202]);
      // A lower bound only (the client must not come back sooner); how much later it came is not asserted.
      expect(front.seen[2]!.at - front.seen[1]!.at).toBeGreaterThanOrEqual(1000);
      expect(states).toEqual(['retrying', 'ok']);
      clearInterval(watch);
      expect(problems).toContain('HTTP 503 queue_unavailable (disk_full)');
      await waitFor(() => storedKeys(target.root).length >= 30, 'the copies');
      expect(ids(storedMessages(target.root))).toEqual(ids(messages));
      await client.close();
    } finally {
      clearInterval(watch);
      await front.close();
      await target.worker.stop();
    }
  }, 60_000);

  it.each(['through a front that reads whole bodies', 'straight to the worker, which answers before reading the body'])(
    "splits a batch the worker finds over its body limit, and rejects a message too large on its own with the worker's words (%s)",
    async (path) => {
      const target = await startWorker({ limits: { maxBodyBytes: 65_536 } });
      const front = await startFaultyFront(target.url, []);
      const client = createSentcopyClient({ url: path.startsWith('through') ? front.url : target.url, apiKey });
      try {
        const messages = sample(120);
        const huge = { ...sample(1, 7)[0]!, channel: 'sms', message_id: 'huge-1', to: '+15550100000', body: 'x'.repeat(70_000) } as ClientMessage;
        const batch = [...messages.slice(0, 60), huge, ...messages.slice(60)];
        expect(JSON.stringify(batch).length).toBeGreaterThan(65_536 * 4);
        const settled = await Promise.allSettled(client.send(batch));
        const hugeResult = settled[60] as PromiseRejectedResult;
        expect(hugeResult.status).toBe('rejected');
        expect(MessageRejectedError.isInstance(hugeResult.reason)).toBe(true);
        expect((hugeResult.reason as MessageRejectedError).reason).toBe('too_large');
        expect((hugeResult.reason as MessageRejectedError).messageId).toBe('huge-1');
        expect((hugeResult.reason as MessageRejectedError).errors[0]?.problem).toContain('limits.max_body_bytes');
        const others = settled.filter((_, index) => index !== 60).map((result) => (result.status === 'fulfilled' ? result.value.status : String(result.reason)));
        // The sample holds emails of 36 KB: the worker's 64 KiB limit leaves room for one or two per batch, never for the client's 1 MiB batches.
        expect(others).toEqual(new Array(120).fill('accepted'));
        if (path.startsWith('through')) expect(front.seen.filter((request) => request.answered === 413).length).toBeGreaterThan(0);
        else expect(await (await fetch(`${target.url}/metrics`)).text()).toMatch(/^sentcopy_messages_rejected_total\{[^}]*reason="too_large"[^}]*\} [1-9]/m);
        await waitFor(() => storedKeys(target.root).length >= 120, 'the copies');
        const stored = storedMessages(target.root);
        expect(stored).toHaveLength(120);
        expect(ids(stored)).toEqual(ids(messages));
        expect(await client.close()).toEqual({ delivered: 120, rejected: 1, undelivered: [] });
      } finally {
        await front.close();
        await target.worker.stop();
      }
    },
    60_000,
  );

  it('keeps memory bounded while the worker is down: send() refuses with WorkerUnavailableError at the bound, and close() hands back what was not delivered', async () => {
    const gone = await startWorker();
    await gone.worker.stop();
    const signals: ClientHealth[] = [];
    const client = createSentcopyClient({ url: gone.url, apiKey, maxBufferedMessages: 50, lingerMs: 0, retryBaseDelayMs: 20, retryMaxDelayMs: 200, onBackpressure: (health) => signals.push(health) });
    const messages = sample(51);
    const taken = client.send(messages.slice(0, 50));
    const outcomes = Promise.allSettled(taken);
    await waitFor(() => client.health().state === 'retrying', 'the client to see the worker down');
    expect(client.health()).toMatchObject({ state: 'retrying', full: true, waitingMessages: 50 });
    const refused = await client.send(messages[50]!).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(WorkerUnavailableError.isInstance(refused)).toBe(true);
    const unavailable = refused as WorkerUnavailableError;
    expect(unavailable.waitingMessages).toBe(50);
    expect(unavailable.lastProblem).toBe('network error (ECONNREFUSED)');
    expect(unavailable.unavailableForMs).toBeGreaterThanOrEqual(0);
    expect(unavailable.message).toContain('50 messages');
    expect(signals.some((health) => health.full && health.state === 'retrying')).toBe(true);

    const report = await client.close({ deadlineMs: 300 });
    expect(report.delivered).toBe(0);
    expect(ids(report.undelivered.map((entry) => entry.message as ClientMessage))).toEqual(ids(messages.slice(0, 50)));
    expect(report.undelivered.every((entry) => UndeliveredError.isInstance(entry.error))).toBe(true);
    const settled = await outcomes;
    expect(settled.every((outcome) => outcome.status === 'rejected' && UndeliveredError.isInstance(outcome.reason))).toBe(true);
    expect(client.health()).toMatchObject({ state: 'closed', waitingMessages: 0, waitingBytes: 0 });

    // Nothing held back is secret: no error, signal, report or the client itself shows the key.
    const shown = [unavailable.message, inspect(client, { depth: 5 }), JSON.stringify(signals), ...report.undelivered.map((entry) => `${entry.error.message} ${inspect(entry.error)}`)].join('\n');
    expect(shown).not.toContain(apiKey);

    // What close() handed back is whole: a worker that is back takes every message of it.
    const back = await startWorker();
    const retry = createSentcopyClient({ url: back.url, apiKey });
    try {
      const results = await Promise.all(retry.send(report.undelivered.map((entry) => entry.message)));
      expect(results.map((result) => result.status)).toEqual(new Array(50).fill('accepted'));
      await waitFor(() => storedKeys(back.root).length >= 50, 'the handed-back copies');
      expect(ids(storedMessages(back.root))).toEqual(ids(messages.slice(0, 50)));
      await retry.close();
    } finally {
      await back.worker.stop();
    }
  }, 60_000);

  it('refuses with BufferFullError at the bound while the worker answers, and flush() sends a batch that has not filled', async () => {
    const target = await startWorker();
    const client = createSentcopyClient({ url: target.url, apiKey, maxBufferedMessages: 5, lingerMs: 600_000 });
    try {
      const messages = sample(6);
      const taken = client.send(messages.slice(0, 5));
      const refused = await client.send(messages[5]!).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(BufferFullError.isInstance(refused)).toBe(true);
      expect((refused as BufferFullError).waitingMessages).toBe(5);
      await client.flush();
      const results: SendResult[] = await Promise.all(taken);
      expect(results.map((result) => result.status)).toEqual(new Array(5).fill('accepted'));
      expect(client.health()).toMatchObject({ full: false, waitingMessages: 0 });
      await client.close();
    } finally {
      await target.worker.stop();
    }
  }, 60_000);

  it('passes a status it does not know through as it came, and sends again the messages an answer left out', async () => {
    const target = await startWorker();
    const messages = sample(2, 11);
    // A newer worker's answer: a status and a field this client does not know, and no result for the second message.
    const front = await startFaultyFront(target.url, [{ status: 202, body: { accepted: 0, duplicates: 0, rejected: 0, results: [{ index: 0, message_id: messages[0]!.message_id, status: 'queued_v2', version: 2 }] } }]);
    const client = createSentcopyClient({ url: front.url, apiKey });
    try {
      const [first, second] = await Promise.all(client.send(messages));
      expect(first).toEqual({ status: 'queued_v2', messageId: messages[0]!.message_id, version: false, raw: { index: 0, message_id: messages[0]!.message_id, status: 'queued_v2', version: 2 } });
      expect(second).toMatchObject({ status: 'accepted', messageId: messages[1]!.message_id, version: false });
      expect(front.seen.map((request) => request.answered)).toEqual([202, 202]);
      await waitFor(() => storedKeys(target.root).length >= 1, 'the second copy');
      expect(ids(storedMessages(target.root))).toEqual([messages[1]!.message_id]);
      await client.close();
    } finally {
      await front.close();
      await target.worker.stop();
    }
  }, 60_000);

  it('says unavailable once the worker has failed for unavailableAfterMs, and flush() stops waiting when its signal aborts', async () => {
    const gone = await startWorker();
    await gone.worker.stop();
    const client = createSentcopyClient({ url: gone.url, apiKey, unavailableAfterMs: 0, retryBaseDelayMs: 20, retryMaxDelayMs: 100 });
    const [message] = sample(1, 13);
    const pending = client.send(message!);
    await waitFor(() => client.health().state === 'unavailable', 'the unavailable state');
    const controller = new AbortController();
    const flushing = client.flush({ signal: controller.signal }).then(
      () => 'flushed',
      (error: unknown) => (error as Error).message,
    );
    controller.abort(new Error('stop waiting'));
    expect(await flushing).toBe('stop waiting');
    expect(client.health()).toMatchObject({ state: 'unavailable', waitingMessages: 1 });
    const report = await client.close({ deadlineMs: 0 });
    expect(report.undelivered.map((entry) => entry.message)).toEqual([message]);
    expect(UndeliveredError.isInstance(await pending.catch((error: unknown) => error))).toBe(true);
  }, 60_000);

  it('close() tries at once instead of waiting out a long backoff, so a worker that came back gets everything', async () => {
    const first = await startWorker();
    await first.worker.stop();
    // After the first failure the client would wait about 59 s, longer than close()'s deadline.
    const client = createSentcopyClient({ url: first.url, apiKey, lingerMs: 0, retryBaseDelayMs: 60_000, retryMaxDelayMs: 120_000, random: () => 0.99 });
    const messages = sample(5, 17);
    const promises = client.send(messages);
    await waitFor(() => client.health().state === 'retrying', 'the first failure');
    const second = await startWorker({ folder: first.folder, port: first.port });
    try {
      const report = await client.close({ deadlineMs: 20_000 });
      expect(report).toEqual({ delivered: 5, rejected: 0, undelivered: [] });
      expect((await Promise.all(promises)).map((result) => result.status)).toEqual(new Array(5).fill('accepted'));
      await waitFor(() => storedKeys(first.root).length >= 5, 'the copies');
      expect(ids(storedMessages(first.root))).toEqual(ids(messages));
    } finally {
      await second.worker.stop();
    }
  }, 60_000);

  it('reports a second version of a message id, from send() and from archive(), as the worker marks it', async () => {
    const target = await startWorker();
    const [message] = sample(1, 19);
    // Answers of a worker that keeps a second, different message under one id as a version.
    const front = await startFaultyFront(target.url, [
      { status: 202, body: { accepted: 1, duplicates: 0, rejected: 0, versions: 1, results: [{ index: 0, message_id: message!.message_id, status: 'accepted', version: true }] } },
      { status: 201, body: { key: 'shop/v/2', sha256: 'ab'.repeat(32), size: 10, created: true, attempts: 1, version: true, original_key: 'shop/v/1' } },
    ]);
    const client = createSentcopyClient({ url: front.url, apiKey });
    try {
      expect(await client.send(message!)).toMatchObject({ status: 'accepted', version: true });
      expect(await client.archive(message!)).toEqual({ key: 'shop/v/2', sha256: 'ab'.repeat(32), size: 10, created: true, version: true, originalKey: 'shop/v/1' });
      await client.close();
    } finally {
      await front.close();
      await target.worker.stop();
    }
  }, 60_000);

  it('sends JSON text exactly as given, so numbers a JavaScript number cannot hold keep their digits; refuses text that is not a JSON object or not well-formed', async () => {
    const target = await startWorker();
    const front = await startFaultyFront(target.url, []);
    const client = createSentcopyClient({ url: front.url, apiKey });
    try {
      const [message] = sample(1, 23);
      const text = JSON.stringify({ ...message, message_id: 'exact-1' }).replace(/}$/, ',"extras":{"order_id":12345678901234567890123,"ratio":0.10000000000000000555}}');
      expect(await client.send(text)).toMatchObject({ status: 'accepted', messageId: 'exact-1' });
      expect(front.seen.at(-1)?.body).toBe(`[${text}]`);
      const refused = await Promise.allSettled([client.send('{"message_id": "x", '), client.send('[1,2]'), client.send(`{"message_id":"s","body":"\ud800 and ${String.fromCharCode(0xd800)}"}`)]);
      expect(refused.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as MessageRejectedError).errors[0]?.problem : 'sent'))).toEqual([
        'is not JSON text',
        'must be the JSON text of an object',
        'is not well-formed Unicode text (it holds a lone surrogate)',
      ]);
      await client.close();
    } finally {
      await front.close();
      await target.worker.stop();
    }
  }, 60_000);
});
