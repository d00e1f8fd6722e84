/** What one Put Blob carries besides its body, in the destination's terms. */
export interface PutBlobFields {
  readonly contentType: string;
  readonly contentEncoding?: string | undefined;
  /** Metadata with Azure names (C# identifiers), values as stored. */
  readonly metadata: Readonly<Record<string, string>>;
  /** MD5 of the body, sent as `Content-MD5` (Azure verifies it before storing anything). */
  readonly contentMd5: Uint8Array;
  readonly accessTier?: string | undefined;
  readonly encryptionScope?: string | undefined;
  readonly immutabilityPolicy?: { readonly expiresOn: Date; readonly mode: 'Unlocked' | 'Locked' } | undefined;
  readonly legalHold?: boolean | undefined;
}

/**
 * The service version the SDK (`@azure/storage-blob` 12.32) sends as `x-ms-version`; the lean path
 * sends the same so both paths speak one dialect. A test compares it with the SDK's own request.
 */
export const azureServiceVersion = '2026-04-06';

/**
 * The request headers of a write-once Put Blob, as the SDK's serializer writes them for the
 * options the destination uses (`BlockBlobClient.upload` with `conditions.ifNoneMatch: '*'`).
 * Signing headers (`x-ms-date`, `authorization`) are added by the credential's own policy.
 */
export function putBlobHeaders(fields: PutBlobFields): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'x-ms-version': azureServiceVersion,
    'x-ms-blob-type': 'BlockBlob',
    'if-none-match': '*',
    'x-ms-blob-content-type': fields.contentType,
    'content-md5': Buffer.from(fields.contentMd5).toString('base64'),
    accept: 'application/xml',
  };
  if (fields.contentEncoding !== undefined) headers['x-ms-blob-content-encoding'] = fields.contentEncoding;
  for (const [name, value] of Object.entries(fields.metadata)) headers[`x-ms-meta-${name}`] = value;
  if (fields.immutabilityPolicy !== undefined) {
    headers['x-ms-immutability-policy-until-date'] = fields.immutabilityPolicy.expiresOn.toUTCString();
    headers['x-ms-immutability-policy-mode'] = fields.immutabilityPolicy.mode;
  }
  if (fields.encryptionScope !== undefined) headers['x-ms-encryption-scope'] = fields.encryptionScope;
  if (fields.accessTier !== undefined) headers['x-ms-access-tier'] = fields.accessTier;
  if (fields.legalHold === true) headers['x-ms-legal-hold'] = 'true';
  return headers;
}
