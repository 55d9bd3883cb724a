/**
 * What every subcommand does with a failure: one line on stderr, no stack trace, and the exit
 * code that says whether the command line was wrong (2) or the work failed (1).
 */
import { ConfigError } from '../common/errors.js';

/** Print an error in one line (no stack trace) and return the exit code for usage errors. */
export function reportError(command: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`xc-orch ${command}: ${message}\n`);
  return error instanceof ConfigError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) ? 2 : 1;
}
