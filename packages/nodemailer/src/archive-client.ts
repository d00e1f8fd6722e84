import { ArchiveError, MessageValidationError, formatIssues } from '@sentcopy/core';
import type { ArchiveDestination } from './archive-options.js';

/** The outcome of one attempt: stored, refused for good, or worth another try. */
export type AttemptResult = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly reason: string; readonly error?: unknown };

interface WorkerErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string; readonly kind?: string; readonly reason?: string; readonly errors?: readonly { field?: string; problem?: string }[] };
  readonly results?: readonly { readonly status?: string; readonly reason?: string; readonly errors?: readonly { field?: string; problem?: string }[] }[];
}

const describeErrors = (errors: readonly { field?: string; problem?: string }[] | undefined) => (errors ?? []).map((entry) => (entry.field ? `${entry.field}: ${entry.problem ?? ''}` : (entry.problem ?? ''))).join('; ');

/** Sends one message to the destination: `gate` waits for the stored copy, otherwise for the worker's durable queue. */
export async function attemptArchive(destination: ArchiveDestination, message: Record<string, unknown>, gate: boolean): Promise<AttemptResult> {
  if (destination.archiver !== undefined) {
    try {
      await destination.archiver.archive(message);
      return { ok: true };
    } catch (error) {
      if (MessageValidationError.isInstance(error)) return { ok: false, retry: false, reason: `invalid message: ${formatIssues(error.issues)}`, error };
      if (ArchiveError.isInstance(error)) return { ok: false, retry: error.kind !== 'invalid' && error.kind !== 'conflict', reason: `${error.kind}: ${error.reason}`, error };
      return { ok: false, retry: true, reason: error instanceof Error ? error.name : 'unexpected error', error };
    }
  }
  const { url, apiKey, timeoutMs = 30_000 } = destination.worker;
  const body = JSON.stringify(gate ? message : [message]);
  let response: Response;
  try {
    response = await fetch(new URL(gate ? '/v1/archive' : '/v1/messages', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // The cause's message may name the host; the code is enough and leaks nothing.
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    return { ok: false, retry: true, reason: `the worker could not be reached (${typeof code === 'string' ? code : error instanceof Error ? error.name : 'network error'})`, error };
  }
  let answer: WorkerErrorBody = {};
  try {
    answer = (await response.json()) as WorkerErrorBody;
  } catch {
    // A body that is not JSON: the status alone decides.
  }
  if (gate && response.status === 201) return { ok: true };
  if (!gate && response.status === 202) {
    const result = answer.results?.[0];
    if (result?.status === 'accepted' || result?.status === 'duplicate') return { ok: true };
    return { ok: false, retry: false, reason: `refused by the worker (${result?.reason ?? 'rejected'}): ${describeErrors(result?.errors)}` };
  }
  if (response.status === 422) {
    const result = answer.results?.[0];
    const errors = result?.errors ?? answer.error?.errors;
    return { ok: false, retry: false, reason: `refused by the worker (${result?.reason ?? answer.error?.code ?? 'invalid'}): ${describeErrors(errors)}` };
  }
  const reason = `the worker answered ${response.status}${answer.error?.code === undefined ? '' : ` ${answer.error.code}`}${answer.error?.kind === undefined ? '' : ` (${answer.error.kind}: ${answer.error.reason ?? ''})`}`;
  // 4xx other than 408/429 will not change by waiting: a wrong key, a deleted project, a message too large.
  const retry = response.status >= 500 || response.status === 408 || response.status === 429;
  return { ok: false, retry, reason };
}
