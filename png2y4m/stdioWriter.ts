/**
 * An output stream with glibc stdio's fully-buffered write behaviour (_IO_new_file_xsputn), so
 * that when the disk fills up or the descriptor is /dev/full the tool fails at the same `fwrite`
 * the C tool would (and succeeds when everything still fits in the buffer, like the C tool, whose
 * final flush at exit is unchecked).
 *
 * @example
 * const out = new StdioWriter(fd, stdioBufferSize(fd));
 * if (!out.write(row)) fail();
 * out.flush();
 */
import { fstatSync } from 'node:fs';
import { writeAll } from './fdIo.js';

const BUFSIZ = 8192;

/** glibc's buffer size for a descriptor: st_blksize when smaller than BUFSIZ. */
export function stdioBufferSize(fd: number): number {
  try {
    const { blksize } = fstatSync(fd);
    return blksize > 0 && blksize < BUFSIZ ? blksize : BUFSIZ;
  } catch {
    return BUFSIZ;
  }
}

export class StdioWriter {
  private buffer: Buffer | null = null;
  private used = 0;
  /** Bytes handed to the descriptor so far (successfully). */
  written = 0;

  constructor(
    readonly fd: number,
    readonly bufferSize: number,
  ) {}

  /** fwrite(data, 1, n): true when it reports all n bytes written. */
  write(data: Uint8Array): boolean {
    let toDo = data.length;
    if (toDo === 0) return true;
    let at = 0;
    if (this.buffer) {
      const count = Math.min(this.bufferSize - this.used, toDo);
      this.buffer.set(data.subarray(0, count), this.used);
      this.used += count;
      at += count;
      toDo -= count;
    }
    if (toDo === 0) return true;
    if (!this.flushBuffer()) return false;
    const direct = toDo - (this.bufferSize >= 128 ? toDo % this.bufferSize : 0);
    if (direct > 0) {
      const count = this.raw(data.subarray(at, at + direct));
      if (count < direct) return false;
      at += direct;
      toDo -= direct;
    }
    if (toDo > 0) {
      this.buffer!.set(data.subarray(at), 0);
      this.used = toDo;
    }
    return true;
  }

  /** fputs-style text (the header and FRAME lines; the C tool does not check these). */
  writeText(text: string): void {
    this.write(Buffer.from(text, 'latin1'));
  }

  /** fflush: true when the buffered bytes reached the descriptor. */
  flush(): boolean {
    return this.buffer === null || this.flushBuffer();
  }

  /** _IO_new_file_overflow(EOF): allocate the buffer if needed, then write out its contents. */
  private flushBuffer(): boolean {
    if (!this.buffer) {
      this.buffer = Buffer.allocUnsafe(this.bufferSize);
      this.used = 0;
      return true;
    }
    const pending = this.used;
    // glibc empties the buffer whether or not the write succeeded.
    this.used = 0;
    if (pending === 0) return true;
    return this.raw(this.buffer.subarray(0, pending)) === pending;
  }

  private raw(data: Uint8Array): number {
    const count = writeAll(this.fd, data);
    this.written += count;
    return count;
  }
}
