import type { ContainerClient } from '@azure/storage-blob';
import type { DestinationBackdoor } from '@sentcopy/destination-test-suite';

const notFound = (error: unknown): boolean => (error as { statusCode?: number }).statusCode === 404;

/** The caller's metadata name for a stored Azure name, decoded independently of the adapter: one leading `_` dropped, `_` → `-`. */
const callerName = (stored: string): string => stored.replace(/^_/, '').replace(/_/g, '-');

/**
 * Reads the container with the raw Azure SDK, independent of the adapter's code: Get Blob and
 * List Blobs below `keyPrefix`. The recorded SHA-256 is the `sentcopy_sha256` metadata.
 */
export function createAzureBackdoor(client: ContainerClient, keyPrefix = ''): DestinationBackdoor {
  return {
    async readObject(key) {
      try {
        const body = await client.getBlockBlobClient(keyPrefix + key).downloadToBuffer();
        const properties = await client.getBlockBlobClient(keyPrefix + key).getProperties();
        const metadata: Record<string, string> = {};
        for (const [name, value] of Object.entries(properties.metadata ?? {})) if (name !== 'sentcopy_sha256') metadata[callerName(name)] = value;
        return { body: new Uint8Array(body), sha256: properties.metadata?.sentcopy_sha256, contentType: properties.contentType, contentEncoding: properties.contentEncoding, metadata };
      } catch (error) {
        if (notFound(error)) return undefined;
        throw error;
      }
    },
    async listKeys(prefix) {
      const keys: string[] = [];
      for await (const item of client.listBlobsFlat({ prefix: keyPrefix + prefix })) keys.push(item.name.slice(keyPrefix.length));
      return keys;
    },
  };
}
