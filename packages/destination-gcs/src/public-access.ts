import type { Bucket } from '@google-cloud/storage';
import { isAbortError, type ProbeCheck } from '@sentcopy/core';
import { gcsErrorFacts } from './map-gcs-error.js';

/** IAM members that make a binding public. */
const publicMembers: Readonly<Record<string, string>> = {
  allUsers: 'everyone on the internet (allUsers)',
  allAuthenticatedUsers: 'any Google account (allAuthenticatedUsers)',
};

interface PublicAccessContext {
  readonly bucketName: string;
  readonly signal: AbortSignal | undefined;
  readonly allowPublicBucket: boolean;
  /** The bucket's `iamConfiguration`, when the probe could read the bucket's metadata. */
  readonly iamConfiguration: { publicAccessPrevention?: string; uniformBucketLevelAccess?: { enabled?: boolean } } | undefined;
  /** Why the bucket's metadata could not be read, when it could not. */
  readonly metadataProblem: string | undefined;
  /** Turns an error into a human sentence (the destination's one error mapping). */
  readonly describe: (error: unknown, operation: string) => string;
}

type Lookup<T> = { readonly state: 'found'; readonly value: T } | { readonly state: 'unknown'; readonly why: string };

/**
 * Decides whether the bucket is publicly readable: public access prevention `enforced` means it
 * cannot be, whatever the IAM policy says; otherwise an IAM binding for `allUsers` or
 * `allAuthenticatedUsers` makes it public. `unknown` when the policy cannot be read (a server
 * without the IAM API, or a denied `storage.buckets.getIamPolicy`).
 */
export async function checkPublicAccess(bucket: Bucket, context: PublicAccessContext): Promise<{ public: boolean | 'unknown'; check: ProbeCheck }> {
  const { bucketName } = context;
  const prevention = context.iamConfiguration?.publicAccessPrevention;
  if (prevention === 'enforced') {
    return { public: false, check: { name: 'public-access', status: 'passed', detail: `Public access prevention is enforced on bucket "${bucketName}": nothing in it can be made public.` } };
  }
  let policy: Lookup<{ role?: string | null; members?: string[] | null }[]>;
  try {
    const [answer] = await bucket.iam.getPolicy({ requestedPolicyVersion: 3 });
    policy = { state: 'found', value: (answer.bindings ?? []) as { role?: string | null; members?: string[] | null }[] };
  } catch (error) {
    if (isAbortError(error, context.signal)) throw error;
    const { code, status } = gcsErrorFacts(error);
    if (status === 501 || status === 405 || code === 'notImplemented') policy = { state: 'unknown', why: `getIamPolicy is not supported by this server (${code ?? `HTTP ${status}`})` };
    else if (status === 403) policy = { state: 'unknown', why: 'getIamPolicy was denied (grant storage.buckets.getIamPolicy)' };
    else policy = { state: 'unknown', why: `getIamPolicy failed: ${context.describe(error, 'read the bucket IAM policy')}` };
  }
  if (policy.state === 'unknown') {
    const reasons = [policy.why, ...(context.metadataProblem === undefined ? [] : [context.metadataProblem])];
    return { public: 'unknown', check: { name: 'public-access', status: 'unsupported', detail: `Could not tell whether bucket "${bucketName}" is public: ${reasons.join('; ')}.` } };
  }
  const grants = new Map<string, Set<string>>();
  for (const binding of policy.value) {
    for (const member of binding.members ?? []) {
      if (publicMembers[member] === undefined) continue;
      if (!grants.has(member)) grants.set(member, new Set());
      grants.get(member)?.add(binding.role ?? 'a role');
    }
  }
  if (grants.size > 0) {
    const who = [...grants].map(([member, roles]) => `${publicMembers[member]} as ${[...roles].join(', ')}`).join('; ');
    const detail = `Bucket "${bucketName}" is public: its IAM policy grants ${who}.`;
    if (context.allowPublicBucket) return { public: true, check: { name: 'public-access', status: 'passed', detail: `${detail} Allowed because allowPublicBucket is set; archived messages hold personal data.` } };
    return {
      public: true,
      check: { name: 'public-access', status: 'failed', detail: `${detail} Archived messages hold personal data: remove those bindings and enforce public access prevention, or set allowPublicBucket to override.` },
    };
  }
  const uniform = context.iamConfiguration?.uniformBucketLevelAccess?.enabled;
  const note =
    uniform === false
      ? ' Uniform bucket-level access is off, so object ACLs could still make single objects public; consider enabling it.'
      : context.iamConfiguration === undefined
        ? ` (The bucket's access settings could not be read${context.metadataProblem === undefined ? '' : `: ${context.metadataProblem}`}.)`
        : '';
  return { public: false, check: { name: 'public-access', status: 'passed', detail: `The bucket IAM policy grants nothing to allUsers or allAuthenticatedUsers.${note}` } };
}
