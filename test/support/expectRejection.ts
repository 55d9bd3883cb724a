/**
 * A promise that must reject with a typed error: its class and message are checked in one await
 * (instead of a `.rejects` per property), and the error is handed back for the checks only that
 * test makes, such as a code or that no secret is quoted.
 */
import { expect } from 'vitest';

/**
 * Fails the test unless `promise` rejects with an instance of `type` whose message matches
 * `message` (a string must be contained, as `toThrow` has it); resolves with that error.
 *
 * @example
 * const error = await expectRejection(runJob(png2y4m, options), ConfigError, /input frame\(s\) missing/);
 * expect(error.message).not.toMatch(/PRIVATE KEY/);
 */
export async function expectRejection<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E, message?: string | RegExp): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(type);
  if (message !== undefined) expect((error as E).message).toMatch(message);
  return error as E;
}
