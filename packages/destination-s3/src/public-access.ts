import { GetBucketAclCommand, GetBucketPolicyStatusCommand, GetPublicAccessBlockCommand, type S3Client } from '@aws-sdk/client-s3';
import { isAbortError, type ProbeCheck } from '@sentcopy/core';
import { s3ErrorFacts } from './map-s3-error.js';

/** Grantee group URIs that make an ACL grant public. */
const publicGroups: Readonly<Record<string, string>> = {
  'http://acs.amazonaws.com/groups/global/AllUsers': 'everyone (AllUsers)',
  'http://acs.amazonaws.com/groups/global/AuthenticatedUsers': 'any AWS account (AuthenticatedUsers)',
};

type Lookup<T> =
  | { readonly state: 'found'; readonly value: T }
  | { readonly state: 'absent' }
  | { readonly state: 'unsupported'; readonly why: string }
  | { readonly state: 'denied'; readonly why: string }
  | { readonly state: 'error'; readonly why: string };

interface PublicAccessContext {
  readonly bucket: string;
  readonly owner: { ExpectedBucketOwner?: string };
  readonly signal: AbortSignal | undefined;
  readonly allowPublicBucket: boolean;
  /** Turns an error into a human sentence (the destination's one error mapping). */
  readonly describe: (error: unknown, operation: string) => string;
}

async function lookup<T>(operation: string, absentCodes: readonly string[], call: () => Promise<T>, context: PublicAccessContext): Promise<Lookup<T>> {
  try {
    return { state: 'found', value: await call() };
  } catch (error) {
    if (isAbortError(error, context.signal)) throw error;
    const { code, status } = s3ErrorFacts(error);
    if (code !== undefined && absentCodes.includes(code)) return { state: 'absent' };
    if (code === 'NotImplemented' || code === 'MethodNotAllowed' || status === 501 || status === 405) {
      return { state: 'unsupported', why: `${operation} is not supported by this server (${code ?? `HTTP ${status}`})` };
    }
    if (status === 403) return { state: 'denied', why: `${operation} was denied (grant s3:${operation})` };
    return { state: 'error', why: `${operation} failed: ${context.describe(error, `call ${operation}`)}` };
  }
}

/**
 * Decides whether the bucket is publicly readable from its policy status, its public access block
 * and its ACL. `public` is `true` as soon as one source shows public access that the block does
 * not neutralize, `false` when the block covers everything or every source shows none, and
 * `unknown` otherwise (a call unsupported by this server, or denied).
 */
export async function checkPublicAccess(client: S3Client, context: PublicAccessContext): Promise<{ public: boolean | 'unknown'; check: ProbeCheck }> {
  const { bucket, owner, signal } = context;
  const [policy, block, acl] = await Promise.all([
    lookup('GetBucketPolicyStatus', ['NoSuchBucketPolicy'], async () => (await client.send(new GetBucketPolicyStatusCommand({ Bucket: bucket, ...owner }), { abortSignal: signal })).PolicyStatus, context),
    lookup('GetPublicAccessBlock', ['NoSuchPublicAccessBlockConfiguration'], async () => (await client.send(new GetPublicAccessBlockCommand({ Bucket: bucket, ...owner }), { abortSignal: signal })).PublicAccessBlockConfiguration, context),
    lookup('GetBucketAcl', [], async () => (await client.send(new GetBucketAclCommand({ Bucket: bucket, ...owner }), { abortSignal: signal })).Grants ?? [], context),
  ]);

  const blockConfig = block.state === 'found' ? block.value : undefined;
  const fullyBlocked = blockConfig?.BlockPublicAcls === true && blockConfig.IgnorePublicAcls === true && blockConfig.BlockPublicPolicy === true && blockConfig.RestrictPublicBuckets === true;
  const reasons: string[] = [];

  let policyPublic: boolean | undefined;
  if (policy.state === 'absent') policyPublic = false;
  else if (policy.state === 'found') policyPublic = policy.value?.IsPublic === true && blockConfig?.RestrictPublicBuckets !== true;
  if (policyPublic) reasons.push('its bucket policy grants public access');

  let aclPublic: boolean | undefined;
  if (acl.state === 'found') {
    const grantees = acl.value.map((grant) => publicGroups[grant.Grantee?.URI ?? '']).filter((name): name is string => name !== undefined);
    aclPublic = grantees.length > 0 && blockConfig?.IgnorePublicAcls !== true;
    if (aclPublic) reasons.push(`its ACL grants access to ${[...new Set(grantees)].join(' and ')}`);
  }

  const unknowns = [policy, block, acl].flatMap((entry) => (entry.state === 'unsupported' || entry.state === 'denied' || entry.state === 'error' ? [entry.why] : []));
  if (policyPublic || aclPublic) {
    const detail = `Bucket "${bucket}" is public: ${reasons.join('; ')}.`;
    if (context.allowPublicBucket) {
      return { public: true, check: { name: 'public-access', status: 'passed', detail: `${detail} Allowed because allowPublicBucket is set; archived messages hold personal data.` } };
    }
    return {
      public: true,
      check: { name: 'public-access', status: 'failed', detail: `${detail} Archived messages hold personal data: block public access on the bucket, or set allowPublicBucket to override.` },
    };
  }
  if (fullyBlocked) return { public: false, check: { name: 'public-access', status: 'passed', detail: 'Block Public Access is fully on for the bucket.' } };
  if (policyPublic === false && aclPublic === false) {
    return { public: false, check: { name: 'public-access', status: 'passed', detail: 'Neither the bucket policy nor the ACL grants public access.' } };
  }
  return {
    public: 'unknown',
    check: { name: 'public-access', status: 'unsupported', detail: `Could not tell whether bucket "${bucket}" is public: ${unknowns.join('; ')}.` },
  };
}
