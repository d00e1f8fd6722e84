import { DestinationError } from '../destination-error.js';
import type { ObjectStoreMetadataRules } from './object-store-driver.js';

/** Encodes, checks and decodes object metadata by a store's {@link ObjectStoreMetadataRules}. */
export class ObjectMetadataCodec {
  private readonly encodeName: (name: string) => string;
  private readonly decodeName: (stored: string) => string;

  constructor(
    private readonly rules: ObjectStoreMetadataRules,
    private readonly provider: string,
    private readonly service: string,
  ) {
    this.encodeName = rules.encodeName ?? ((name) => name);
    this.decodeName = rules.decodeName ?? ((stored) => stored);
  }

  /** The record to store: caller metadata in the store's spelling plus the SHA-256; throws `invalid` naming the entry at fault. */
  encode(metadata: Readonly<Record<string, string>> | undefined, sha256: string, key: string): Record<string, string> {
    const invalid = (message: string) => new DestinationError({ kind: 'invalid', provider: this.provider, key, message });
    const encoded: Record<string, string> = {};
    let bytes = Buffer.byteLength(this.rules.sha256Name) + sha256.length;
    for (const [name, value] of Object.entries(metadata ?? {})) {
      if (!/^[a-z0-9-]+$/.test(name)) throw invalid(`Metadata names must be lower-case [a-z0-9-]; "${name}" is not.`);
      const stored = this.encodeName(name);
      if (stored === this.rules.sha256Name) throw invalid(`The metadata name "${name}" is reserved for the SHA-256 the destination records.`);
      if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) throw invalid(`Metadata values must be printable ASCII; the value of "${name}" is not.`);
      if (this.rules.refusePaddedValues !== false && value !== value.trim()) throw invalid(`Metadata values must not start or end with spaces (HTTP drops them); the value of "${name}" does.`);
      encoded[stored] = value;
      bytes += Buffer.byteLength(stored) + Buffer.byteLength(value);
    }
    if (bytes > this.rules.maxBytes) throw invalid(`The metadata takes ${bytes} bytes; ${this.service} accepts at most ${this.rules.maxBytes} (including the recorded SHA-256).`);
    encoded[this.rules.sha256Name] = sha256;
    return encoded;
  }

  /** The caller's metadata back from a stored record: the SHA-256 record left out, names decoded. */
  decode(stored: Readonly<Record<string, string>>): Record<string, string> {
    const result: Record<string, string> = {};
    for (const [name, value] of Object.entries(stored)) if (name !== this.rules.sha256Name && typeof value === 'string') result[this.decodeName(name)] = value;
    return result;
  }

  /** The SHA-256 recorded in metadata, else the one the store verified itself; `undefined` when neither exists. */
  recordedSha256(stored: Readonly<Record<string, string>>, checksumSha256: string | undefined): string | undefined {
    const value = stored[this.rules.sha256Name];
    if (typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)) return value;
    return checksumSha256 !== undefined && /^[0-9a-f]{64}$/.test(checksumSha256) ? checksumSha256 : undefined;
  }
}
