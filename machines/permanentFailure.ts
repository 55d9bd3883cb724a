/**
 * Which failed attempts a retry cannot change, so the chunk fails for good at once: the worker
 * answered `FAIL(...)` because an input is missing from the store, or because it refuses a value
 * the job gave it (a variable it does not know, a number that is not one, a command it lacks).
 * Everything else (a lost worker, a timeout, a failed command, an unexpected answer) is retried.
 */

/** What the worker's `FAIL(...)` says when the answer fails for good. */
const PERMANENT_FAILS: readonly RegExp[] = [
  /^retrieving .* (NoSuchKey|no such key)/,
  /^no such variable /,
  /^invalid syntax for SET/,
  /^could not interpret .* as an integer/,
  /^run: run_iter must be an integer/,
  /^no command to run/,
  /^no such command /,
];

/**
 * @example permanentFailure('unexpected answer "FAIL(retrieving b/k->f: NoSuchKey: ...)" in state fetch') // true
 */
export function permanentFailure(reason: string): boolean {
  // The connection machines' reason for a refused answer: `unexpected answer "FAIL(...)" in state ...`.
  const quoted = /^unexpected answer "FAIL\((.*)/.exec(reason);
  if (!quoted) return false;
  const text = quoted[1]!.replaceAll('\\"', '"');
  return PERMANENT_FAILS.some((pattern) => pattern.test(text));
}
