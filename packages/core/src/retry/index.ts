export { decideRetry, formatDuration } from './decide-retry.js';
export type { RetryDecision, RetryInput, RetryPhase } from './decide-retry.js';
export { retryInline, RetryExhaustedError, sleep } from './retry-inline.js';
export type { InlineRetryOptions, RetryEnvironment } from './retry-inline.js';
export { defaultRetryPolicy, resolveRetryPolicy } from './retry-policy.js';
export type { OutagePolicy, RateLimitedPolicy, RetryPolicy, RetryPolicyOverrides } from './retry-policy.js';
