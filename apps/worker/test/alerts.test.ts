import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createArchiver, resolveRetryPolicy, sampleMessages, type Message } from '@sentcopy/core';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertNotifier, createEmbeddedQueue, createProcessor, type AlertNotification, type LogEntry, type OutcomeMessage, type ProcessOutcome } from '../src/index.js';
import { queued, waitFor, waitForEmptyQueue } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('alerts');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

const token = 'SECRET-TOKEN-7f3a9c';
const hookPath = `/hooks/T0001/${token}`;
const sharedSecret = 'alert-shared-secret-0123456789';

interface Received {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A real HTTP receiver on 127.0.0.1 (random port) that records every request and answers as `mode` says. */
async function startReceiver(initial: { mode: 'ok' } | { mode: 'status'; status: number } | { mode: 'hang' } = { mode: 'ok' }) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  let mode = initial;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (mode.mode === 'hang') hanging.push(response);
      else response.writeHead(mode.mode === 'ok' ? 204 : mode.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    notifications: () => received.map((entry) => JSON.parse(entry.body) as AlertNotification),
    setMode: (next: typeof initial) => (mode = next),
    async stop() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (a server is opened on it and closed again). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const verifySignature = (entry: Received, secret: string) => {
  const header = String(entry.headers['x-sentcopy-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(entry.body).digest('hex')}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
};

const recipients = (messages: readonly Message[]) => messages.map((message) => String((message as { to: unknown }).to));

// Compressed retry schedule: quick retries in tens of milliseconds, the slow cadence every 200 ms.
const retryPolicy = resolveRetryPolicy({
  rateLimited: { initialDelayMs: 20, maxDelayMs: 100 },
  outage: { quickInitialDelayMs: 20, quickMaxDelayMs: 100, slowIntervalMs: 200, slowJitterRatio: 0.1, maxAgeMs: 60_000 },
});

describe('createAlertNotifier with a real processor against S3', () => {
  it('sends exactly one signed destination.unhealthy (unauthorized) while writes are refused with 403, and one destination.recovered once they pass', async () => {
    const receiver = await startReceiver();
    const logs: LogEntry[] = [];
    const notifier = createAlertNotifier({ url: `${receiver.url}${hookPath}?token=${token}`, secret: sharedSecret, logger: (entry) => logs.push(entry) });
    const destination = createS3Destination(s3.settings({ through: 'proxy' }));
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const bucketBefore = s3.server.listKeys(s3.bucket).length;
    const outcomes: ProcessOutcome[] = [];
    const processor = createProcessor({
      queue,
      archiverFor: () => archiver,
      retryPolicy,
      idleWaitMs: 20,
      onOutcome: (outcome) => {
        outcomes.push(outcome);
        notifier.onOutcome(outcome, { destination: 'cloud' });
      },
    });
    const messages = sampleMessages({ projectId: 'acme', count: 12, seed: 31 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const denied = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT' });
    processor.start();
    try {
      // Many refused writes (every message several times) must still make one alert.
      await waitFor(() => receiver.received.length >= 1 && denied.hits >= 40, 20_000, 'the alert and 40 refused writes');
      expect(notifier.health()).toMatchObject({ healthy: false, destinations: { cloud: { healthy: false, kind: 'unauthorized' } } });
      denied.remove();
      await waitForEmptyQueue(queue, 20_000);
      await waitFor(() => receiver.received.length >= 2, 10_000, 'the recovery notification');
    } finally {
      await processor.stop();
      await notifier.close();
    }

    expect(s3.server.listKeys(s3.bucket).length - bucketBefore).toBe(messages.length);
    expect(outcomes.filter((outcome) => outcome.type === 'retry_scheduled' && outcome.kind === 'unauthorized').length).toBe(denied.hits);
    const notifications = receiver.notifications();
    expect(notifications.map((notification) => [notification.event, notification.kind, notification.destination])).toEqual([
      ['destination.unhealthy', 'unauthorized', 'cloud'],
      ['destination.recovered', 'unauthorized', 'cloud'],
    ]);
    for (const notification of notifications) {
      expect(Object.keys(notification).sort()).toEqual(['at', 'destination', 'event', 'kind', 'reason', 'since']);
      expect(notification.reason).toMatch(/denied|permission|credentials/i);
      expect(Date.parse(notification.since)).toBeLessThanOrEqual(Date.parse(notification.at));
    }
    expect(notifications[1]!.since).toBe(notifications[0]!.since);
    for (const entry of receiver.received) {
      expect(entry.url).toBe(`${hookPath}?token=${token}`);
      expect(entry.headers['content-type']).toBe('application/json');
      expect(verifySignature(entry, sharedSecret)).toBe(true);
      expect(verifySignature(entry, 'some-other-secret')).toBe(false);
      for (const recipient of recipients(messages)) expect(entry.body).not.toContain(recipient);
      expect(entry.body).not.toContain(goodCredentials.secretAccessKey);
    }
    expect(notifier.health()).toMatchObject({ healthy: true, pending: 0, delivered: 2, failed: 0, dropped: 0 });
    expect(logs).toEqual([]);
    await queue.close();
    await destination.close?.();
    await receiver.stop();
  }, 60_000);

  it('turns a destination unhealthy as unreachable after exactly N failures in a row, and recovers once a write passes', async () => {
    const receiver = await startReceiver();
    const notifier = createAlertNotifier({ url: receiver.url, unreachableAfterFailures: 4 });
    const destination = createS3Destination(s3.settings({ through: 'proxy' }));
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    let failures = 0;
    let failuresAtTransition: number | undefined;
    const processor = createProcessor({
      queue,
      archiverFor: () => archiver,
      retryPolicy,
      idleWaitMs: 20,
      concurrencyPerDestination: 1,
      maxInFlight: 1,
      onOutcome: (outcome) => {
        if (outcome.type === 'retry_scheduled') failures++;
        notifier.onOutcome(outcome);
        if (failuresAtTransition === undefined && notifier.health().healthy === false) failuresAtTransition = failures;
      },
    });
    const messages = sampleMessages({ projectId: 'acme', count: 6, seed: 32 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const outage = s3.proxy.inject(faults.respond(s3ErrorResponse('InternalError')), { match: (request) => request.method === 'PUT' });
    processor.start();
    try {
      await waitFor(() => receiver.received.length >= 1 && outage.hits >= 8, 20_000, 'the alert');
      outage.remove();
      await waitForEmptyQueue(queue, 20_000);
      await waitFor(() => receiver.received.length >= 2, 10_000, 'the recovery notification');
    } finally {
      await processor.stop();
      await notifier.close();
    }
    expect(failuresAtTransition).toBe(4);
    const notifications = receiver.notifications();
    expect(notifications.map((notification) => [notification.event, notification.kind])).toEqual([
      ['destination.unhealthy', 'unreachable'],
      ['destination.recovered', 'unreachable'],
    ]);
    // The destination is named by its id when the caller gives no name.
    expect(notifications[0]!.destination).toBe(destination.id);
    expect(receiver.received[0]!.headers['x-sentcopy-signature']).toBeUndefined();
    await queue.close();
    await destination.close?.();
    await receiver.stop();
  }, 60_000);

  it('never holds up the processor: with a receiver that never answers, every message is archived, and close() gives up after closeTimeoutMs', async () => {
    const receiver = await startReceiver({ mode: 'hang' });
    const logs: LogEntry[] = [];
    const notifier = createAlertNotifier({ url: `${receiver.url}${hookPath}?token=${token}`, timeoutMs: 30_000, closeTimeoutMs: 300, logger: (entry) => logs.push(entry) });
    const destination = createS3Destination(s3.settings({ through: 'proxy' }));
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const bucketBefore = s3.server.listKeys(s3.bucket).length;
    const processor = createProcessor({ queue, archiverFor: () => archiver, retryPolicy, idleWaitMs: 20, onOutcome: (outcome) => notifier.onOutcome(outcome, { destination: 'cloud' }) });
    const messages = sampleMessages({ projectId: 'acme', count: 40, seed: 33 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const denied = s3.proxy.inject(faults.respond(s3ErrorResponse('AccessDenied')), { match: (request) => request.method === 'PUT', times: 10 });
    const started = Date.now();
    processor.start();
    try {
      await waitForEmptyQueue(queue, 20_000);
    } finally {
      await processor.stop();
    }
    expect(denied.hits).toBe(10);
    expect(s3.server.listKeys(s3.bucket).length - bucketBefore).toBe(messages.length);
    // The first notification is still hanging at the receiver; the second waits behind it.
    await waitFor(() => receiver.received.length === 1, 5_000, 'the first notification to reach the receiver');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(notifier.health()).toMatchObject({ healthy: true, pending: 2, delivered: 0 });

    const closing = Date.now();
    await notifier.close();
    expect(Date.now() - closing).toBeLessThan(2_000);
    expect(notifier.health()).toMatchObject({ pending: 0, delivered: 0, dropped: 2 });
    expect(logs.filter((entry) => entry.event === 'alert.dropped').length).toBeGreaterThan(0);
    const logText = JSON.stringify(logs);
    expect(logText).not.toContain(token);
    expect(logText).not.toContain('/hooks');
    expect(logText).toContain(receiver.url);
    // After close, outcomes are ignored.
    notifier.onOutcome({ type: 'retry_scheduled', message: outcomeMessage, destination: 'cloud', kind: 'unauthorized', reason: 'x', attempts: 1, retryAt: 0, phase: 'quick', attemptAt: 0 });
    expect(receiver.received).toHaveLength(1);
    await queue.close();
    await destination.close?.();
    await receiver.stop();
  }, 60_000);
});

const outcomeMessage: OutcomeMessage = { id: 'q-1', project: 'acme', messageId: 'm-1', deliveries: 1 };
const unreachable = (attemptAt: number, reason = 'The bucket did not answer (HTTP 500).'): ProcessOutcome => ({
  type: 'retry_scheduled',
  message: outcomeMessage,
  destination: 's3://bucket/',
  kind: 'unreachable',
  reason,
  attempts: 1,
  retryAt: attemptAt + 1_000,
  phase: 'quick',
  attemptAt,
});
const archived = (durationMs = 5): ProcessOutcome => ({
  type: 'archived',
  message: outcomeMessage,
  channel: 'email',
  destination: 's3://bucket/',
  key: 'k',
  sha256: 'a'.repeat(64),
  size: 10,
  created: true,
  attempts: 1,
  durationMs,
});

describe('createAlertNotifier, delivery', () => {
  it('retries a failing receiver with backoff, then logs the failure by origin only, never the token', async () => {
    const receiver = await startReceiver({ mode: 'status', status: 503 });
    const logs: LogEntry[] = [];
    const notifier = createAlertNotifier({ url: `${receiver.url}${hookPath}?token=${token}`, retries: 2, retryDelayMs: 50, logger: (entry) => logs.push(entry) });
    const started = Date.now();
    notifier.onOutcome({
      ...(unreachable(started) as Extract<ProcessOutcome, { type: 'retry_scheduled' }>),
      kind: 'unauthorized',
      reason: 'Access denied for hana.sato@example.com at +1 555 010 0100, see https://bucket.example/x?X-Amz-Signature=abc.',
    });
    await waitFor(() => notifier.health().failed === 1, 5_000, 'the delivery to fail');
    // 1 attempt + 2 retries, waiting 50 then 100 ms.
    expect(receiver.received).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(new Set(receiver.received.map((entry) => entry.body)).size).toBe(1);
    const notification = receiver.notifications()[0]!;
    expect(notification.reason).toBe('Access denied for [redacted address] at [redacted number], see https://bucket.example/x');
    const failure = logs.find((entry) => entry.event === 'alert.delivery_failed');
    expect(failure).toMatchObject({ level: 'error', attempts: 3, problem: 'HTTP 503', webhook: receiver.url, destination: 's3://bucket/', event_type: 'destination.unhealthy' });
    expect(JSON.stringify(logs)).not.toContain(token);
    await notifier.close();
    await receiver.stop();
  });

  it('does not retry a 4xx answer (a misconfigured webhook), and names a refused connection', async () => {
    const receiver = await startReceiver({ mode: 'status', status: 404 });
    const notifier = createAlertNotifier({ url: receiver.url, retries: 3, retryDelayMs: 10 });
    notifier.onOutcome({ ...(unreachable(0) as Extract<ProcessOutcome, { type: 'retry_scheduled' }>), kind: 'unauthorized' });
    await waitFor(() => notifier.health().failed === 1, 5_000, 'the delivery to fail');
    expect(receiver.received).toHaveLength(1);
    await notifier.close();
    await receiver.stop();

    const logs: LogEntry[] = [];
    const port = await closedPort();
    const down = createAlertNotifier({ url: `http://127.0.0.1:${port}/hook?token=${token}`, retries: 1, retryDelayMs: 10, logger: (entry) => logs.push(entry) });
    down.onOutcome({ ...(unreachable(0) as Extract<ProcessOutcome, { type: 'retry_scheduled' }>), kind: 'unauthorized' });
    await waitFor(() => down.health().failed === 1, 5_000, 'the delivery to fail');
    expect(logs.find((entry) => entry.event === 'alert.delivery_failed')).toMatchObject({ attempts: 2, problem: 'ECONNREFUSED', webhook: `http://127.0.0.1:${port}` });
    expect(JSON.stringify(logs)).not.toContain(token);
    await down.close();
  });

  it('keeps at most maxPending notifications waiting, dropping the oldest', async () => {
    const receiver = await startReceiver({ mode: 'hang' });
    const logs: LogEntry[] = [];
    let clock = 1_700_000_000_000;
    const notifier = createAlertNotifier({ url: receiver.url, maxPending: 3, timeoutMs: 30_000, closeTimeoutMs: 200, now: () => clock, logger: (entry) => logs.push(entry) });
    for (let flip = 0; flip < 20; flip++) {
      notifier.onOutcome({ ...(unreachable(clock) as Extract<ProcessOutcome, { type: 'retry_scheduled' }>), kind: 'unauthorized' });
      clock += 1_000;
      notifier.onOutcome(archived());
      clock += 1_000;
    }
    // 40 transitions queued in one turn: 37 dropped, 3 kept (the first of which is now being sent).
    expect(notifier.health()).toMatchObject({ pending: 3, dropped: 37 });
    await waitFor(() => receiver.received.length === 1, 5_000, 'the first kept notification to be sent');
    expect(notifier.health().pending).toBe(3);
    expect(logs.filter((entry) => entry.event === 'alert.dropped')).toHaveLength(37);
    await notifier.close();
    expect(notifier.health()).toMatchObject({ pending: 0, delivered: 0, dropped: 40 });
    await receiver.stop();
  });
});

describe('createAlertNotifier, health rules', () => {
  it('counts unreachable runs by time as well as by number; rate limits and other kinds do not count; a write started before the failure does not recover', async () => {
    const receiver = await startReceiver();
    let clock = 1_700_000_000_000;
    const notifier = createAlertNotifier({ url: receiver.url, unreachableAfterFailures: 100, unreachableAfterMs: 30_000, now: () => clock });
    const t0 = clock;
    notifier.onOutcome(unreachable(t0));
    notifier.onOutcome(unreachable(t0 + 10_000));
    notifier.onOutcome({ ...(unreachable(t0 + 12_000) as Extract<ProcessOutcome, { type: 'retry_scheduled' }>), kind: 'rate_limited' });
    notifier.onOutcome({ type: 'dead_lettered', message: outcomeMessage, kind: 'invalid', reason: 'bad', attempts: 0, issues: [], attemptAt: t0 + 13_000 });
    notifier.onOutcome(unreachable(t0 + 29_999));
    expect(notifier.health()).toMatchObject({ healthy: true, destinations: { 's3://bucket/': { healthy: true, consecutiveFailures: 3 } } });
    // A stored write ends the run.
    notifier.onOutcome(archived());
    expect(notifier.health().destinations['s3://bucket/']).toMatchObject({ consecutiveFailures: 0 });
    notifier.onOutcome(unreachable(t0 + 31_000));
    notifier.onOutcome(unreachable(t0 + 50_000));
    expect(notifier.health().healthy).toBe(true);
    clock = t0 + 61_000;
    notifier.onOutcome(unreachable(t0 + 61_000));
    expect(notifier.health()).toMatchObject({ healthy: false, destinations: { 's3://bucket/': { healthy: false, kind: 'unreachable', since: t0 + 31_000 } } });
    // This write began 5 s ago, before the destination turned unhealthy: no recovery.
    clock += 1_000;
    notifier.onOutcome(archived(5_000));
    expect(notifier.health().healthy).toBe(false);
    notifier.onOutcome(archived(500));
    expect(notifier.health().healthy).toBe(true);
    // Writes settle out of order: failures of attempts begun before the recovery are old news.
    for (let index = 0; index < 10; index++) notifier.onOutcome(unreachable(clock - 100));
    expect(notifier.health().destinations['s3://bucket/']).toMatchObject({ healthy: true, consecutiveFailures: 0 });
    // A dead letter without a destination name cannot be attributed, and is ignored.
    notifier.onOutcome({ type: 'dead_lettered', message: outcomeMessage, kind: 'unauthorized', reason: 'gave up', attempts: 20, issues: [], attemptAt: clock });
    expect(notifier.health().healthy).toBe(true);
    // With a name, an unauthorized dead letter counts.
    notifier.onOutcome({ type: 'dead_lettered', message: outcomeMessage, kind: 'unauthorized', reason: 'gave up', attempts: 20, issues: [], attemptAt: clock }, { destination: 'prod' });
    expect(notifier.health().destinations.prod).toMatchObject({ healthy: false, kind: 'unauthorized' });
    await notifier.close();
    expect(receiver.notifications().map((notification) => [notification.event, notification.destination, notification.kind, notification.since])).toEqual([
      ['destination.unhealthy', 's3://bucket/', 'unreachable', new Date(t0 + 31_000).toISOString()],
      ['destination.recovered', 's3://bucket/', 'unreachable', new Date(t0 + 31_000).toISOString()],
      ['destination.unhealthy', 'prod', 'unauthorized', new Date(clock).toISOString()],
    ]);
    expect(receiver.notifications()[1]!.at).toBe(new Date(t0 + 62_000).toISOString());
    await receiver.stop();
  });

  it('refuses bad options with the field named, without echoing the URL', () => {
    expect(() => createAlertNotifier({ url: `not a url ${token}` })).toThrow(/url must be an absolute http: or https: URL/);
    try {
      createAlertNotifier({ url: `not a url ${token}` });
    } catch (error) {
      expect(String(error)).not.toContain(token);
    }
    expect(() => createAlertNotifier({ url: 'ftp://example.com/hook' })).toThrow(/url must use http: or https:/);
    expect(() => createAlertNotifier({ url: 'https://example.com/hook', retries: -1 })).toThrow(/retries must be an integer, 0 or more/);
    expect(() => createAlertNotifier({ url: 'https://example.com/hook', timeoutMs: 0 })).toThrow(/timeoutMs must be a finite number/);
    expect(() => createAlertNotifier({ url: 'https://example.com/hook', secret: '' })).toThrow(/secret must be a non-empty string/);
    expect(() => createAlertNotifier({ url: 'https://example.com/hook', unreachableAfterFailures: 1.5 })).toThrow(/unreachableAfterFailures must be a positive integer/);
  });
});
