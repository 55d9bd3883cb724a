/**
 * Opens the output like the reference tool's fopen: `-` is stdout, `-i` appends ("ab": created if
 * absent, positioned at the end), otherwise create/truncate ("wb"). Also reports the stream
 * position C's ftell() would give right after opening, which decides whether `-i` writes the
 * header: the file size for "ab", -1 for a pipe/socket/tty stdout, its offset otherwise.
 *
 * @example
 * const output = openOutput('out.y4m', true); // null when it cannot be opened
 * if (output && output.position === 0) output.writer.writeText(header);
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { StdioWriter, stdioBufferSize } from './stdioWriter.js';

export interface Output {
  writer: StdioWriter;
  /** ftell() just after opening. */
  position: number;
  /** Flush (result ignored, like exit()) and close unless stdout. */
  close(): void;
}

const STDOUT = 1;

export function openOutput(name: string, append: boolean): Output | null {
  if (name === '-') {
    const writer = new StdioWriter(STDOUT, stdioBufferSize(STDOUT));
    return { writer, position: stdoutPosition(), close: () => void writer.flush() };
  }
  let fd: number;
  try {
    fd = openSync(Buffer.from(name, 'latin1'), append ? 'a' : 'w');
  } catch {
    return null;
  }
  const position = append ? fstatSync(fd).size : 0;
  const writer = new StdioWriter(fd, stdioBufferSize(fd));
  return {
    writer,
    position,
    close: () => {
      writer.flush();
      closeSync(fd);
    },
  };
}

/** lseek(1, 0, SEEK_CUR) as ftell(stdout) would do it. */
function stdoutPosition(): number {
  try {
    const stat = fstatSync(STDOUT);
    if (stat.isFIFO() || stat.isSocket() || isatty(STDOUT)) return -1;
  } catch {
    return -1;
  }
  try {
    const info = readFileSync(`/proc/self/fdinfo/${STDOUT}`, 'latin1');
    const match = /^pos:\s*(\d+)/m.exec(info);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
