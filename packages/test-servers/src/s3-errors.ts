import { randomBytes } from 'node:crypto';
import { requestId, type CannedResponse } from './canned-response.js';
import { escapeXml } from './xml.js';

/** HTTP status and message Amazon S3 answers with, per error code. */
export const s3ErrorCatalog: Readonly<Record<string, readonly [status: number, message: string]>> = {
  AccessDenied: [403, 'Access Denied'],
  AllAccessDisabled: [403, 'All access to this Amazon S3 resource has been disabled.'],
  BadDigest: [400, 'The SHA256 you specified did not match the calculated checksum.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  ConditionalRequestConflict: [409, 'The conditional request cannot succeed due to a conflicting operation against this resource.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size'],
  ExpiredToken: [400, 'The provided token has expired.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidStorageClass: [400, 'The storage class you specified is not valid'],
  InvalidToken: [400, 'The provided token is malformed or otherwise invalid.'],
  KeyTooLongError: [400, 'Your key is too long'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  RequestTimeTooSkewed: [403, "The difference between the request time and the server's time is too large."],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
};

/** Options for {@link s3ErrorResponse}. */
export interface S3ErrorOptions {
  /** HTTP status. @default the status S3 uses for the code, else 400 */
  readonly status?: number;
  /** The `<Message>`. @default S3's message for the code */
  readonly message?: string;
  /** Extra elements placed after `<Message>`, in order, e.g. `{ Condition: 'If-None-Match' }`. */
  readonly extra?: Readonly<Record<string, string>>;
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The XML body S3 sends for an error: `<?xml ...?>\n<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId><HostId>…</HostId></Error>`. */
export function s3ErrorXml(code: string, options: { message?: string; extra?: Readonly<Record<string, string>>; requestId?: string; hostId?: string } = {}): string {
  const message = options.message ?? s3ErrorCatalog[code]?.[1] ?? code;
  const extra = Object.entries(options.extra ?? {})
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${extra}` +
    `<RequestId>${options.requestId ?? requestId()}</RequestId><HostId>${options.hostId ?? randomBytes(48).toString('base64')}</HostId></Error>`
  );
}

/** A complete S3 error answer (status, `application/xml`, request-id headers, XML body), e.g. `s3ErrorResponse('SlowDown')`. */
export function s3ErrorResponse(code: string, options: S3ErrorOptions = {}): CannedResponse {
  const id = requestId();
  const hostId = randomBytes(48).toString('base64');
  return {
    status: options.status ?? s3ErrorCatalog[code]?.[0] ?? 400,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': id, 'x-amz-id-2': hostId, ...options.headers },
    body: s3ErrorXml(code, { message: options.message, extra: options.extra, requestId: id, hostId }),
  };
}
