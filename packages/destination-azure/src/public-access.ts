import type { ContainerClient } from '@azure/storage-blob';
import { isAbortError, type ProbeCheck } from '@sentcopy/core';
import { azureErrorFacts } from './map-azure-error.js';

interface PublicAccessContext {
  readonly container: string;
  readonly signal: AbortSignal | undefined;
  readonly allowPublicContainer: boolean;
  /** Turns an error into a human sentence (the destination's one error mapping). */
  readonly describe: (error: unknown, operation: string) => string;
}

/**
 * Decides whether the container allows anonymous reads from its access level (Get Container ACL):
 * `blob` (anyone may read blobs whose name they know) or `container` (anyone may also list) is
 * public. The account-wide "allow blob public access" switch can still neutralize it, but a
 * container that asks for public access is refused either way: one changed account setting away
 * from a leak. `unknown` when the server does not support the call or the credentials may not
 * make it (a SAS token limited to blobs, a role without `Microsoft.Storage/…/containers/read`).
 */
export async function checkPublicAccess(containerClient: ContainerClient, context: PublicAccessContext): Promise<{ public: boolean | 'unknown'; check: ProbeCheck }> {
  let access: string | undefined;
  try {
    access = (await containerClient.getAccessPolicy({ abortSignal: context.signal })).blobPublicAccess;
  } catch (error) {
    if (isAbortError(error, context.signal)) throw error;
    const { code, status } = azureErrorFacts(error);
    if (status === 501 || status === 405 || code === 'NotImplemented' || code === 'FeatureNotSupported') {
      return {
        public: 'unknown',
        check: { name: 'public-access', status: 'unsupported', detail: `Get Container ACL is not supported by this server (${code ?? `HTTP ${status}`}), so whether container "${context.container}" is public cannot be told.` },
      };
    }
    if (status === 403) {
      return {
        public: 'unknown',
        check: {
          name: 'public-access',
          status: 'unsupported',
          detail: `Could not tell whether container "${context.container}" is public: Get Container ACL was denied (it needs the account key, an account SAS, or a role with container read access).`,
        },
      };
    }
    return { public: 'unknown', check: { name: 'public-access', status: 'unsupported', detail: `Could not tell whether container "${context.container}" is public: ${context.describe(error, 'read the container access level')}` } };
  }
  if (access === 'blob' || access === 'container') {
    const detail = `Container "${context.container}" is public: its access level is "${access}" (${access === 'container' ? 'anyone may list and read its blobs' : 'anyone may read a blob whose name they know'}).`;
    if (context.allowPublicContainer) {
      return { public: true, check: { name: 'public-access', status: 'passed', detail: `${detail} Allowed because allowPublicContainer is set; archived messages hold personal data.` } };
    }
    return {
      public: true,
      check: { name: 'public-access', status: 'failed', detail: `${detail} Archived messages hold personal data: set the container's access level to private, or set allowPublicContainer to override.` },
    };
  }
  return { public: false, check: { name: 'public-access', status: 'passed', detail: `Container "${context.container}" is private (no anonymous access).` } };
}
