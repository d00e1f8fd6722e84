import { addressesIn } from '@sentcopy/core';

function maskOne(value: string): string {
  const trimmed = value.trim();
  const at = trimmed.lastIndexOf('@');
  if (at > 0) return `${trimmed[0]}***${trimmed.slice(at)}`;
  const compact = trimmed.replace(/[\s().-]/g, '');
  if (/^\+?\d{8,15}$/.test(compact)) return `${compact.slice(0, 5)}***${compact.slice(-4)}`;
  if (trimmed.length >= 16) return `${trimmed.slice(0, 4)}***${trimmed.slice(-4)}`;
  return '***';
}

/**
 * Masks a recipient for display: `j***@example.com` for an email address, `+1555***0000` for a
 * phone number (first 5 and last 4 characters), `abcd***wxyz` for a longer push token, `***` for
 * anything too short to show a part of. An address with a display name, or several in one string
 * (`Jane Doe <jane@example.com>, bob@example.com`), shows each address masked and no display name
 * (a name is personal data too).
 */
export function maskRecipient(value: string): string {
  const addresses = addressesIn(value);
  if (addresses !== undefined) return addresses.map(maskOne).join(', ');
  return maskOne(value);
}

/** Masks every string in a recipient field that may hold one address or a list of them. */
export function maskRecipients(value: unknown): unknown {
  if (typeof value === 'string') return maskRecipient(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? maskRecipient(item) : item));
  return value;
}
