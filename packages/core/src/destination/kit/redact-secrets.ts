/**
 * Removes what could be a secret or a recipient from a message a store sent back, before it goes
 * into a `DestinationError`: PEM blocks, `Bearer`/`Basic` credentials, Google access tokens and
 * JWTs, AWS access key ids, Azure SAS parameters and connection-string keys, e-mail addresses,
 * phone numbers, and long base64/hex runs (keys, signatures, string-to-sign dumps). White space is
 * folded and the result is cut to 300 characters.
 */
export function redactSecrets(message: string): string {
  return message
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)/g, '[redacted key]')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\bya29\.[\w.-]+/g, '[redacted token]')
    .replace(/\beyJ[\w-]+\.[\w-]+(?:\.[\w-]+)?/g, '[redacted token]')
    .replace(/\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b/g, '[redacted key id]')
    .replace(/\b(AccountKey|SharedAccessSignature|sig|Signature|password|secret|token)=[^;&\s"']*/gi, '$1=[redacted]')
    .replace(/[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}/g, '[redacted address]')
    .replace(/\+\d[\d ().-]{6,18}\d/g, '[redacted number]')
    .replace(/[A-Za-z0-9+/=_%-]{32,}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}
