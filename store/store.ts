/**
 * Object stores: where inputs come from and outputs go. Workers (`retrieve:`/`upload:`) and the
 * CLI (`demo`, `store put|get|ls`) use the same interface, so the job runs unchanged on a local
 * folder (`file:DIR`, the embedded default) or on S3 (`-b BUCKET`).
 *
 * Contract for every implementation:
 * - `download` writes to a temporary name beside `file` and renames it into place when complete:
 *   a reader never sees half a file, and a failed download leaves no partial file behind.
 * - Errors are {@link StoreError}s with a one-line message naming the store, key and file.
 * - Memory stays flat whatever the object size (stream, never buffer whole objects).
 * - An aborted transfer stops at once, rejects, and leaves no partial object or file.
 */
export interface ObjectStore {
  /** Human-readable location used in messages and answers, e.g. `file:/srv/store` or `my-bucket`. */
  readonly name: string;
  /** Copy object `key` into the local file `file` (atomically, see above). */
  download(key: string, file: string, options?: TransferOptions): Promise<void>;
  /** Copy the local file `file` to object `key`, replacing any existing object. */
  upload(key: string, file: string, options?: TransferOptions): Promise<void>;
  /** Store a small object from memory (used to seed demo inputs and by tests). */
  put(key: string, body: Uint8Array): Promise<void>;
  /** Every key beginning with `prefix`, in byte-wise sorted order. */
  list(prefix: string): AsyncIterable<string>;
  /** Whether `key` exists. */
  exists(key: string): Promise<boolean>;
  /** Where `key` is, for people: a file path for a local folder, `s3://bucket/key` for S3. */
  locationOf(key: string): string;
}

/** How one transfer may be stopped. */
export interface TransferOptions {
  /** Aborting stops the transfer (the worker does when its connection or the worker itself ends). */
  signal?: AbortSignal;
}
