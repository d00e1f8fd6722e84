import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import type { Message } from '@sentcopy/core';
import { hashApiKey, type WorkerConfig } from '../src/index.js';

/** A real local HTTP server standing in for the alert webhook; keeps every JSON body it receives. */
export interface WebhookReceiver {
  readonly url: string;
  readonly received: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: Record<string, unknown>[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The notifier keeps its connection alive; close would otherwise wait for it to idle out.
        server.closeAllConnections();
      }),
  };
}

export const apiKey = 'sc_queue_faults_test_key_0000000000000000000000';

/** Writes a configuration: one local-folder destination `archive` (under `folder`), project `shop`, the alert webhook from $HOOK. */
export function writeConfig(folder: string, options: { webhook?: boolean } = {}): { configFile: string; archiveRoot: string } {
  const config: WorkerConfig = {
    version: 1,
    destinations: { archive: { type: 'fs', root: 'archive', acknowledge_personal_data: true } },
    projects: { shop: { destination: 'archive', channels: ['email', 'sms', 'push', 'whatsapp'], api_keys: [{ sha256: hashApiKey(apiKey) }] } },
    ...(options.webhook === false ? {} : { alerts: { webhook_url: { env: 'HOOK' } } }),
  };
  const configFile = path.join(folder, 'sentcopy.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  return { configFile, archiveRoot: path.join(folder, 'archive') };
}

/** POSTs a batch to a worker's intake. */
export async function postBatch(url: string, messages: readonly Message[]): Promise<{ status: number; body: { error?: { code: string; problem?: string }; accepted?: number } }> {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(messages) });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; problem?: string }; accepted?: number } };
}

export async function readyz(url: string): Promise<{ status: number; body: { ready: boolean; checks: Record<string, string> } }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; checks: Record<string, string> } };
}

/** The leaf pages of a table (or index) of a stopped queue's store, read with SQLite's dbstat. */
export function leafPages(file: string, table: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[string], { pageno: number }>("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno")
      .all(table)
      .map((row) => row.pageno);
  } finally {
    db.close();
  }
}

/**
 * Writes `length` bytes of garbage into page `page` (1-based, 4 KiB pages) of a store file, at
 * `offset` inside the page. The garbage is a fixed pattern, so a test damages the same way each run.
 */
export function damagePage(file: string, page: number, offset = 0, length = 4096 - offset): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, (page - 1) * 4096 + offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Fresh temp folders, removed after the test file. Like `tempFolders` of temp-folders.ts, with time
 * to remove the thousands of archived objects of a soak run on a busy machine.
 */
export function tempFolders(prefix: string): () => string {
  const folders: string[] = [];
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  }, 120_000);
  return () => {
    const folder = mkdtempSync(path.join(tmpdir(), `sentcopy-worker-${prefix}-`));
    folders.push(folder);
    return folder;
  };
}
