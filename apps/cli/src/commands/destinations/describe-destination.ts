import { resolveDestinationDescriptor, settingsOf, type DestinationConfig } from '@sentcopy/worker';

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

/**
 * Where a destination stores objects, in one short phrase (no secrets), e.g. `s3://bucket/prefix/`,
 * as the descriptor of its type says; the type when that descriptor is not installed here or says nothing.
 */
export async function describeLocation(entry: DestinationConfig, baseDir: string): Promise<string> {
  const resolution = await resolveDestinationDescriptor(entry.type, { baseDir });
  if (!resolution.ok || resolution.descriptor.describeLocation === undefined) return entry.type;
  try {
    return resolution.descriptor.describeLocation(settingsOf(entry));
  } catch {
    return entry.type;
  }
}
