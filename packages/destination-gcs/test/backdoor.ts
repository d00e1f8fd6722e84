import type { Storage } from '@google-cloud/storage';
import type { DestinationBackdoor } from '@sentcopy/destination-test-suite';
import type { GcsTestServer } from '@sentcopy/test-servers';

/** Reads the test server's memory directly, bypassing HTTP and the adapter. */
export function createServerBackdoor(server: GcsTestServer, bucket: string, keyPrefix = ''): DestinationBackdoor {
  return {
    async readObject(key) {
      const object = server.getObject(bucket, keyPrefix + key);
      if (object === undefined) return undefined;
      return { body: new Uint8Array(object.body), sha256: object.metadata['sentcopy-sha256'], contentType: object.contentType, contentEncoding: object.contentEncoding, metadata: { ...object.metadata } };
    },
    async listKeys(prefix) {
      return server
        .listObjects(bucket)
        .filter((name) => name.startsWith(keyPrefix + prefix))
        .map((name) => name.slice(keyPrefix.length));
    },
  };
}

/**
 * Reads a bucket with the raw `@google-cloud/storage` SDK, independent of the adapter's code:
 * media downloads without decompression, and listings below `keyPrefix`.
 */
export function createSdkBackdoor(storage: Storage, bucket: string, keyPrefix = ''): DestinationBackdoor {
  const handle = storage.bucket(bucket);
  return {
    async readObject(key) {
      const file = handle.file(keyPrefix + key);
      try {
        const [metadata] = await file.getMetadata();
        const [body] = await file.download({ decompress: false });
        const custom = Object.fromEntries(Object.entries(metadata.metadata ?? {}).map(([name, value]) => [name, String(value)]));
        return { body: new Uint8Array(body), sha256: custom['sentcopy-sha256'], contentType: metadata.contentType, contentEncoding: metadata.contentEncoding, metadata: custom };
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return undefined;
        throw error;
      }
    },
    async listKeys(prefix) {
      const [files] = await handle.getFiles({ prefix: keyPrefix + prefix });
      return files.map((file) => file.name.slice(keyPrefix.length));
    },
  };
}
