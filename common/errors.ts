/**
 * Typed errors, one class per failure domain, the bottom layer every other one imports. The
 * policy: code that can fail throws one of these with a message a user can act on (one line,
 * naming the key/file/peer involved) and the underlying error as its `cause` (ES2022), never
 * flattened into the text; the supervisor and the CLI turn them into a reported reason and an exit
 * code. Nothing here ever carries a private key, a certificate body or a credential.
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
    options?: ErrorOptions,
  ) {
    super(message, options);
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

/**
 * Thrown while compiling user options at the edge (bad flags, unreadable cert files, a job file
 * that does not load, missing inputs): the CLI exits 2 with its message.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Thrown when a machine or a job is defined wrongly (a block name taken twice, a job option that
 * clashes with a run option, a template naming an unknown variable): the first thing a job
 * author meets, at definition time rather than mid-run.
 */
export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
}

/** Thrown when an object is used in a state that does not allow it (a coordinator run twice). */
export class IllegalStateError extends Error {
  override readonly name = 'IllegalStateError';
}

/**
 * One readable line for any thrown value, for `FAIL(...)` answers and reports: the message, then
 * the messages of its causes that it does not already contain.
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const text = (current instanceof Error ? current.message : String(current)).replace(/\s*\n\s*/g, ' ').trim();
    if (text !== '' && !parts.some((p) => p.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ') || 'unknown error';
}
