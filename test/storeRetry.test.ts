import { describe, expect, it } from 'vitest';
import { ConfigError } from '../common/errors.js';
import { RETRY_DEFAULTS, backoffDelay, compileRetry, withRetry } from '../store/retry.js';

class Flaky extends Error {}

/** A clock that only moves when the code under test sleeps. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('compileRetry', () => {
  it('fills defaults and keeps given values', () => {
    expect(compileRetry()).toEqual(RETRY_DEFAULTS);
    expect(compileRetry({ attempts: 2, deadlineMs: undefined })).toEqual({ ...RETRY_DEFAULTS, attempts: 2 });
  });

  it('refuses out-of-range values', () => {
    expect(() => compileRetry({ attempts: 0 })).toThrow(ConfigError);
    expect(() => compileRetry({ attempts: 1.5 })).toThrow(ConfigError);
    expect(() => compileRetry({ baseDelayMs: -1 })).toThrow(/baseDelayMs/);
    expect(() => compileRetry({ deadlineMs: Number.NaN })).toThrow(/deadlineMs/);
  });
});

describe('backoffDelay', () => {
  it('doubles the cap with each retry, up to maxDelayMs, jittered below it', () => {
    const policy = compileRetry({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
  });
});

describe('withRetry', () => {
  it('retries retryable failures and returns the first success', async () => {
    const time = fakeTime();
    const seen: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new Flaky(`try ${attempt}`);
        return 'done';
      },
      { policy: compileRetry({ attempts: 5, baseDelayMs: 100 }), isRetryable: (e) => e instanceof Flaky, random: () => 0.5, ...time },
    );
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
    expect(time.sleeps).toEqual([50, 100]);
  });

  it('throws the last failure once the attempts are used up', async () => {
    const time = fakeTime();
    let calls = 0;
    const outcome = withRetry(
      async () => {
        calls++;
        throw new Flaky(`failure ${calls}`);
      },
      { policy: compileRetry({ attempts: 3 }), isRetryable: () => true, ...time },
    );
    await expect(outcome).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
  });

  it('does not retry what is not retryable', async () => {
    let calls = 0;
    const outcome = withRetry(
      async () => {
        calls++;
        throw new Error('permanent');
      },
      { policy: compileRetry({ attempts: 5 }), isRetryable: (e) => e instanceof Flaky, ...fakeTime() },
    );
    await expect(outcome).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });

  it('stops before a wait that would end past the deadline', async () => {
    const time = fakeTime();
    let calls = 0;
    const retries: number[] = [];
    const outcome = withRetry(
      async () => {
        calls++;
        throw new Flaky('slow');
      },
      {
        policy: compileRetry({ attempts: 20, baseDelayMs: 1000, maxDelayMs: 1000, deadlineMs: 2500 }),
        isRetryable: () => true,
        random: () => 0.999,
        onRetry: (_error, attempt) => retries.push(attempt),
        ...time,
      },
    );
    await expect(outcome).rejects.toThrow('slow');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
    expect(time.now()).toBeLessThanOrEqual(2500);
  });
});
