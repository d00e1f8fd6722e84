// The intake's byte budget: large requests beyond it wait their turn (unread), none is lost, and it never holds more than the budget.
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createByteBudget } from '../src/intake/byte-budget.js';
import { hashApiKey, runWorker } from '../src/index.js';
import { storedKeys } from './helpers.js';
import { tempFolders } from './temp-folders.js';

const newFolder = tempFolders('intake-byte-budget');

describe('intake byte budget', () => {
  it('grants in arrival order, never holds more than the limit, and lets one share larger than the limit run alone', async () => {
    const budget = createByteBudget(10);
    const order: string[] = [];
    const releases = new Map<string, () => void>();
    const take = (name: string, bytes: number) =>
      budget.take(bytes).then((release) => {
        order.push(name);
        releases.set(name, release);
        expect(budget.held() <= 10 || order.length === 1 || bytes > 10).toBe(true);
      });
    const all = [take('a', 6), take('b', 6), take('c', 30), take('d', 1)];
    await new Promise((resolve) => setImmediate(resolve));
    expect({ order: [...order], held: budget.held(), waiting: budget.waiting() }).toEqual({ order: ['a'], held: 6, waiting: 3 });
    releases.get('a')!();
    await new Promise((resolve) => setImmediate(resolve));
    // d would fit beside b, but c came first: first come, first served.
    expect({ order: [...order], held: budget.held() }).toEqual({ order: ['a', 'b'], held: 6 });
    releases.get('b')!();
    await new Promise((resolve) => setImmediate(resolve));
    expect({ order: [...order], held: budget.held() }).toEqual({ order: ['a', 'b', 'c'], held: 30 });
    releases.get('c')!();
    releases.get('c')!(); // twice: counted once
    await Promise.all(all);
    expect({ order, held: budget.held() }).toEqual({ order: ['a', 'b', 'c', 'd'], held: 1 });
    releases.get('d')!();
    expect(budget.held()).toBe(0);
  });

  it('a request whose client hangs up while it waits for the budget does not hold the budget: the requests after it are answered', async () => {
    const folder = newFolder();
    const configFile = path.join(folder, 'sentcopy.config.json');
    const apiKey = 'sc_byte_budget_hangup_key_0000000000000000000';
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: { local: { type: 'fs', root: path.join(folder, 'archive'), acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['sms'], layout: 'sentcopy-unkeyed', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      }),
    );
    // A budget of one byte: one body at a time.
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, logger: () => {}, limits: { maxBytesInProgress: 1 } });
    const { port } = new URL(worker.url);
    const body = (id: string) => JSON.stringify([{ version: 1, channel: 'sms', message_id: id, project_id: 'shop', sent_at: Date.UTC(2026, 0, 1), to: '+15550100100', body: 'hi' }]);
    /** Sends the headers and `sent` bytes of the body, and leaves the rest for later. */
    const partial = (id: string, sent: number): Promise<{ socket: Socket; rest: string }> =>
      new Promise((resolve) => {
        const text = body(id);
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text.slice(0, sent)}`);
          resolve({ socket, rest: text.slice(sent) });
        });
        socket.on('error', () => {});
      });
    try {
      // The first holds the budget with half a body; the second waits behind it and hangs up.
      const first = await partial('first', 10);
      const answered = new Promise<string>((resolve) => {
        let text = '';
        first.socket.on('data', (chunk) => {
          text += chunk.toString();
          if (text.includes('"results"')) resolve(text);
        });
      });
      const second = await partial('second', 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      second.socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 300));
      first.socket.write(first.rest);
      expect(await answered).toMatch(/^HTTP\/1.1 202/);
      first.socket.destroy();
      // The hung-up request's turn came and went (readBody answers at once for a closed request): this one is answered.
      const third = await Promise.race([
        fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: body('third') }).then((response) => response.status),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000)),
      ]);
      expect(third).toBe(202);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('a real worker with a budget of two large bodies takes 16 sent at once: every one accepted and stored', async () => {
    const folder = newFolder();
    const root = path.join(folder, 'archive');
    const configFile = path.join(folder, 'sentcopy.config.json');
    const apiKey = 'sc_byte_budget_key_000000000000000000000000000';
    writeFileSync(
      configFile,
      JSON.stringify({
        version: 1,
        destinations: { local: { type: 'fs', root, acknowledge_personal_data: true } },
        projects: { shop: { destination: 'local', channels: ['email'], layout: 'sentcopy-unkeyed', api_keys: [{ sha256: hashApiKey(apiKey) }] } },
      }),
    );
    const bodies = Array.from({ length: 16 }, (_, index) =>
      JSON.stringify([
        {
          version: 1,
          channel: 'email',
          message_id: `big-${index}`,
          project_id: 'shop',
          sent_at: Date.UTC(2026, 0, 1),
          to: 'ana@example.net',
          attachments: [{ file_name: 'a.pdf', content_type: 'application/pdf', bytes: randomBytes(700_000).toString('base64') }],
        },
      ]),
    );
    const worker = await runWorker({ configFile, port: 0, prepareThreads: 0, logger: () => {}, limits: { maxBodyBytes: 1_000_000, maxBytesInProgress: 2_000_000 } });
    try {
      const answers = await Promise.all(
        bodies.map((body) =>
          fetch(`${worker.url}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body }).then(async (response) => [
            response.status,
            ((await response.json()) as { accepted: number }).accepted,
          ]),
        ),
      );
      expect(answers).toEqual(bodies.map(() => [202, 1]));
      const deadline = Date.now() + 60_000;
      while (storedKeys(root).length < 16 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(storedKeys(root)).toHaveLength(16);
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
