/**
 * Retrying transient failures with jittered exponential backoff, bounded both in attempts and in
 * total time, so that a dead service costs a worker seconds, not minutes. "Full jitter" (a delay
 * drawn uniformly below the exponential cap) keeps thousands of workers that failed together from
 * retrying together.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { ConfigError } from '../common/errors.js';

/** How hard to retry. Every field is optional; the default is given on each. */
export interface RetryOptions {
  /** Attempts in all, the first included (1 = never retry). Default 4. */
  attempts?: number;
  /** Cap of the delay before the first retry, in ms; it doubles with each retry. Default 200. */
  baseDelayMs?: number;
  /** Largest delay between two attempts, in ms. Default 5000. */
  maxDelayMs?: number;
  /** No retry is started once this many ms have passed since the first attempt. Default 60000. */
  deadlineMs?: number;
}

/** {@link RetryOptions} with every field present and checked (see {@link compileRetry}). */
export type RetryPolicy = Readonly<Required<RetryOptions>>;

export const RETRY_DEFAULTS: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000, deadlineMs: 60_000 };

/**
 * Fill in defaults and check ranges once, at the edge.
 *
 * @example compileRetry({ attempts: 2 }) // { attempts: 2, baseDelayMs: 200, maxDelayMs: 5000, deadlineMs: 60000 }
 */
export function compileRetry(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...RETRY_DEFAULTS, ...stripUndefined(options) };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1 || policy.attempts > 20) {
    throw new ConfigError(`retry attempts must be a whole number from 1 to 20, got ${policy.attempts}`);
  }
  for (const field of ['baseDelayMs', 'maxDelayMs', 'deadlineMs'] as const) {
    const value = policy[field];
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(`retry ${field} must be a number >= 0, got ${value}`);
  }
  return Object.freeze(policy);
}

/**
 * The delay before retry number `retry` (1 for the first retry): uniform in [0, cap), where the cap
 * is `baseDelayMs * 2^(retry-1)`, bounded by `maxDelayMs`.
 *
 * @example backoffDelay(RETRY_DEFAULTS, 3, () => 0.5) // 400 (half of the 800 ms cap)
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

/** What {@link withRetry} needs besides the operation. */
export interface RetryControl {
  policy: RetryPolicy;
  /** Whether a failure is worth another attempt; anything else is thrown at once. */
  isRetryable(error: unknown): boolean;
  /** Told before each wait, e.g. to log the failure that caused it. */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  /** Aborting ends a wait between attempts at once (rejecting with the abort reason). */
  signal?: AbortSignal;
  /** Replaceable in tests. */
  sleep?(ms: number): Promise<void>;
  now?(): number;
  random?(): number;
}

/**
 * Run `operation` until it succeeds, a failure is not retryable, the attempts are used up, or the
 * next wait would end past the deadline; then throw the last failure unchanged.
 *
 * @example
 * const body = await withRetry((attempt) => fetchPart(attempt), {
 *   policy: compileRetry({ attempts: 3 }),
 *   isRetryable: (error) => error instanceof NetworkHiccup,
 * });
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, control: RetryControl): Promise<T> {
  const { policy, isRetryable } = control;
  const now = control.now ?? Date.now;
  const { signal } = control;
  const sleep = control.sleep ?? ((ms: number) => sleepMs(ms, undefined, signal ? { signal } : {}));
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !isRetryable(error)) throw error;
      const delay = backoffDelay(policy, attempt, control.random);
      if (now() - started + delay > policy.deadlineMs) throw error;
      control.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
