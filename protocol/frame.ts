/**
 * mu's wire format: every message is `LLLLLLLLLLLL PAYLOAD` (12 zero-padded decimal digits of
 * payload length, one space, the payload bytes). mu trusted the header blindly; we bound it and
 * reject anything that is not exactly 12 digits and a space.
 */
import { ProtocolError } from '../common/errors.js';

export const FRAME_HEADER_BYTES = 13;
/** Default upper bound on one frame's payload (64 MiB) a worker accepts, on its command and peer links. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/**
 * Default upper bound on one answer the coordinator accepts from a worker (1 MiB): answers are
 * small (a run's output is cut to its 64 KiB tail), and state frames go through the relay.
 */
export const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;
const MAX_ENCODABLE = 999_999_999_999;
const ZERO = 0x30;
const SPACE = 0x20;

/**
 * Encode one frame as a single buffer, so that it is written with one `socket.write` (two writes
 * per frame interact badly with Nagle's algorithm).
 *
 * @example socket.write(encodeFrame('echo:hi')) // sends "000000000007 echo:hi"
 */
export function encodeFrame(payload: string | Uint8Array): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (length > MAX_ENCODABLE) throw new ProtocolError(`frame of ${length} bytes cannot be encoded`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  let n = length;
  for (let i = 11; i >= 0; i--) {
    frame[i] = ZERO + (n % 10);
    n = Math.floor(n / 10);
  }
  frame[12] = SPACE;
  if (typeof payload === 'string') frame.write(payload, FRAME_HEADER_BYTES, 'utf8');
  else frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder: feed it socket chunks, get whole payloads back. Frames may arrive split
 * across chunks or several in one chunk. Throws {@link ProtocolError} on a malformed header or a
 * payload above `maxBytes`; after that the stream is unusable and the connection must be closed.
 *
 * @example
 * const decoder = new FrameDecoder();
 * socket.on('data', (chunk) => { for (const payload of decoder.push(chunk)) handle(payload); });
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Payload length of the frame being read, or -1 while its header is incomplete. */
  private expected = -1;
  private failed = false;

  constructor(readonly maxBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes received but not yet returned as a payload. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Add `chunk` and return the payloads now complete, at most `limit` of them: the bytes after
   * those stay buffered, their headers unread (see {@link takeBuffered}).
   */
  push(chunk: Uint8Array, limit = Infinity): Buffer[] {
    if (this.failed) throw new ProtocolError('frame decoder used after a protocol error');
    if (chunk.byteLength > 0) {
      this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.pendingBytes += chunk.byteLength;
    }
    const out: Buffer[] = [];
    while (out.length < limit) {
      if (this.expected < 0) {
        if (this.pendingBytes < FRAME_HEADER_BYTES) break;
        this.expected = this.parseHeader(this.take(FRAME_HEADER_BYTES));
      }
      if (this.pendingBytes < this.expected) break;
      out.push(this.take(this.expected));
      this.expected = -1;
    }
    return out;
  }

  /**
   * Remove and return every buffered byte, for another decoder to go on with (a connection's first
   * frame read by a decoder with a small bound, the rest by its own). Only between frames.
   *
   * @example const [hello] = first.push(chunk, 1); if (hello) for (const rest of first.takeBuffered()) decoder.push(rest);
   */
  takeBuffered(): Buffer[] {
    if (this.expected >= 0) throw new ProtocolError('frame decoder handed over in the middle of a frame');
    const rest = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return rest;
  }

  private parseHeader(header: Buffer): number {
    let length = 0;
    for (let i = 0; i < 12; i++) {
      const digit = header[i]! - ZERO;
      if (digit < 0 || digit > 9) return this.fail(`malformed frame header ${JSON.stringify(header.toString('latin1'))}`);
      length = length * 10 + digit;
    }
    if (header[12] !== SPACE) return this.fail(`malformed frame header ${JSON.stringify(header.toString('latin1'))}`);
    if (length > this.maxBytes) return this.fail(`frame of ${length} bytes exceeds the maximum of ${this.maxBytes} bytes`);
    return length;
  }

  private fail(message: string): never {
    this.failed = true;
    this.pending = [];
    this.pendingBytes = 0;
    throw new ProtocolError(message);
  }

  /** Remove and return the first `n` buffered bytes (copying only when they span chunks). */
  private take(n: number): Buffer {
    this.pendingBytes -= n;
    const first = this.pending[0];
    if (first && first.byteLength === n) {
      this.pending.shift();
      return first;
    }
    if (first && first.byteLength > n) {
      this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pending[0]!;
      const need = n - filled;
      if (head.byteLength <= need) {
        head.copy(out, filled);
        filled += head.byteLength;
        this.pending.shift();
      } else {
        head.copy(out, filled, 0, need);
        this.pending[0] = head.subarray(need);
        filled = n;
      }
    }
    return out;
  }
}
