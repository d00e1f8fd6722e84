import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createArchiver, resolveRetryPolicy, sampleMessages, type Message } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { faults, s3ErrorResponse } from '@sentcopy/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigRuntime, createEmbeddedQueue, createIntakeServer, createProcessor, createWorkerMetrics, hashApiKey, type MessageQueue, type WorkerConfig } from '../src/index.js';
import { queued, storedKeys, waitForEmptyQueue } from './helpers.js';
import { createS3Destination, goodCredentials, startS3Setup, type S3Setup } from './s3-fixture.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('metrics');
let s3: S3Setup;
beforeAll(async () => {
  s3 = await startS3Setup();
});
afterAll(() => s3.stop());

interface Exposition {
  /** Sample value by canonical key `name{a="1",b="2"}` (labels sorted by name). */
  readonly samples: Map<string, number>;
  /** HELP text by metric name. */
  readonly help: Map<string, string>;
  /** TYPE by metric name. */
  readonly types: Map<string, string>;
}

const canonical = (name: string, labels: Record<string, string> = {}) => {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? name : `${name}{${entries.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(',')}}`;
};

/** A small parser of the Prometheus text format (0.0.4): comments, samples, quoted label values with escapes. */
function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment !== null) {
      (comment[1] === 'HELP' ? help : types).set(comment[2]!, comment[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`Not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelText = sample[2] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let consumed = 0;
    for (let match = labelPattern.exec(labelText); match !== null; match = labelPattern.exec(labelText)) {
      labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
      consumed += match[0].length;
    }
    if (consumed !== labelText.length) throw new Error(`Bad labels: ${line}`);
    const key = canonical(sample[1]!, labels);
    if (samples.has(key)) throw new Error(`Duplicate series: ${key}`);
    samples.set(key, Number(sample[3]));
  }
  return { samples, help, types };
}

const value = (exposition: Exposition, name: string, labels: Record<string, string> = {}) => exposition.samples.get(canonical(name, labels));
const sumOf = (exposition: Exposition, name: string, match: Record<string, string> = {}) => {
  let total = 0;
  for (const [key, sample] of exposition.samples) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(match).every(([label, wanted]) => key.includes(`${label}=${JSON.stringify(wanted)}`))) total += sample;
  }
  return total;
};
const seriesOf = (exposition: Exposition, name: string) => [...exposition.samples.keys()].filter((key) => key === name || key.startsWith(`${name}{`));

const recipients = (messages: readonly Message[]) => messages.map((message) => String((message as { to: unknown }).to));
const countBy = <T>(items: readonly T[], key: (item: T) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

/** Counts `stats()` calls on a real queue. */
function countingStats(queue: MessageQueue): { queue: MessageQueue; calls: () => number } {
  let calls = 0;
  return {
    queue: new Proxy(queue, {
      get(target, property, receiver) {
        if (property === 'stats') {
          return () => {
            calls++;
            return target.stats();
          };
        }
        const member = Reflect.get(target, property, receiver) as unknown;
        return typeof member === 'function' ? member.bind(target) : member;
      },
    }),
    calls: () => calls,
  };
}

const shopKey = 'sc_shop_metrics_key_000000000000000000000000000';
const blogKey = 'sc_blog_metrics_key_000000000000000000000000000';

describe('createWorkerMetrics, end to end (config, HTTP intake, queue, processor, local folder)', () => {
  it('counts exactly what intake and the processor did, reports the queue as it is, and holds no recipient or key', async () => {
    const folder = newFolder();
    const file = path.join(folder, 'sentcopy.config.json');
    const config: WorkerConfig = {
      version: 1,
      destinations: { local: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
      projects: {
        shop: { destination: 'local', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(shopKey) }] },
        blog: { destination: 'local', channels: ['email'], api_keys: [{ sha256: hashApiKey(blogKey) }] },
      },
    };
    writeFileSync(file, JSON.stringify(config));
    const directory = await createConfigRuntime({ file, env: {}, pollIntervalMs: 60_000 });
    let clock = Date.now();
    const now = () => clock;
    const queue = await createEmbeddedQueue({ directory: newFolder(), now });
    const metrics = createWorkerMetrics({ queue, statsCacheMs: 0, now, isKnownProject: (id) => directory.project(id) !== undefined });
    const intake = createIntakeServer({ queue, directory, metrics, onEvent: (event) => metrics.observeIntake(event) });
    const url = await intake.listen(0);
    const post = (route: string, body: unknown, key: string | undefined) =>
      fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) }, body: JSON.stringify(body) });
    const scrape = async () => {
      const response = await fetch(`${url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(metrics.contentType);
      return parseExposition(await response.text());
    };

    try {
      const shop = sampleMessages({ projectId: 'shop', count: 30, seed: 11 });
      const invalid = shop.slice(0, 3).map((message, index) => ({ ...message, message_id: `broken-${index}`, to: 7 }));
      expect((await post('/v1/messages', [...shop, ...invalid], shopKey)).status).toBe(202);
      expect((await post('/v1/messages', shop.slice(0, 5), shopKey)).status).toBe(202); // all duplicates
      const blogAll = sampleMessages({ projectId: 'blog', count: 8, seed: 12 });
      const blogEmail = blogAll.filter((message) => message.channel === 'email');
      const blogOther = blogAll.filter((message) => message.channel !== 'email');
      expect(blogEmail.length).toBeGreaterThan(0);
      expect(blogOther.length).toBeGreaterThan(0);
      expect((await post('/v1/messages', blogAll, blogKey)).status).toBe(202);
      expect((await post('/v1/messages', shop.slice(0, 1), 'sc_not_a_key_at_all_0000000000000000000000000')).status).toBe(401);
      const gated = { ...sampleMessages({ projectId: 'shop', count: 1, seed: 13 })[0]!, message_id: 'gate-1' };
      expect((await post('/v1/archive', gated, shopKey)).status).toBe(201);
      expect((await post('/v1/archive', { ...gated, message_id: 'gate-2', to: 7 }, shopKey)).status).toBe(422);

      clock += 42_000;
      let scraped = await scrape();
      expect(value(scraped, 'sentcopy_queue_depth')).toBe(shop.length + blogEmail.length);
      expect(value(scraped, 'sentcopy_queue_in_flight')).toBe(0);
      expect(value(scraped, 'sentcopy_queue_oldest_pending_age_seconds')).toBe(42);
      expect(value(scraped, 'sentcopy_dead_letters')).toBe(0);
      for (const [channel, count] of countBy(shop, (message) => message.channel)) {
        expect(value(scraped, 'sentcopy_messages_accepted_total', { project: 'shop', channel, result: 'accepted' })).toBe(count);
      }
      expect(sumOf(scraped, 'sentcopy_messages_accepted_total', { project: 'shop', result: 'duplicate' })).toBe(5);
      expect(sumOf(scraped, 'sentcopy_messages_accepted_total', { project: 'blog', result: 'accepted' })).toBe(blogEmail.length);
      expect(sumOf(scraped, 'sentcopy_messages_rejected_total', { project: 'shop', reason: 'invalid' })).toBe(invalid.length + 1);
      for (const [channel, count] of countBy(blogOther, (message) => message.channel)) {
        expect(value(scraped, 'sentcopy_messages_rejected_total', { project: 'blog', channel, reason: 'channel_disabled' })).toBe(count);
      }
      expect(sumOf(scraped, 'sentcopy_messages_rejected_total')).toBe(invalid.length + 1 + blogOther.length);
      expect(value(scraped, 'sentcopy_http_requests_total', { route: '/v1/messages', status: '202' })).toBe(3);
      expect(value(scraped, 'sentcopy_http_requests_total', { route: '/v1/messages', status: '401' })).toBe(1);
      expect(value(scraped, 'sentcopy_http_requests_total', { route: '/v1/archive', status: '201' })).toBe(1);
      expect(value(scraped, 'sentcopy_http_requests_total', { route: '/v1/archive', status: '422' })).toBe(1);
      expect(value(scraped, 'sentcopy_gate_duration_seconds_count', { result: 'archived' })).toBe(1);
      expect((await fetch(`${url}/v1/dead-letters`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect(value(await scrape(), 'sentcopy_http_requests_total', { route: '/v1/dead-letters', status: '401' })).toBe(1);
      expect(value(scraped, 'sentcopy_messages_archived_total', { project: 'shop', channel: gated.channel })).toBe(1);

      const processor = createProcessor({
        queue,
        archiverFor: (project) => directory.archiverFor(project, 'queued'),
        now,
        onOutcome: (outcome) => metrics.observeOutcome(outcome, { destination: 'local' }),
      });
      await processor.processAvailable();

      scraped = await scrape();
      const archivedShop = countBy([...shop, gated], (message) => message.channel);
      for (const [channel, count] of archivedShop) expect(value(scraped, 'sentcopy_messages_archived_total', { project: 'shop', channel })).toBe(count);
      expect(value(scraped, 'sentcopy_messages_archived_total', { project: 'blog', channel: 'email' })).toBe(blogEmail.length);
      const objects = storedKeys(path.join(folder, 'archive'));
      expect(objects).toHaveLength(shop.length + blogEmail.length + 1);
      // One histogram observation per write from the queue (the gate write is timed by the gate histogram).
      expect(value(scraped, 'sentcopy_archive_duration_seconds_count', { destination: 'local' })).toBe(shop.length + blogEmail.length);
      expect(value(scraped, 'sentcopy_archive_duration_seconds_bucket', { destination: 'local', le: '+Inf' })).toBe(shop.length + blogEmail.length);
      expect(value(scraped, 'sentcopy_queue_depth')).toBe(0);
      expect(value(scraped, 'sentcopy_queue_oldest_pending_age_seconds')).toBe(0);
      // The two earlier scrapes; a scrape is counted once it has answered.
      expect(value(scraped, 'sentcopy_http_requests_total', { route: '/metrics', status: '200' })).toBe(2);
      expect(sumOf(scraped, 'sentcopy_archive_failures_total')).toBe(0);
      expect(sumOf(scraped, 'sentcopy_dead_lettered_total')).toBe(0);

      // Every metric has HELP and TYPE; names carry their unit.
      const names = new Set([...scraped.samples.keys()].map((key) => key.replace(/\{.*$/, '').replace(/_(bucket|sum|count)$/, '')));
      for (const name of names) {
        expect(name).toMatch(/^sentcopy_/);
        expect(scraped.help.get(name)?.length ?? 0).toBeGreaterThan(10);
        expect(scraped.types.has(name)).toBe(true);
        if (scraped.types.get(name) === 'counter') expect(name).toMatch(/_total$/);
        if (scraped.types.get(name) === 'histogram') expect(name).toMatch(/_seconds$/);
      }

      const text = await metrics.render();
      for (const recipient of recipients([...shop, ...blogAll, gated])) expect(text).not.toContain(recipient);
      expect(text).not.toContain(shopKey);
      expect(text).not.toContain(hashApiKey(shopKey));
    } finally {
      await intake.close({ graceMs: 100 });
      await directory.close();
      await queue.close();
    }
  }, 30_000);
});

describe('createWorkerMetrics against S3 (through a fault proxy)', () => {
  it('counts every failed attempt and scheduled retry exactly, and one histogram observation per stored object', async () => {
    const destination = createS3Destination(s3.settings({ through: 'proxy' }));
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination, retry: false });
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const metrics = createWorkerMetrics({ queue, statsCacheMs: 0 });
    const messages = sampleMessages({ projectId: 'acme', count: 20, seed: 21 });
    await queue.enqueue(messages.map((message) => queued(message)));
    const retryPolicy = resolveRetryPolicy({ outage: { quickInitialDelayMs: 20, quickMaxDelayMs: 100, slowIntervalMs: 200, slowJitterRatio: 0.1, maxAgeMs: 60_000 } });
    const internalErrors = s3.proxy.inject(faults.respond(s3ErrorResponse('InternalError')), { times: 6, match: (request) => request.method === 'PUT' });
    const putsBefore = s3.server.requests.filter((request) => request.method === 'PUT' && request.status === 200).length;
    const processor = createProcessor({ queue, archiverFor: () => archiver, retryPolicy, idleWaitMs: 20, concurrencyPerDestination: 4, onOutcome: (outcome) => metrics.observeOutcome(outcome, { destination: 'cloud' }) });
    processor.start();
    try {
      await waitForEmptyQueue(queue, 30_000);
    } finally {
      await processor.stop();
    }
    expect(internalErrors.hits).toBe(6);
    const scraped = parseExposition(await metrics.render());
    expect(value(scraped, 'sentcopy_archive_failures_total', { project: 'acme', kind: 'unreachable' })).toBe(6);
    expect(value(scraped, 'sentcopy_retries_scheduled_total', { project: 'acme', kind: 'unreachable' })).toBe(6);
    expect(sumOf(scraped, 'sentcopy_messages_archived_total', { project: 'acme' })).toBe(messages.length);
    const storedPuts = s3.server.requests.filter((request) => request.method === 'PUT' && request.status === 200).length - putsBefore;
    expect(storedPuts).toBe(messages.length);
    expect(value(scraped, 'sentcopy_archive_duration_seconds_count', { destination: 'cloud' })).toBe(storedPuts);
    expect(value(scraped, 'sentcopy_dead_letters')).toBe(0);
    const text = await metrics.render();
    expect(text).not.toContain(goodCredentials.secretAccessKey);
    expect(text).not.toContain(goodCredentials.accessKeyId);
    for (const recipient of recipients(messages)) expect(text).not.toContain(recipient);
    await queue.close();
    await destination.close?.();
  }, 40_000);
});

describe('createWorkerMetrics, queue gauges', () => {
  it('reports depth, dead letters and the oldest message age from the queue, read at most once per cache period', async () => {
    let clock = 1_700_000_000_000;
    const real = await createEmbeddedQueue({ directory: newFolder(), now: () => clock });
    const { queue, calls } = countingStats(real);
    const metrics = createWorkerMetrics({ queue, statsCacheMs: 5_000, now: () => clock });
    const messages = sampleMessages({ projectId: 'shop', count: 7 });
    await real.enqueue(messages.map((message) => queued(message)));
    clock += 1_500;
    await real.enqueue([{ project: 'shop', messageId: 'broken-1', payload: '{"version":1' }]);
    clock += 90_000;

    const scrapes = await Promise.all(Array.from({ length: 25 }, () => metrics.render()));
    expect(calls()).toBe(1);
    for (const text of scrapes) {
      const scraped = parseExposition(text);
      expect(value(scraped, 'sentcopy_queue_depth')).toBe(8);
      expect(value(scraped, 'sentcopy_queue_oldest_pending_age_seconds')).toBe(91.5);
    }
    clock += 4_000;
    await metrics.render();
    expect(calls()).toBe(1);

    // Dead-letter the broken one with a real processor.
    const archiver = createArchiver({ recipientKey: 'sentcopy-test-recipient-key', destination: createFsDestination({ root: newFolder() }), retry: false });
    const processor = createProcessor({ queue: real, archiverFor: () => archiver, now: () => clock, onOutcome: (outcome) => metrics.observeOutcome(outcome) });
    await processor.processAvailable();
    clock += 1_001;
    const after = parseExposition(await metrics.render());
    expect(calls()).toBe(2);
    expect(value(after, 'sentcopy_queue_depth')).toBe(0);
    expect(value(after, 'sentcopy_dead_letters')).toBe(1);
    expect(value(after, 'sentcopy_dead_lettered_total', { project: 'shop', kind: 'invalid' })).toBe(1);
    expect(sumOf(after, 'sentcopy_messages_archived_total')).toBe(7);

    // A closed queue does not break the scrape: the gauges keep their last values and the failure is counted.
    await real.close();
    clock += 10_000;
    const closed = parseExposition(await metrics.render());
    expect(value(closed, 'sentcopy_queue_stats_failures_total')).toBe(1);
    expect(value(closed, 'sentcopy_dead_letters')).toBe(1);
  });
});

describe('createWorkerMetrics, label safety', () => {
  it('caps project and destination label values, and maps unknown projects, reasons, routes and statuses to fixed values', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const known = new Set(['shop', 'blog']);
    const metrics = createWorkerMetrics({ queue, maxProjects: 3, maxDestinations: 2, isKnownProject: (id) => known.has(id) });
    for (let index = 0; index < 50; index++) metrics.observeIntake({ type: 'rejected', project: `made-up-${index}`, reason: 'invalid' });
    metrics.observeIntake({ type: 'rejected', reason: 'unauthorized' });
    metrics.observeIntake({ type: 'rejected', project: 'shop', channel: 'sms', reason: 'not-a-reason' as 'invalid' });
    metrics.observeIntake({ type: 'request', route: '/v1/messages?token=abc', status: 401 });
    metrics.observeIntake({ type: 'request', route: '/etc/passwd', status: 404 });
    metrics.observeIntake({ type: 'request', route: '/v1/archive', status: 9_999 });
    for (const name of ['a', 'b', 'c', 'd']) metrics.setDestinationHealth(name, name !== 'b');
    metrics.observeReload('refused');
    let scraped = parseExposition(await metrics.render());
    expect(seriesOf(scraped, 'sentcopy_messages_rejected_total')).toHaveLength(3);
    expect(value(scraped, 'sentcopy_messages_rejected_total', { project: 'other', channel: 'unknown', reason: 'invalid' })).toBe(50);
    expect(value(scraped, 'sentcopy_messages_rejected_total', { project: 'unknown', channel: 'unknown', reason: 'unauthorized' })).toBe(1);
    expect(value(scraped, 'sentcopy_messages_rejected_total', { project: 'shop', channel: 'sms', reason: 'other' })).toBe(1);
    expect(value(scraped, 'sentcopy_http_requests_total', { route: 'other', status: '401' })).toBe(1);
    expect(value(scraped, 'sentcopy_http_requests_total', { route: 'other', status: '404' })).toBe(1);
    expect(value(scraped, 'sentcopy_http_requests_total', { route: '/v1/archive', status: 'other' })).toBe(1);
    expect(value(scraped, 'sentcopy_destination_healthy', { destination: 'a' })).toBe(1);
    expect(value(scraped, 'sentcopy_destination_healthy', { destination: 'b' })).toBe(0);
    // 'c' and 'd' came after the cap: both write the shared `other` series (last one wins for a gauge).
    expect(value(scraped, 'sentcopy_destination_healthy', { destination: 'other' })).toBe(1);
    expect(seriesOf(scraped, 'sentcopy_destination_healthy')).toHaveLength(3);
    expect(value(scraped, 'sentcopy_config_reloads_total', { result: 'refused' })).toBe(1);
    expect(value(scraped, 'sentcopy_config_reloads_total', { result: 'applied' })).toBe(0);
    const text = await metrics.render();
    expect(text).not.toContain('made-up');
    expect(text).not.toContain('token=abc');
    expect(text).not.toContain('passwd');

    metrics.removeDestination('b');
    scraped = parseExposition(await metrics.render());
    expect(value(scraped, 'sentcopy_destination_healthy', { destination: 'b' })).toBeUndefined();

    // Without isKnownProject, the first maxProjects ids get series of their own, the rest share `other`.
    const capped = createWorkerMetrics({ queue, maxProjects: 3 });
    for (let index = 0; index < 50; index++) capped.observeIntake({ type: 'accepted', project: `p-${index}`, channel: 'email' });
    const cappedScrape = parseExposition(await capped.render());
    expect(seriesOf(cappedScrape, 'sentcopy_messages_accepted_total')).toHaveLength(4);
    expect(value(cappedScrape, 'sentcopy_messages_accepted_total', { project: 'other', channel: 'email', result: 'accepted' })).toBe(47);
    await queue.close();
  });

  it('refuses bad options with the field named', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    expect(() => createWorkerMetrics({ queue, maxProjects: 0 })).toThrow(/maxProjects must be a positive integer/);
    expect(() => createWorkerMetrics({ queue, statsCacheMs: -1 })).toThrow(/statsCacheMs/);
    await queue.close();
  });
});
