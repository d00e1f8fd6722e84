import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
// Inside the package's node_modules, so the bundle resolves @sentcopy/core, better-sqlite3… as the package does.
const outputFolder = path.join(packageRoot, 'node_modules', '.cache', 'sentcopy-worker-fixtures');

/**
 * Compiles a TypeScript fixture from `test/fixtures/` (with the worker's own `src` bundled in,
 * dependencies left as imports) into a JavaScript file a child `node` process can run, in a folder
 * of its own beside the worker's write-thread entry (`write-thread.js`), as the package's `dist`
 * has it. Built fresh by each test file, so a child never runs a stale build; remove it with
 * {@link removeFixture}.
 */
export async function buildFixture(name: string): Promise<string> {
  const folder = path.join(outputFolder, `${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(folder, { recursive: true });
  // Under node_modules no package.json of the worker's applies: this one makes the .js files ES modules.
  writeFileSync(path.join(folder, 'package.json'), '{ "type": "module" }\n');
  await build({
    entryPoints: { [name]: path.join(packageRoot, 'test', 'fixtures', `${name}.ts`), 'write-thread': path.join(packageRoot, 'src', 'write-thread', 'write-thread-entry.ts') },
    outdir: folder,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
  });
  return path.join(folder, `${name}.js`);
}

/** Removes what {@link buildFixture} made for `file`. */
export function removeFixture(file: string | undefined): void {
  if (file !== undefined) rmSync(path.dirname(file), { recursive: true, force: true });
}
