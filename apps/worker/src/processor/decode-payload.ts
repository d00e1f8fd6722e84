import type { ValidationIssue } from '@sentcopy/core';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a queued payload as JSON. Bytes that are not UTF-8 or not JSON are refused with an issue
 * that describes the problem without quoting the payload (it holds personal data).
 */
export function decodePayload(payload: Uint8Array): { ok: true; value: unknown } | { ok: false; issues: ValidationIssue[] } {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, issues: [{ path: '', problem: 'must be UTF-8 text (the payload holds bytes that are not valid UTF-8)' }] };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, issues: [{ path: '', problem: 'must be a JSON document (the payload could not be parsed as JSON)' }] };
  }
}
