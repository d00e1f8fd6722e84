// Shared by the destination health tests: a real worker (runWorker) on a configuration file in a temp folder.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Message } from '@sentcopy/core';
import { hashApiKey, runWorker, type LogEntry, type RunningWorker, type RunWorkerOptions, type WorkerConfig } from '../src/index.js';

export const apiKey = 'sc_health_test_key_0000000000000000000000000000';
export const apiKeyHash = hashApiKey(apiKey);

/** Writes `config` as the folder's `sentcopy.config.json` and returns its path. */
export function writeWorkerConfig(folder: string, config: WorkerConfig): string {
  const file = path.join(folder, 'sentcopy.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** A started worker with its log entries. */
export interface StartedWorker {
  readonly worker: RunningWorker;
  readonly logs: LogEntry[];
  /** POSTs a batch with the test API key; resolves with the HTTP status. */
  send(messages: readonly Message[]): Promise<number>;
  /** `GET /readyz`: status and body. */
  readiness(): Promise<{ status: number; body: { ready: boolean; checks: Record<string, string> } }>;
  /** `GET /metrics` text. */
  metrics(): Promise<string>;
  /** Message ids whose last logged retry is in the slow phase, scheduled at least `aheadMs` after it was logged. */
  parked(aheadMs: number): Set<string>;
}

export async function startWorker(configFile: string, options: Partial<RunWorkerOptions> = {}): Promise<StartedWorker> {
  const logs: LogEntry[] = [];
  const loggedAt = new WeakMap<LogEntry, number>();
  const worker = await runWorker({
    configFile,
    port: 0,
    prepareThreads: 0,
    ...options,
    logger: (entry) => {
      loggedAt.set(entry, Date.now());
      logs.push(entry);
    },
  });
  return {
    worker,
    logs,
    async send(messages) {
      const response = await fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
      await response.arrayBuffer();
      return response.status;
    },
    async readiness() {
      const response = await fetch(`${worker.url}/readyz`);
      return { status: response.status, body: (await response.json()) as { ready: boolean; checks: Record<string, string> } };
    },
    metrics: async () => (await fetch(`${worker.url}/metrics`)).text(),
    parked(aheadMs) {
      const last = new Map<string, LogEntry>();
      for (const entry of logs) if (entry.event === 'message.retry_scheduled') last.set(String(entry.messageId), entry);
      const ids = new Set<string>();
      for (const [id, entry] of last) {
        if (entry.phase === 'slow' && Date.parse(String(entry.retryAt)) - (loggedAt.get(entry) ?? 0) >= aheadMs) ids.add(id);
      }
      return ids;
    },
  };
}

/** The value of one sample of a metric in Prometheus text, or `undefined` when absent. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
