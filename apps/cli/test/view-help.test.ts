import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const helpOf = async (...command: string[]) => {
  const run = await runCli([...command, '--help'], { cwd: tmpdir() });
  expect(run.code).toBe(0);
  return run.stdout;
};

describe("the help of view's subcommands", () => {
  it.each([[['view', 'log']], [['view', 'accounts', 'add']], [['view', 'accounts', 'ls']], [['view', 'accounts', 'rm']]])('%j lists the options of view it reads (configuration, cluster, --json), not the server’s', async (command) => {
    const help = await helpOf(...command);
    // The section alone: the text after it may name other options in prose.
    const start = help.indexOf('Global Options:');
    expect(start).toBeGreaterThan(0);
    const global = help.slice(start, help.indexOf('\n\n', start) === -1 ? undefined : help.indexOf('\n\n', start));
    for (const option of ['--config <file>', '--nats <url>', '--nats-name <name>']) expect(global).toContain(option);
    expect(global).toMatch(/--json\s+print JSON, for scripts/);
    for (const option of ['--host', '--port', '--tls-cert', '--tls-key', '--insecure-bind', '--allow-host', '--index', '--refresh', '--token']) expect(global).not.toContain(option);
  });

  it("leaves view's own help whole", async () => {
    const help = await helpOf('view');
    for (const option of ['--host <address>', '--port <number>', '--tls-cert <file>', '--refresh <seconds>']) expect(help).toContain(option);
    expect(help).toMatch(/--json\s+print one JSON line \{"url","token"\}/);
  });
});
