import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'sentcopy-cli-startup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Packages only some commands use: the worker must not carry them in its memory. */
const heavy = ['hono', '@hono/node-server', 'sanitize-html', 'nodemailer', 'mailparser', 'fflate', 'yauzl', 'lz4js', '@inquirer/prompts'];

// A module resolve hook (Node's own customization hooks, on their thread) that writes every package
// name the program imports to a file, so the test sees what a real run loads.
const hooks = path.join(work, 'hooks.mjs');
const register = path.join(work, 'register.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (!/^(node:|file:|data:|\\.|\\/)/.test(specifier)) appendFileSync(process.env.SENTCOPY_IMPORTS_LOG, specifier + '\\n');
  return next(specifier, context);
}
`,
);
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

/** Runs the CLI with `args` until `done(stderr)` says it is far enough (then stops it) or it exits; returns the packages it imported. */
async function importsOf(name: string, args: string[], done: (stderr: string) => boolean = () => false): Promise<Set<string>> {
  const log = path.join(work, `${name}.log`);
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['--import', pathToFileURL(register).href, bin, ...args], { cwd: work, env: { ...process.env, SENTCOPY_IMPORTS_LOG: log }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (done(stderr)) child.kill('SIGTERM');
    });
    child.once('exit', () => resolve());
  });
  return new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
}

describe('what the CLI loads at start', () => {
  it('a running worker imports none of the viewer, export, raw MIME or prompt packages; the command that needs one loads it', async () => {
    const worker = await importsOf('worker', ['worker', '--port', '0', '--json'], (stderr) => stderr.includes('"url"'));
    // It ran: the worker's own packages were imported.
    expect(worker.has('@sentcopy/worker')).toBe(true);
    expect(heavy.filter((name) => worker.has(name))).toEqual([]);

    // The hook sees a lazily loaded package: verify-bundle loads yauzl when it opens a bundle.
    const garbage = path.join(work, 'garbage.zip');
    writeFileSync(garbage, 'not a zip');
    const verify = await importsOf('verify-bundle', ['verify-bundle', garbage, '--json']);
    expect(verify.has('yauzl')).toBe(true);
  }, 60_000);
});
