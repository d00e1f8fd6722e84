import { createArchiver, sampleMessages } from '@sentcopy/core';
import { createFsDestination } from '@sentcopy/destination-fs';
import { describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createProcessor, createWorkerMetrics } from '../src/index.js';
import { queued, waitForEmptyQueue } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('metrics');

/** Parses Prometheus text into `name{labels}` → value (HELP/TYPE lines skipped). */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('createWorkerMetrics', () => {
  it('counts exactly what the processor did, and reports the queue as it is', async () => {
    let clock = 1_700_000_000_000;
    const queue = await createEmbeddedQueue({ directory: newFolder(), now: () => clock });
    const metrics = createWorkerMetrics({ queue, statsCacheMs: 0, now: () => clock });
    const messages = sampleMessages({ projectId: 'shop', count: 24 });
    await queue.enqueue(messages.map((message) => queued(message)));
    await queue.enqueue([{ project: 'shop', messageId: 'broken-1', payload: '{"version":1' }, { project: 'shop', messageId: 'broken-2', payload: JSON.stringify({ ...messages[0], message_id: 'broken-2', to: 7 }) }]);
    clock += 90_000;
    let samples = parseExposition(await metrics.render());
    expect(samples.get('sentcopy_queue_depth')).toBe(26);
    expect(samples.get('sentcopy_queue_oldest_pending_age_seconds')).toBe(90);
    expect(samples.get('sentcopy_dead_letters')).toBe(0);

    const destination = createFsDestination({ root: newFolder() });
    const archiver = createArchiver({ destination, retry: false });
    const processor = createProcessor({ queue, archiverFor: () => archiver, idleWaitMs: 20, now: () => clock, onOutcome: (outcome) => metrics.observeOutcome(outcome) });
    processor.start();
    await waitForEmptyQueue(queue, 20_000);
    await processor.stop();

    samples = parseExposition(await metrics.render());
    const perChannel = (channel: string) => messages.filter((message) => message.channel === channel).length;
    for (const channel of ['email', 'sms', 'push', 'whatsapp']) {
      expect(samples.get(`sentcopy_messages_archived_total{project="shop",channel="${channel}"}`)).toBe(perChannel(channel));
    }
    expect(samples.get('sentcopy_dead_lettered_total{project="shop",kind="invalid"}')).toBe(2);
    expect(samples.get(`sentcopy_archive_duration_seconds_count{destination="${destination.id}"}`)).toBe(24);
    expect(samples.get('sentcopy_queue_depth')).toBe(0);
    expect(samples.get('sentcopy_dead_letters')).toBe(2);
    const text = await metrics.render();
    for (const message of messages) expect(text).not.toContain(String(message.to));
    await queue.close();
  });

  it('caps the number of project label values, so made-up projects cannot grow the series without bound', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    const metrics = createWorkerMetrics({ queue, maxProjects: 3 });
    for (let index = 0; index < 50; index++) metrics.observeIntake({ type: 'rejected', project: `made-up-${index}`, reason: 'invalid' });
    const samples = parseExposition(await metrics.render());
    const series = [...samples.keys()].filter((name) => name.startsWith('sentcopy_messages_rejected_total'));
    expect(series).toHaveLength(4);
    expect(samples.get('sentcopy_messages_rejected_total{project="other",channel="unknown",reason="invalid"}')).toBe(47);
    metrics.observeReload('refused');
    metrics.setDestinationHealth('local', false);
    const after = parseExposition(await metrics.render());
    expect(after.get('sentcopy_config_reloads_total{result="refused"}')).toBe(1);
    expect(after.get('sentcopy_destination_healthy{destination="local"}')).toBe(0);
    await queue.close();
  });
});
