import { DestinationError, isAbortError, type DestinationV1, type ProbeCheck } from '@sentcopy/core';
import { buildDestination, checkSecretReferences, ConfigError, markedSettings, resolveDestinationDescriptor, type DestinationConfig } from '@sentcopy/worker';
import { type ExitCode, exitCodes } from '../../cli-kit/index.js';

/**
 * How a probe ended:
 * - `ok`: reachable, writable, write-once, and not public;
 * - `public`: works, but anyone can read it (refused: archived messages hold personal data);
 * - `refused`: the store answered but refused (credentials, permissions, missing bucket, no write-once…);
 * - `unreachable`: the store did not answer (network, DNS, timeout, outage); trying later may work;
 * - `misconfigured`: the destination cannot even be created here (an unset environment variable…).
 */
export type ProbeStatus = 'ok' | 'public' | 'refused' | 'unreachable' | 'misconfigured';

/** What probing one destination found. */
export interface ProbeReport {
  /** The destination's name in the configuration. */
  readonly destination: string;
  /** Its type. */
  readonly type: string;
  /** Its id (e.g. `s3://bucket/prefix/`, never a secret), when it could be created. */
  readonly id?: string;
  readonly status: ProbeStatus;
  /** Whether the bucket or container is publicly readable; `unknown` when it cannot be told. */
  readonly public: boolean | 'unknown';
  /** Why it failed, one sentence per failed check; absent when `ok`. */
  readonly reason?: string;
  /** Every check that ran, in order. */
  readonly checks: readonly ProbeCheck[];
}

/** Longest a probe may take before the destination counts as unreachable, in milliseconds. */
const probeTimeoutMs = 30_000;

/** The exit code a failed probe ends a command with. */
export function exitCodeForProbe(status: ProbeStatus): ExitCode {
  switch (status) {
    case 'ok':
      return exitCodes.ok;
    case 'unreachable':
      return exitCodes.unavailable;
    case 'misconfigured':
      return exitCodes.usage;
    case 'public':
    case 'refused':
      return exitCodes.failure;
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

// A failed `reachable` check does not say whether the store refused or never answered; one small
// listing does, through the destination's own error mapping.
async function classifyUnreached(destination: DestinationV1, signal: AbortSignal): Promise<'unreachable' | 'refused'> {
  try {
    await destination.list({ limit: 1, signal });
    return 'refused';
  } catch (error) {
    if (isAbortError(error, signal)) return 'unreachable';
    return DestinationError.isInstance(error) && (error.kind === 'unreachable' || error.kind === 'rate_limited') ? 'unreachable' : 'refused';
  }
}

/**
 * Creates the destination `entry` describes (secrets read from this process's environment), runs
 * its `probe()` and closes it. Never throws for a failed probe: the report says what happened.
 */
export async function probeDestination(name: string, entry: DestinationConfig, baseDir: string): Promise<ProbeReport> {
  const base = { destination: name, type: entry.type };
  const resolution = await resolveDestinationDescriptor(entry.type, { baseDir });
  const secrets = resolution.ok ? markedSettings(resolution.descriptor, 'x-secret') : undefined;
  const unset = checkSecretReferences({ destinations: { [name]: entry } }, process.env, () => secrets);
  if (unset.length > 0) {
    return { ...base, status: 'misconfigured', public: 'unknown', reason: unset.map((issue) => `${issue.path} ${issue.problem}`).join('; '), checks: [] };
  }
  let destination: DestinationV1;
  try {
    destination = await buildDestination(name, entry, { baseDir });
  } catch (error) {
    const reason = ConfigError.isInstance(error) ? error.issues.map((issue) => `${issue.path} ${issue.problem}`).join('; ') : describe(error);
    return { ...base, status: 'misconfigured', public: 'unknown', reason, checks: [] };
  }
  const signal = AbortSignal.timeout(probeTimeoutMs);
  try {
    const result = await destination.probe({ signal });
    const failed = result.checks.filter((check) => check.status === 'failed');
    const reason = failed.map((check) => `${check.name}: ${check.detail ?? 'failed'}`).join('; ');
    const withId = { ...base, id: destination.id, public: result.public, checks: result.checks };
    if (result.ok) return { ...withId, status: 'ok' };
    if (result.public === true && failed.some((check) => check.name === 'public-access')) return { ...withId, status: 'public', reason };
    const unreached = failed.some((check) => check.name === 'reachable');
    const status = unreached ? await classifyUnreached(destination, AbortSignal.timeout(probeTimeoutMs)) : 'refused';
    return { ...withId, status, reason: reason || 'the probe failed' };
  } catch (error) {
    if (isAbortError(error, signal)) {
      return { ...base, id: destination.id, status: 'unreachable', public: 'unknown', reason: `no answer within ${probeTimeoutMs / 1000} s`, checks: [] };
    }
    const status = DestinationError.isInstance(error) && (error.kind === 'unreachable' || error.kind === 'rate_limited') ? 'unreachable' : 'refused';
    return { ...base, id: destination.id, status, public: 'unknown', reason: describe(error), checks: [] };
  } finally {
    await destination.close?.().catch(() => undefined);
  }
}
