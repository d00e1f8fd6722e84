import type { DestinationConfig } from '@sentcopy/worker';

const isReference = (value: unknown): value is { env: string } => typeof value === 'object' && value !== null && typeof (value as { env?: unknown }).env === 'string';

function flatten(value: Readonly<Record<string, unknown>>, prefix: string, into: [string, string][]): void {
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isReference(child)) into.push([path, `from the environment variable ${child.env}`]);
    else if (typeof child === 'object' && child !== null && !Array.isArray(child)) flatten(child as Record<string, unknown>, path, into);
    else into.push([path, String(child)]);
  }
}

/**
 * A destination's settings as `field: value` lines, in the file's own field names. The
 * configuration holds secrets only as environment variable names, so those are what is shown.
 */
export function describeSettings(entry: DestinationConfig): string[] {
  const { type: _type, acknowledge_personal_data: _acknowledged, ...fields } = entry;
  const pairs: [string, string][] = [];
  flatten(fields, '', pairs);
  const width = Math.max(0, ...pairs.map(([path]) => path.length));
  return pairs.map(([path, value]) => `${`${path}:`.padEnd(width + 1)} ${value}`);
}

/** Where a destination stores objects, in one short phrase (no secrets), e.g. `s3://bucket/prefix/`. */
export function describeLocation(entry: DestinationConfig): string {
  switch (entry.type) {
    case 'fs':
      return entry.root;
    case 's3':
      return `s3://${entry.bucket}/${entry.key_prefix ?? ''}${entry.endpoint === undefined ? '' : ` at ${entry.endpoint}`}`;
    case 'azure':
      return `${entry.account_url ?? 'connection string'} container ${entry.container}${entry.key_prefix === undefined ? '' : `/${entry.key_prefix}`}`;
    case 'gcs':
      return `gs://${entry.bucket}/${entry.key_prefix ?? ''}`;
  }
}
