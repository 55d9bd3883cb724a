/**
 * Small helpers shared by subcommands for turning `node:util` parseArgs values into typed options
 * with clear messages.
 */
import { ConfigError } from '../common/errors.js';

/** Parse a decimal integer option, or undefined when absent. */
export function intOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new ConfigError(`${flag} expects a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Parse a decimal number option (seconds may be fractional), or undefined when absent. */
export function numberOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${flag} expects a number, got ${JSON.stringify(value)}`);
  return n;
}

/** Print an error in one line (no stack trace) and return the exit code for usage errors. */
export function reportError(command: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`xc-orch ${command}: ${message}\n`);
  return error instanceof ConfigError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) ? 2 : 1;
}
