import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const packageName = '@sentcopy/worker';

function readVersion(): string {
  // `../package.json` holds from both `src/` and the built `dist/`; the resolver covers bundles that inline this file elsewhere.
  const candidates = [() => new URL('../package.json', import.meta.url), () => createRequire(import.meta.url).resolve(`${packageName}/package.json`)];
  for (const candidate of candidates) {
    try {
      const manifest = JSON.parse(readFileSync(candidate(), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === packageName && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // Not there from this location: try the next one.
    }
  }
  return 'unknown';
}

/** The version of `@sentcopy/worker` in use (e.g. `0.3.1`), read from its package.json when first imported; `unknown` when it cannot be found. */
export const workerVersion: string = readVersion();
