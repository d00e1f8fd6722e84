import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { sampleMessages } from '@sentcopy/core';
import { describe, expect, it } from 'vitest';
import { tempFolders } from './ingest-fixture.js';
import { runCli } from './run-cli.js';

const newFolder = tempFolders('ingest-unreachable');

/** A loopback port nothing listens on: bound once to learn a free one, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('sentcopy ingest without a worker', () => {
  it('says the connection was refused, in words, while it retries and when it gives up', async () => {
    const work = newFolder();
    writeFileSync(
      path.join(work, 'messages.jsonl'),
      sampleMessages({ projectId: 'shop', count: 2 })
        .map((message) => JSON.stringify(message))
        .join('\n'),
    );
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(['ingest', 'messages.jsonl', '--max-retries', '1'], { cwd: work, env: { SENTCOPY_KEY: 'sc_unreachable_test', SENTCOPY_WORKER_URL: url } });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('the worker could not be reached (connection refused: nothing listens there (ECONNREFUSED)); retrying');
    expect(run.stderr).toContain(`Cannot reach the worker at ${url} (connection refused: nothing listens there (ECONNREFUSED))`);
    expect(run.stderr).not.toContain('TypeError');
    expect(run.stderr).not.toContain('answered');
  });
});
