/**
 * Synchronous whole-buffer reads and writes on raw file descriptors, as C stdio sees them: never
 * through process.stdout/stderr (those are asynchronous for pipes), retrying EAGAIN when a
 * descriptor is non-blocking, and reporting how far a write got before failing.
 *
 * @example
 * writeText(2, 'hello\n');
 * const bytes = readAll(0); // all of stdin
 */
import { fstatSync, readSync, writeSync } from 'node:fs';

const RETRY_SLEEP_MS = 2;
/** Give up on a descriptor that stays unwritable/unreadable this long. */
const RETRY_LIMIT_MS = 120_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function isAgain(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

function pause(): void {
  Atomics.wait(sleeper, 0, 0, RETRY_SLEEP_MS);
}

/** Write all of `data`; returns the number of bytes written (less than data.length on error). */
export function writeAll(fd: number, data: Uint8Array): number {
  let done = 0;
  let waited = 0;
  while (done < data.length) {
    try {
      done += writeSync(fd, data, done, data.length - done);
      waited = 0;
    } catch (error) {
      if (!isAgain(error) || waited > RETRY_LIMIT_MS) return done;
      pause();
      waited += RETRY_SLEEP_MS;
    }
  }
  return done;
}

/** Best-effort text to a descriptor (stderr chatter: failures are ignored, as with fprintf). */
export function writeText(fd: number, text: string): void {
  writeAll(fd, Buffer.from(text, 'latin1'));
}

/** Everything readable from `fd` until end of file or the first error. */
export function readAll(fd: number): Uint8Array {
  let size = 65536;
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && stat.size > 0) size = stat.size + 1;
  } catch {
    // unknown size: grow as needed
  }
  let buffer = Buffer.allocUnsafe(size);
  let length = 0;
  let waited = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    let n: number;
    try {
      n = readSync(fd, buffer, length, buffer.length - length, null);
      waited = 0;
    } catch (error) {
      if (!isAgain(error) || waited > RETRY_LIMIT_MS) break;
      pause();
      waited += RETRY_SLEEP_MS;
      continue;
    }
    if (n === 0) break;
    length += n;
  }
  return buffer.subarray(0, length);
}
