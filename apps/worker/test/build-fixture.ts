import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
// Inside the package's node_modules, so the bundle resolves @sentcopy/core, better-sqlite3… as the package does.
const outputFolder = path.join(packageRoot, 'node_modules', '.cache', 'sentcopy-worker-fixtures');

/**
 * Compiles a TypeScript fixture from `test/fixtures/` (with the worker's own `src` bundled in,
 * dependencies left as imports) into a JavaScript file a child `node` process can run. Built
 * fresh by each test file, so a child never runs a stale build; remove it with {@link removeFixture}.
 */
export async function buildFixture(name: string): Promise<string> {
  mkdirSync(outputFolder, { recursive: true });
  const outfile = path.join(outputFolder, `${name}-${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
  await build({
    entryPoints: [path.join(packageRoot, 'test', 'fixtures', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
  });
  return outfile;
}

/** Removes a file made by {@link buildFixture}. */
export function removeFixture(file: string | undefined): void {
  if (file !== undefined) rmSync(file, { force: true });
}
