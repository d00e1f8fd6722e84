import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DestinationBackdoor } from '@sentcopy/destination-test-suite';

const absent = (error: unknown): boolean => ['ENOENT', 'ENOTDIR', 'EISDIR'].includes((error as { code?: string }).code ?? '');

async function filesUnder(folder: string, relative: string): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (relative === '' && entry.name === '.sentcopy') continue;
    const key = relative + entry.name;
    if (entry.isDirectory()) keys.push(...(await filesUnder(join(folder, entry.name), `${key}/`)));
    else keys.push(key);
  }
  return keys;
}

/** Reads the folder with node:fs directly, independent of the adapter's code: `<root>/<key>` and the sidecar `<root>/.sentcopy/meta/<key>`. */
export function createFsBackdoor(root: string): DestinationBackdoor {
  return {
    async readObject(key) {
      let body: Buffer;
      try {
        body = await readFile(join(root, ...key.split('/')));
      } catch (error) {
        if (absent(error)) return undefined;
        throw error;
      }
      const sidecar = JSON.parse(await readFile(join(root, '.sentcopy', 'meta', ...key.split('/')), 'utf8').catch(() => '{}')) as Record<string, unknown>;
      return {
        body: new Uint8Array(body),
        sha256: sidecar.sha256 as string | undefined,
        contentType: sidecar.contentType as string | undefined,
        contentEncoding: sidecar.contentEncoding as string | undefined,
        metadata: (sidecar.metadata as Record<string, string> | undefined) ?? {},
      };
    },
    async listKeys(prefix) {
      return (await filesUnder(root, '')).filter((key) => key.startsWith(prefix));
    },
  };
}
