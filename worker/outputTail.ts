/**
 * The last bytes of a command's output, with a note of how much was dropped before them: a chatty
 * command must not make the worker hold, or the wire carry, unbounded output, and the tail is
 * where errors usually are. Shared by the shell path and the in-process tools, so both report
 * output the same way.
 *
 * @example
 * const tail = new OutputTail(65536);
 * tail.push(Buffer.from('1 frames, 1024x436\n'));
 * tail.text(); // '1 frames, 1024x436\n'
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.kept += chunk.byteLength;
    while (this.kept > this.max) {
      const head = this.chunks[0]!;
      const excess = this.kept - this.max;
      if (head.byteLength <= excess) {
        this.chunks.shift();
        this.kept -= head.byteLength;
        this.dropped += head.byteLength;
      } else {
        this.chunks[0] = head.subarray(excess);
        this.kept -= excess;
        this.dropped += excess;
      }
    }
  }

  /** The kept bytes as UTF-8 (as the shell path decodes a process's output). */
  text(): string {
    return this.bytes().toString('utf8');
  }

  /** The kept bytes exactly, after the note of what was dropped (for byte-exact answers). */
  bytes(): Buffer {
    const body = Buffer.concat(this.chunks);
    return this.dropped > 0 ? Buffer.concat([Buffer.from(`[${this.dropped} bytes of output omitted]`), body]) : body;
  }
}
