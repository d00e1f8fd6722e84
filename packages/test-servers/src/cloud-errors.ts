import { randomUUID } from 'node:crypto';
import type { CannedResponse } from './canned-response.js';
import { escapeXml } from './xml.js';

/** An Azure Storage error answer: XML `<Error><Code>…</Code><Message>…</Message></Error>` plus the `x-ms-error-code` header the SDK reads. */
export function azureErrorResponse(code: string, status: number, message = code): CannedResponse {
  const id = randomUUID();
  return {
    status,
    headers: { 'content-type': 'application/xml', 'x-ms-error-code': code, 'x-ms-request-id': id, 'x-ms-version': '2025-01-05' },
    body: '\ufeff<?xml version="1.0" encoding="utf-8"?>' + `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(`${message}\nRequestId:${id}\nTime:${new Date().toISOString()}`)}</Message></Error>`,
  };
}

/** A Google Cloud Storage JSON API error answer: `{"error":{"code","message","errors":[{"reason","message","domain"}]}}`. */
export function gcsErrorResponse(status: number, reason: string, message = reason, domain = 'global'): CannedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: JSON.stringify({ error: { code: status, message, errors: [{ message, domain, reason }] } }),
  };
}
