// Channels beyond the four in the metrics: declared ones are labelled by name, the rest share `other`.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedQueue, createWorkerMetrics, hashApiKey, runWorker, type RunningWorker } from '../src/index.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('metrics-channels');
const apiKey = 'sc_metrics_channels_key_000000000000000000000000';
let worker: RunningWorker;

beforeAll(async () => {
  const folder = newFolder();
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      destinations: { local: { type: 'fs', root: path.join(folder, 'archive'), acknowledge_personal_data: true } },
      projects: { shop: { destination: 'local', channels: ['email', 'rcs', 'in_app'], layout: 'sentcopy-unkeyed', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    }),
  );
  worker = await runWorker({ configFile, port: 0, prepareThreads: 0, logger: () => {} });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
});

const message = (channel: string, id: string) => ({ version: 1, channel, message_id: id, project_id: 'shop', sent_at: 1_764_883_780_000, to: 'user-42', body: 'hello' });

/** The value of one sample line of the exposition, by its exact series text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('worker metrics: channels beyond the four', () => {
  it('labels channels the configuration declares by their name, and counts undeclared ones under other, never by the name sent', async () => {
    const batch = [message('rcs', 'rcs-1'), message('rcs', 'rcs-2'), message('in_app', 'in-app-1'), message('voice', 'voice-1'), message('made_up_9', 'made-up-1')];
    const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
    expect(response.status).toBe(202);
    expect(((await response.json()) as { results: { status: string }[] }).results.map((result) => result.status)).toEqual(['accepted', 'accepted', 'accepted', 'rejected', 'rejected']);
    let text = '';
    const deadline = Date.now() + 30_000;
    for (;;) {
      text = await (await fetch(`${worker.url}/metrics`)).text();
      if ((sample(text, 'sentcopy_messages_archived_total{project="shop",channel="rcs"}') ?? 0) >= 2 && (sample(text, 'sentcopy_messages_archived_total{project="shop",channel="in_app"}') ?? 0) >= 1) break;
      if (Date.now() > deadline)
        throw new Error(
          `not archived within 30 s:\n${text
            .split('\n')
            .filter((line) => line.startsWith('sentcopy_messages_'))
            .join('\n')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sample(text, 'sentcopy_messages_accepted_total{project="shop",channel="rcs",result="accepted"}')).toBe(2);
    expect(sample(text, 'sentcopy_messages_accepted_total{project="shop",channel="in_app",result="accepted"}')).toBe(1);
    expect(sample(text, 'sentcopy_messages_archived_total{project="shop",channel="rcs"}')).toBe(2);
    expect(sample(text, 'sentcopy_messages_archived_total{project="shop",channel="in_app"}')).toBe(1);
    expect(sample(text, 'sentcopy_messages_rejected_total{project="shop",channel="other",reason="channel_disabled"}')).toBe(2);
    expect(text).not.toContain('channel="unknown"');
    expect(text).not.toContain('voice');
    expect(text).not.toContain('made_up_9');
  }, 60_000);

  it('bounds the names it labels, and without a declaration counts every channel beyond the four as other', async () => {
    const queue = await createEmbeddedQueue({ directory: newFolder() });
    try {
      const declared = createWorkerMetrics({ queue, maxChannels: 2, isDeclaredChannel: (name) => name !== 'not_declared' });
      for (const name of ['rcs', 'in_app', 'voice', 'webhook', 'not_declared', 'Bad Name!']) declared.observeIntake({ type: 'accepted', project: 'shop', channel: name });
      declared.observeIntake({ type: 'accepted', project: 'shop', channel: 'sms' });
      const text = await declared.render();
      expect(sample(text, 'sentcopy_messages_accepted_total{project="shop",channel="rcs",result="accepted"}')).toBe(1);
      expect(sample(text, 'sentcopy_messages_accepted_total{project="shop",channel="in_app",result="accepted"}')).toBe(1);
      expect(sample(text, 'sentcopy_messages_accepted_total{project="shop",channel="sms",result="accepted"}')).toBe(1);
      // voice and webhook come after the cap of 2; not_declared and the invalid name are not declared.
      expect(sample(text, 'sentcopy_messages_accepted_total{project="shop",channel="other",result="accepted"}')).toBe(4);
      expect(text.match(/^sentcopy_messages_accepted_total\{/gm)).toHaveLength(4);

      const undeclared = createWorkerMetrics({ queue });
      undeclared.observeIntake({ type: 'accepted', project: 'shop', channel: 'rcs' });
      undeclared.observeIntake({ type: 'accepted', project: 'shop', channel: 'email' });
      const plain = await undeclared.render();
      expect(sample(plain, 'sentcopy_messages_accepted_total{project="shop",channel="other",result="accepted"}')).toBe(1);
      expect(sample(plain, 'sentcopy_messages_accepted_total{project="shop",channel="email",result="accepted"}')).toBe(1);
      expect(() => createWorkerMetrics({ queue, maxChannels: 0 })).toThrow(/maxChannels must be a positive integer/);
    } finally {
      await queue.close();
    }
  });
});
