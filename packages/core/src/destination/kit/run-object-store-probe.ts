import { createHash, randomUUID } from 'node:crypto';
import { sleep } from '../../retry/index.js';
import { DestinationError } from '../destination-error.js';
import type { ProbeCheck, ProbeResult } from '../destination-v1.js';
import { isAbortError } from '../sdk-error.js';
import type { ObjectStoreProbeHost } from './object-store-destination.js';
import type { DescribeError, ObjectStoreDriver, ObjectStoreImmutabilityProbe } from './object-store-driver.js';

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** Rethrows the caller's abort (its reason) and abort errors; everything else is a failed check. */
function rethrowAbort(error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? error;
  if (isAbortError(error, signal)) throw error;
}

/**
 * Writes one object with a two-second retention in the configured mode, so a store or credentials
 * without immutability fail the probe instead of every message; removes it once the retention has passed.
 */
async function probeImmutability(host: ObjectStoreProbeHost, step: ObjectStoreImmutabilityProbe, signal: AbortSignal | undefined, describe: DescribeError): Promise<ProbeCheck> {
  const name = host.probeName(randomUUID());
  const body = utf8(`sentcopy ${step.checkName} probe ${new Date().toISOString()}\n`);
  const write = host.writeOf(name, name, { body, sha256: sha256Hex(body), contentType: 'text/plain' });
  const retainUntil = new Date(Date.now() + 2_000);
  let version: string | undefined;
  try {
    version = await host.call(signal, (abortSignal) => step.create(write, retainUntil, abortSignal));
  } catch (error) {
    rethrowAbort(error, signal);
    const hint = step.hint(error);
    return { name: step.checkName, status: 'failed', detail: `Writing an object with ${step.setting} failed: ${describe(error, `write a ${step.checkName} probe object`, name)}${hint === '' ? '' : ` ${hint}`}` };
  }
  const wait = retainUntil.getTime() + 250 - Date.now();
  if (step.waitForRetention && wait > 0) await sleep(wait, signal);
  try {
    await host.call(signal, (abortSignal) => step.remove(name, version, abortSignal));
  } catch (error) {
    rethrowAbort(error, signal);
    return { name: step.checkName, status: 'passed', detail: `Wrote an object with ${step.setting}; removing it afterwards failed (${describe(error, `delete the ${step.checkName} probe object`, name)}), so ${name} is left behind.` };
  }
  return { name: step.checkName, status: 'passed', detail: `Wrote (and removed) an object with ${step.setting}${step.passedSuffix ?? ''}.` };
}

/**
 * The probe steps every object store runs, in order: `reachable`, `write` (a conditional create of
 * a probe object), `write-once` (a second create of it must be refused), the immutability write
 * check when configured, `read`, `delete`, `public-access`. Never throws for a failed check; an
 * abort rejects with the caller's reason.
 */
export async function runObjectStoreProbe(host: ObjectStoreProbeHost, driver: ObjectStoreDriver, signal: AbortSignal | undefined): Promise<ProbeResult> {
  const checks: ProbeCheck[] = [];
  let isPublic: boolean | 'unknown' = 'unknown';
  const result = (): ProbeResult => ({ ok: checks.every((check) => check.status !== 'failed'), public: isPublic, checks });
  const describe: DescribeError = (error, operation, name) => {
    const mapped = host.failure(error, operation, name, signal);
    if (!DestinationError.isInstance(mapped)) throw mapped;
    return mapped.message;
  };
  signal?.throwIfAborted();

  let state: unknown;
  try {
    const reachable = await host.call(signal, (abortSignal) => driver.checkReachable(abortSignal, describe));
    checks.push(reachable.check);
    state = reachable.state;
    if (reachable.check.status === 'failed') return result();
  } catch (error) {
    rethrowAbort(error, signal);
    checks.push({ name: 'reachable', status: 'failed', detail: describe(error, 'reach the store') });
    return result();
  }

  const name = host.probeName(randomUUID());
  const body = utf8(`sentcopy probe ${new Date().toISOString()}\n`);
  // No retention, lock or hold on the probe object, so it can be removed again.
  try {
    const write = host.writeOf(name, name, { body, sha256: sha256Hex(body), contentType: 'text/plain' });
    await host.call(signal, (abortSignal) => driver.create(write, 'probe', abortSignal));
    checks.push({ name: 'write', status: 'passed', detail: `Wrote a probe object with ${driver.createCondition}.` });
  } catch (error) {
    rethrowAbort(error, signal);
    checks.push({ name: 'write', status: 'failed', detail: describe(error, 'write a probe object', name) });
    return result();
  }

  try {
    const other = utf8('sentcopy probe: this overwrite must be refused\n');
    const write = host.writeOf(name, name, { body: other, sha256: sha256Hex(other), contentType: 'text/plain' });
    await host.call(signal, (abortSignal) => driver.create(write, 'probe', abortSignal));
    checks.push({
      name: 'write-once',
      status: 'failed',
      detail: `The store overwrote an existing object despite ${driver.createCondition}; it does not support conditional writes, so write-once (never overwrite) cannot be guaranteed here.`,
    });
  } catch (error) {
    rethrowAbort(error, signal);
    if (driver.isAlreadyExists(error)) {
      const { code, status } = driver.errorFacts(error);
      checks.push({ name: 'write-once', status: 'passed', detail: `A second write of the probe object was refused with ${[status, code].filter((part) => part !== undefined).join(' ')}.` });
    } else {
      checks.push({ name: 'write-once', status: 'failed', detail: `A second conditional write of the probe object failed unexpectedly: ${describe(error, 'test a conditional write', name)}` });
    }
  }

  if (driver.immutabilityProbe !== undefined) checks.push(await probeImmutability(host, driver.immutabilityProbe, signal, describe));

  if (driver.probeReadUnsupported !== undefined) {
    checks.push({ name: 'read', status: 'unsupported', detail: driver.probeReadUnsupported });
  } else {
    try {
      const read = await host.call(signal, (abortSignal) => driver.read(name, abortSignal));
      if (Buffer.from(read.body).equals(Buffer.from(body))) checks.push({ name: 'read', status: 'passed' });
      else checks.push({ name: 'read', status: 'failed', detail: 'The probe object read back differs from what was written.' });
    } catch (error) {
      rethrowAbort(error, signal);
      checks.push({ name: 'read', status: 'failed', detail: describe(error, 'read the probe object', name) });
    }
  }

  try {
    await host.call(signal, (abortSignal) => driver.remove(name, abortSignal));
    checks.push({ name: 'delete', status: 'passed' });
  } catch (error) {
    rethrowAbort(error, signal);
    checks.push({ name: 'delete', status: 'failed', detail: describe(error, 'delete the probe object', name) });
  }

  try {
    const access = await host.call(signal, (abortSignal) => driver.checkPublicAccess(abortSignal, describe, state));
    isPublic = access.public;
    checks.push(access.check);
  } catch (error) {
    rethrowAbort(error, signal);
    checks.push({ name: 'public-access', status: 'failed', detail: describe(error, 'check public access') });
  }
  return result();
}
