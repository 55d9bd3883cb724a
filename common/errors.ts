/**
 * Typed errors, one class per failure domain. The policy: code that can fail throws one of these
 * with a message a user can act on (one line, naming the key/file/peer involved); the supervisor
 * and the CLI turn them into a reported reason and an exit code. Nothing here ever carries a
 * private key, a certificate body or a credential.
 */

/** Thrown by the frame codec and the command parser: garbage on the wire, oversize frames. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** Thrown by object stores (local folder or S3). `code` is stable and machine-readable. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** Transient errors (5xx, throttling, timeouts) may be retried by the caller. */
    readonly retryable = false,
  ) {
    super(message);
  }
}

export type StoreErrorCode =
  | 'NoSuchKey'
  | 'NoSuchBucket'
  | 'AccessDenied'
  | 'WrongRegion'
  | 'Network'
  | 'LocalFile'
  | 'InvalidKey'
  | 'Integrity'
  | 'Other';

/** Thrown when a worker cannot be launched (throttled past the deadline, spawn failure, ...). */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
  constructor(
    readonly invocation: number,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown while compiling user options at the edge: bad flags, unreadable cert files, ... */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** One readable line for any thrown value, for `FAIL(...)` answers and reports. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
