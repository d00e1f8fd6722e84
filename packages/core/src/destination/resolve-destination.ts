import type { DestinationV1 } from './destination-v1.js';

const marker = Symbol.for('sentcopy.unsupported-destination-version-error');

/** Thrown when a destination implements a contract version this core does not know. */
export class UnsupportedDestinationVersionError extends Error {
  private readonly [marker] = true;
  /** The version the destination declared. */
  readonly version: unknown;

  constructor(version: unknown, provider: unknown) {
    super(
      `Destination ${typeof provider === 'string' ? `"${provider}" ` : ''}implements specification version ` +
        `${JSON.stringify(version)}, but this @sentcopy/core supports only "v1". Upgrade @sentcopy/core or use a matching destination package.`,
    );
    this.name = 'UnsupportedDestinationVersionError';
    this.version = version;
  }

  /** True for this error from any copy of this package. */
  static isInstance(error: unknown): error is UnsupportedDestinationVersionError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

/** Checks that `destination` implements a supported contract version and returns it typed. */
export function resolveDestination(destination: unknown): DestinationV1 {
  const candidate = destination as Partial<DestinationV1> | null | undefined;
  if (candidate === null || typeof candidate !== 'object') {
    throw new TypeError('Expected a destination object (from a factory such as createFsDestination()).');
  }
  if (candidate.specificationVersion !== 'v1') {
    throw new UnsupportedDestinationVersionError(candidate.specificationVersion, candidate.provider);
  }
  return candidate as DestinationV1;
}
