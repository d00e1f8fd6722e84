import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { headerValue } from './http-server.js';

/** An access key pair a test server accepts. */
export interface TestCredentials {
  /** The access key id, e.g. `AKIA…` or `ASIA…`. */
  readonly accessKeyId: string;
  /** The secret the request signature is verified with. */
  readonly secretAccessKey: string;
  /** Required as `x-amz-security-token` when set (temporary credentials). */
  readonly sessionToken?: string;
  /** After this moment requests signed with these credentials fail with `ExpiredToken`. */
  readonly expiration?: Date;
}

/** What the `Authorization: AWS4-HMAC-SHA256 …` header says. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  /** `yyyymmdd/region/service/aws4_request` */
  readonly scope: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** Parses a SigV4 `Authorization` header, or returns `undefined` when it is absent or not SigV4. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (header === undefined || !header.startsWith('AWS4-HMAC-SHA256 ')) return undefined;
  const fields = Object.fromEntries(
    header
      .slice('AWS4-HMAC-SHA256 '.length)
      .split(',')
      .map((part) => part.trim().split('=') as [string, string]),
  ) as Record<string, string | undefined>;
  const credential = fields.Credential;
  if (!credential || !fields.SignedHeaders || !fields.Signature) return undefined;
  const slash = credential.indexOf('/');
  return { accessKeyId: credential.slice(0, slash), scope: credential.slice(slash + 1), signedHeaders: fields.SignedHeaders.split(';'), signature: fields.Signature };
}

const rfc3986 = (text: string): string => encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  return rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = decodeURIComponent((equals === -1 ? pair : pair.slice(0, equals)).replace(/\+/g, '%20'));
      const value = equals === -1 ? '' : decodeURIComponent(pair.slice(equals + 1).replace(/\+/g, '%20'));
      return [rfc3986(name), rfc3986(value)] as const;
    })
    .sort(([leftName, leftValue], [rightName, rightValue]) => (leftName === rightName ? (leftValue < rightValue ? -1 : 1) : leftName < rightName ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Recomputes the SigV4 signature of `request` with `secretAccessKey` (S3 rules: the path is used
 * as sent, without a second encoding) and compares it with the one in the `Authorization` header.
 * `payloadHash` is the `x-amz-content-sha256` header for S3, or the body's SHA-256 for other services.
 */
export function signatureMatches(request: IncomingMessage, authorization: ParsedAuthorization, secretAccessKey: string, payloadHash: string): boolean {
  const url = request.url ?? '/';
  const question = url.indexOf('?');
  const path = question === -1 ? url : url.slice(0, question);
  const query = question === -1 ? '' : url.slice(question + 1);
  const headers = authorization.signedHeaders.map((name) => `${name}:${(headerValue(request, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [request.method, path, canonicalQuery(query), headers, authorization.signedHeaders.join(';'), payloadHash].join('\n');
  const amzDate = headerValue(request, 'x-amz-date') ?? '';
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, authorization.scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const [date = '', region = '', service = ''] = authorization.scope.split('/');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex'));
  const given = Buffer.from(authorization.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Why a request's credentials are refused, as an AWS error code, or `undefined` when they are accepted. */
export type AuthenticationFailure = 'AccessDenied' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'InvalidToken' | 'ExpiredToken';

/** Looks up the credentials a request claims and verifies its signature, token and expiry. */
export function authenticate(request: IncomingMessage, lookup: (accessKeyId: string) => TestCredentials | undefined, payloadHash: string, now = new Date()): { accessKeyId?: string; failure?: AuthenticationFailure } {
  const authorization = parseAuthorization(headerValue(request, 'authorization'));
  if (!authorization) return { failure: 'AccessDenied' };
  const credentials = lookup(authorization.accessKeyId);
  if (!credentials) return { accessKeyId: authorization.accessKeyId, failure: 'InvalidAccessKeyId' };
  if (credentials.sessionToken !== undefined && headerValue(request, 'x-amz-security-token') !== credentials.sessionToken) {
    return { accessKeyId: authorization.accessKeyId, failure: 'InvalidToken' };
  }
  if (!signatureMatches(request, authorization, credentials.secretAccessKey, payloadHash)) return { accessKeyId: authorization.accessKeyId, failure: 'SignatureDoesNotMatch' };
  if (credentials.expiration !== undefined && credentials.expiration.getTime() <= now.getTime()) return { accessKeyId: authorization.accessKeyId, failure: 'ExpiredToken' };
  return { accessKeyId: authorization.accessKeyId };
}
