/**
 * The names of a function's identical copies, said once for `lambdaize --copies` (which creates
 * them) and the Lambda launcher (which spreads invocations over them). Lambda scales each
 * function by at most 1,000 new execution environments per 10 s, so K copies start K times as
 * many workers in that time.
 */
import { ConfigError } from '../../common/errors.js';

/** Most copies of one function: far past what a launch needs, short of a typo's 10,000. */
export const MAX_FUNCTION_COPIES = 100;

/** A function name, or an unqualified full or partial ARN: copies are named by a suffix on it. */
const UNQUALIFIED_FUNCTION = /^(?:(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?\d{12}:function:)?[a-zA-Z0-9_-]+$/;

/**
 * `NAME` itself for one copy, else `NAME-0` .. `NAME-(copies-1)`; an ARN gets the suffix on its
 * function name. Throws ConfigError for a bad count or a name with a version or alias.
 *
 * @example functionCopyNames('png2y4m-1a2b', 3) // ['png2y4m-1a2b-0', 'png2y4m-1a2b-1', 'png2y4m-1a2b-2']
 */
export function functionCopyNames(name: string, copies: number): string[] {
  if (!Number.isInteger(copies) || copies < 1 || copies > MAX_FUNCTION_COPIES) {
    throw new ConfigError(`function copies must be a whole number from 1 to ${MAX_FUNCTION_COPIES}, got ${copies}`);
  }
  if (copies === 1) return [name];
  if (!UNQUALIFIED_FUNCTION.test(name)) {
    throw new ConfigError(`copies of ${JSON.stringify(name)} cannot be named: give the function's name or ARN without a version or alias`);
  }
  return Array.from({ length: copies }, (_, copy) => `${name}-${copy}`);
}
