/** Version of the bundle format (`manifest.json`'s `format`) this package writes and reads. */
export const bundleFormatVersion = 1;

/** Names of the files every bundle holds beside `objects/`. */
export const bundleFiles = { manifest: 'manifest.json', sums: 'SHA256SUMS', readme: 'README.txt', viewer: 'viewer.html' } as const;

/** The folder of the ZIP that holds the stored objects. */
export const objectsFolder = 'objects/';

/** What produced a bundle: who asked and which search, never a raw recipient. */
export interface BundleQuery {
  /** Who made it: the viewer account, `token`, or the operating-system user running `sentcopy export`. */
  readonly who: string;
  /** The tool and version that wrote it, e.g. `sentcopy 0.1.0`. */
  readonly tool: string;
  /** What was exported: `search` (filters) or `message` (one message id or key). */
  readonly kind: 'search' | 'message';
  /** The filters, as given; a recipient only as the hashes the ledger holds (`recipient_hashes`). */
  readonly filters: Readonly<Record<string, string | number | boolean | readonly string[]>>;
  /** Where the list of objects came from: the local `index`, the ledger's segments (`ledger`), a key `listing`, or a `lookup` of one key or message id. */
  readonly source: 'index' | 'ledger' | 'listing' | 'lookup';
  /** Destinations searched, by configured name. */
  readonly destinations: readonly string[];
}

/** Where the ledger lists an object, when the index says. */
export interface BundleLedgerEntry {
  /** The chain (writer id) whose segments list the object. */
  readonly chain: string;
  /** The segment's sequence number in the chain, when known. */
  readonly segment?: number;
}

/** What a bundle shows of a message in its list, computed when the bundle is written. Recipients are masked. */
export interface BundleSummary {
  /** The recipient, masked (`j***@example.com`, `+1555***0100`). */
  readonly to?: string;
  /** Copy recipients (email `cc`), masked. */
  readonly cc?: readonly string[];
  /** Blind copy recipients (email `bcc`), masked. */
  readonly bcc?: readonly string[];
  /** The subject, else the first line of the body. */
  readonly title?: string;
}

/** One object of a bundle. */
export interface BundleManifestObject {
  /** The configured destination it was read from. */
  readonly destination: string;
  /** Its key in that destination. */
  readonly key: string;
  /** Its path in the bundle: `objects/<destination>/<key>`, each segment escaped when it would be unsafe in a file system. */
  readonly path: string;
  /** SHA-256 (lower-case hex) of the stored bytes as recorded by the archive (the ledger entry, else the store's metadata, else the bytes read). */
  readonly sha256: string;
  /** Where `sha256` comes from. */
  readonly sha256_source: 'ledger' | 'store' | 'read';
  /** Size of the stored bytes, in bytes. */
  readonly size: number;
  /** The stored codec: the bytes in the bundle are compressed as stored. */
  readonly codec: 'gzip' | 'lz4' | 'none';
  /** The message's `message_id`, as the object's document says. */
  readonly message_id?: string;
  /** The message's channel (`email`, `sms`, `push`, `whatsapp`, or a project's own). */
  readonly channel?: string;
  /** When the message was sent, ISO 8601 UTC. */
  readonly sent_at?: string;
  /** The message's `project_id`. */
  readonly project?: string;
  /** The ledger entry's chain and segment, when known. */
  readonly ledger?: BundleLedgerEntry;
  /** Problems found when it was read from the archive (its bytes do not match the recorded SHA-256, it does not decode). Absent when none. */
  readonly problems?: readonly string[];
  /** What the offline viewer lists. */
  readonly summary: BundleSummary;
}

/** `manifest.json`. */
export interface BundleManifest {
  /** {@link bundleFormatVersion}. */
  readonly format: number;
  /** When the bundle was written, ISO 8601 UTC. */
  readonly created_at: string;
  readonly query: BundleQuery;
  /** The objects, in the order they were found. */
  readonly objects: readonly BundleManifestObject[];
  /** Objects the search found but that could not be read (gone from the store), with why: not in the bundle, and said so. */
  readonly missing: readonly { readonly destination: string; readonly key: string; readonly reason: string }[];
}

const unsafeCharacters = /[\\\u0000-\u001f\u007f:*?"<>|]/g;

/** One key segment made safe as a file or folder name: `\`, control and Windows-reserved characters percent-encoded, `.`/`..`/empty spelled out. */
function safeSegment(segment: string): string {
  if (segment === '' || segment === '.' || segment === '..') return segment.replaceAll('.', '%2E') || '%20';
  return segment.replace(unsafeCharacters, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The path of an object in a bundle (and in its unzipped folder); the writer adds `~2`, `~3`… should two keys map to one path. */
export function bundleObjectPath(destination: string, key: string): string {
  return `${objectsFolder}${safeSegment(destination)}/${key.split('/').map(safeSegment).join('/')}`;
}
