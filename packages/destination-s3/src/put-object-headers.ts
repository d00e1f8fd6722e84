import type { PutObjectCommandInput } from '@aws-sdk/client-s3';
import { serializeDateTime } from '@smithy/core/client';

/**
 * The request headers of a PutObject, as the SDK's REST-XML serializer writes them for the fields
 * the destination uses (Bucket and Key go into the URL, Body is sent as is).
 */
export function putObjectHeaders(input: PutObjectCommandInput): Record<string, string> {
  const headers: Record<string, string> = {};
  const set = (name: string, value: string | number | boolean | undefined) => {
    if (value !== undefined) headers[name] = String(value);
  };
  set('content-type', input.ContentType);
  set('content-encoding', input.ContentEncoding);
  set('if-none-match', input.IfNoneMatch);
  set('x-amz-sdk-checksum-algorithm', input.ChecksumAlgorithm);
  set('x-amz-checksum-sha256', input.ChecksumSHA256);
  set('x-amz-expected-bucket-owner', input.ExpectedBucketOwner);
  set('x-amz-server-side-encryption', input.ServerSideEncryption);
  set('x-amz-server-side-encryption-aws-kms-key-id', input.SSEKMSKeyId);
  set('x-amz-server-side-encryption-bucket-key-enabled', input.BucketKeyEnabled);
  set('x-amz-storage-class', input.StorageClass);
  set('x-amz-object-lock-mode', input.ObjectLockMode);
  set('x-amz-object-lock-retain-until-date', input.ObjectLockRetainUntilDate === undefined ? undefined : serializeDateTime(new Date(input.ObjectLockRetainUntilDate)));
  set('x-amz-object-lock-legal-hold', input.ObjectLockLegalHoldStatus);
  for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = value;
  return headers;
}
