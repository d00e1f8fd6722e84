import { readFileSync } from 'node:fs';

const packageName = '@sentcopy/cli';

function readVersion(): string {
  // `../package.json` holds from both `src/` and the built `dist/bin.js`.
  try {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
    if (manifest.name === packageName && typeof manifest.version === 'string') return manifest.version;
  } catch {
    // Moved out of its package (a custom bundle): say so rather than fail to start.
  }
  return 'unknown';
}

/** The version of the `sentcopy` command (`@sentcopy/cli`), read from its package.json at start. */
export const cliVersion: string = readVersion();
