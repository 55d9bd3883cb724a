/**
 * png2y4m: PNG frames -> YUV4MPEG2, a byte-exact re-implementation of the daala_tools tool mu's
 * reference job runs once per frame (`png2y4m -i -d -o OUT IN`). Same output bytes, exit codes,
 * messages and deleted files as the C tool (see the spec in ../shared/png2y4m/SPEC.md).
 *
 * Only node built-ins are imported here and below: the tool starts once per frame on every worker.
 *
 * Standard streams, the working folder and the environment come through a {@link ToolIo} (this
 * process's by default), so a long-lived worker can run the tool in a thread of its own.
 *
 * @example
 * process.exitCode = await main(['png2y4m', '-o', 'out.y4m', 'frames/%08d.png']);
 */
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { allocatePlanes, convertFrame, type Planes } from './bt709.js';
import { DecodeFailure, decodePng, type DecodedImage } from './decodePng.js';
import { ditherPlan } from './ditherPlan.js';
import { readAll, writeText } from './fdIo.js';
import { findInputs, inputPath, splitMask } from './inputMask.js';
import { openOutput, type Output } from './openOutput.js';
import { parseCommandLine, type Png2y4mOptions } from './options.js';
import { strerror } from './strerror.js';
import { usageText } from './usage.js';
import { y4mHeader } from './y4mHeader.js';

const STDIN = 0;
const STDERR = 2;

/** What the tool sees of its surroundings; {@link processIo} is the real process's. */
export interface ToolIo {
  /** C's unbuffered stderr; `text` is bytes held as a latin1 string. */
  stderr(text: string): void;
  /** All of standard input (the input `-`). */
  readStdin(): Uint8Array;
  /** Standard output opened for `-o -`. */
  openStdout(): Output;
  /** Folder that relative file names are resolved against; undefined: the process's own. */
  cwd?: string;
  /** Environment the tool reads (`POSIXLY_CORRECT`). */
  env: NodeJS.ProcessEnv;
  /** Source of dither plans; a long-lived caller may cache them (they depend only on the shape). */
  ditherPlan?: typeof ditherPlan;
}

/**
 * This process's stdio (descriptors 0-2), working folder and environment.
 *
 * @example await main(['png2y4m', '-o', '-', 'in.png'], processIo)
 */
export const processIo: ToolIo = {
  stderr: (text) => writeText(STDERR, text),
  readStdin: () => readAll(STDIN),
  openStdout: () => openOutput('-', false)!,
  env: process.env,
};

/** Raised to leave the tool with an exit code once its message is printed. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs the tool; `argv[0]` is the program name used in messages. Resolves to the exit code. */
export async function main(argv: string[], io: ToolIo = processIo): Promise<number> {
  // C sees bytes: work on byte strings (one char per byte) so odd file names round-trip.
  const args = argv.map((arg) => Buffer.from(arg, 'utf8').toString('latin1'));
  let output: Output | null = null;
  try {
    return run(args, io, (opened) => (output = opened));
  } catch (error) {
    if (error instanceof Exit) return error.code;
    // Not a documented failure (e.g. an image too large to allocate): one line, never a stack.
    io.stderr(`${args[0] ?? 'png2y4m'}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    // Like exit(): whatever stdio still buffers is flushed (errors ignored), so on failure the
    // header and the frames completed so far are in the file.
    (output as Output | null)?.close();
  }
}

/** Print `message` (if any) to stderr and leave with exit code 1. */
function failWith(io: ToolIo, message: string | null): never {
  if (message !== null) io.stderr(`${message}\n`);
  throw new Exit(1);
}

/**
 * Where the process would find `path`: itself when absolute (or empty, which must fail as it
 * does), else `cwd/path`, left to the kernel to resolve like a relative open() from cwd would.
 */
function locate(io: ToolIo, path: string): string {
  if (io.cwd === undefined || path === '' || path.startsWith('/')) return path;
  return `${Buffer.from(io.cwd, 'utf8').toString('latin1')}/${path}`;
}

function run(args: string[], io: ToolIo, onOutput: (output: Output) => void): number {
  const fail: (message: string | null) => never = (message) => failWith(io, message);
  const program = args[0] ?? 'png2y4m';
  const parsed = parseCommandLine(args, io.env.POSIXLY_CORRECT !== undefined);
  if (parsed.kind === 'help') {
    io.stderr(usageText(program));
    return 0;
  }
  if (parsed.kind === 'invalid') {
    io.stderr(parsed.diagnostic);
    io.stderr(usageText(program));
    return 1;
  }
  if (args.length < 3) {
    io.stderr(usageText(program));
    return 1;
  }
  const { options, operands } = parsed;
  const mask = operands[0];
  if (mask === undefined) fail('No input files specified. Run with -h for help.');

  const inputs = selectInputs(mask, io);
  const first = inputs.open(0, options);
  if (options.output === null) fail('No output file specified. Run with -h for help.');
  const output = options.output === '-' ? io.openStdout() : openOutput(locate(io, options.output), options.incremental);
  if (!output) fail(`Error opening output file "${options.output}".`);
  onOutput(output);

  const image = decodeOrFail(first.read(), io);
  const { width, height } = image;
  io.stderr(`${inputs.count} frames, ${width}x${height}\n`);
  if (!options.incremental || output.position === 0) output.writer.writeText(y4mHeader({ width, height, ...options }));

  const plan = options.dither ? (io.ditherPlan ?? ditherPlan)(width, height, options.chroma) : null;
  const planes = allocatePlanes(width, height, options.chroma);
  for (let k = 0; k < inputs.count; k++) {
    let frame = image;
    if (k === 0) inputs.announce(0);
    else {
      const source = inputs.open(k, options);
      inputs.announce(k);
      frame = decodeOrFail(source.read(), io);
      if (frame.width !== width || frame.height !== height) {
        fail(`Input size ${frame.width}x${frame.height} does not match ${width}x${height}`);
      }
    }
    convertFrame(frame.rgb, width, height, options.chroma, plan, planes);
    writeFrame(output, options.output, width, height, planes, io);
  }
  return 0;
}

/** An opened input: reading happens when the frame is decoded, as with the C tool's FILE*. */
interface Source {
  read(): Uint8Array;
}

interface Inputs {
  count: number;
  /** Open (and with -d unlink) input k. */
  open(k: number, options: Png2y4mOptions): Source;
  /** Print input k's name to stderr (directory scans only). */
  announce(k: number): void;
}

function selectInputs(mask: string, io: ToolIo): Inputs {
  const fail: (message: string | null) => never = (message) => failWith(io, message);
  if (mask === '-') {
    return { count: 1, open: () => ({ read: () => io.readStdin() }), announce: () => {} };
  }
  const { dir, filter } = splitMask(mask);
  const names = findInputs(locate(io, dir), filter);
  if (names === null || names.length === 0) fail('No input files found. Run with -h for help.');
  return {
    count: names.length,
    open(k, options) {
      const path = inputPath(dir, names[k]!);
      const bytesPath = Buffer.from(locate(io, path), 'latin1');
      let fd: number;
      try {
        fd = openSync(bytesPath, 'r');
      } catch (error) {
        if (options.deleteInputs) unlinkQuietly(bytesPath);
        fail(`Error opening "${path}": ${strerror(error)}`);
      }
      if (options.deleteInputs) unlinkQuietly(bytesPath);
      return {
        read() {
          try {
            return readAll(fd);
          } finally {
            closeSync(fd);
          }
        },
      };
    },
    announce(k) {
      io.stderr(`${names[k]!}\n`);
    },
  };
}

function unlinkQuietly(path: Buffer): void {
  try {
    unlinkSync(path);
  } catch {
    // the C tool ignores unlink errors (directories, permissions, races)
  }
}

function decodeOrFail(bytes: Uint8Array, io: ToolIo): DecodedImage {
  try {
    return decodePng(bytes, (warning) => io.stderr(`libpng warning: ${warning}\n`));
  } catch (error) {
    if (error instanceof DecodeFailure) failWith(io, error.line);
    throw error;
  }
}

const FRAME = 'FRAME\n';

function writeFrame(output: Output, name: string, width: number, height: number, planes: Planes, io: ToolIo): void {
  const { writer } = output;
  writer.writeText(FRAME);
  const rows = (plane: Uint8Array, rowLength: number, count: number): void => {
    for (let r = 0; r < count; r++) {
      if (!writer.write(plane.subarray(r * rowLength, (r + 1) * rowLength))) failWith(io, `Error writing to "${name}".`);
    }
  };
  rows(planes.y, width, height);
  rows(planes.cb, planes.chromaWidth, planes.chromaHeight);
  rows(planes.cr, planes.chromaWidth, planes.chromaHeight);
}
