import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DestinationBackdoor } from '@sentcopy/destination-test-suite';

const notFound = (error: unknown): boolean => (error as { name?: string }).name === 'NoSuchKey' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/**
 * Reads the bucket with the raw AWS SDK, independent of the adapter's code: GetObject and
 * ListObjectsV2 below `keyPrefix`. The recorded SHA-256 is the `sentcopy-sha256` user metadata.
 */
export function createS3Backdoor(client: S3Client, bucket: string, keyPrefix = ''): DestinationBackdoor {
  return {
    async readObject(key) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyPrefix + key }));
        const body = await answer.Body!.transformToByteArray();
        return { body, sha256: answer.Metadata?.['sentcopy-sha256'], contentType: answer.ContentType, contentEncoding: answer.ContentEncoding, metadata: { ...answer.Metadata } };
      } catch (error) {
        if (notFound(error)) return undefined;
        throw error;
      }
    },
    async listKeys(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix + prefix, ContinuationToken: token }));
        for (const entry of page.Contents ?? []) keys.push(entry.Key!.slice(keyPrefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
  };
}
