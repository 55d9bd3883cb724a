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
import { decodeFrame, type DecodedFrame, type FrameFailure, type FrameShape } from './frameDecoding.js';
import type { FrameThreads } from './frameThreads.js';
import { ditherPlan } from './ditherPlan.js';
import { readAll, writeText } from './fdIo.js';
import { inflateAhead, type InflatedAhead } from './inflateAhead.js';
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
    return await run(args, io, (opened) => (output = opened));
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

async function run(args: string[], io: ToolIo, onOutput: (output: Output) => void): Promise<number> {
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

  // Started before the first frame is decoded: a thread takes about as long to start as a decode.
  const threads = inputs.count > 1 ? await startThreads(inputs.count, io) : undefined;
  try {
    const firstBytes = first.read();
    const firstInflation = inflateAhead(firstBytes);
    const planFor = (width: number, height: number): Int16Array => (io.ditherPlan ?? ditherPlan)(width, height, options.chroma);
    // The plan needs only the size, which the IHDR tells: computed while the thread pool inflates
    // the first frame, and kept if decoding finds that size.
    const guess = options.dither && firstInflation ? { ...firstInflation, plan: planFor(firstInflation.width, firstInflation.height) } : undefined;
    const image = decodeOrFail(firstBytes, io, await firstInflation?.done);
    const shape: FrameShape = { width: image.width, height: image.height };
    io.stderr(`${inputs.count} frames, ${shape.width}x${shape.height}\n`);
    if (!options.incremental || output.position === 0) output.writer.writeText(y4mHeader({ ...shape, ...options }));

    const ahead = new FramesAhead(inputs, threads, shape);
    ahead.dispatch(0);
    const guessed = guess !== undefined && guess.width === shape.width && guess.height === shape.height;
    const plan = !options.dither ? null : guessed ? guess.plan : planFor(shape.width, shape.height);
    // One set of planes for every frame: each is written before the next is converted.
    const planes = allocatePlanes(shape.width, shape.height, options.chroma);
    const convert = (decoded: DecodedFrame | FrameFailure): FrameOutcome => {
      if (decoded.kind !== 'decoded') return decoded;
      convertFrame(decoded.rgb, shape.width, shape.height, options.chroma, plan, planes);
      return { kind: 'converted', warnings: decoded.warnings, planes };
    };

    inputs.announce(0);
    emitFrame(convert({ kind: 'decoded', warnings: [], rgb: image.rgb }), shape, output, options.output, io);
    for (let k = 1; k < inputs.count; k++) {
      ahead.dispatch(k);
      const fetched = ahead.take(k);
      const bytes = inputs.reach(k, fetched.input, options);
      inputs.announce(k);
      // A thread that failed leaves its frame to this one.
      const decoded = await fetched.decoded.catch(() => decodeFrame(bytes, shape));
      emitFrame(convert(decoded), shape, output, options.output, io);
    }
    return 0;
  } finally {
    await threads?.close();
  }
}

/** Decoding threads for a sequence, if worth it; loaded only then (one frame needs none). */
async function startThreads(frames: number, io: ToolIo): Promise<FrameThreads | undefined> {
  const { THREADS_ENV, frameThreadCount, startFrameThreads } = await import('./frameThreads.js');
  return startFrameThreads(frameThreadCount(frames, io.env[THREADS_ENV]));
}

/** A frame ready to write, or why the tool stops at it. */
type FrameOutcome = FrameFailure | { kind: 'converted'; warnings: string[]; planes: Planes };

/**
 * Frames read ahead of their turn: handed to the decoding threads, in turn over the threads, each
 * kept a couple of frames ahead so that it never waits for the main thread between frames; or,
 * without threads, the next frame's image data inflated on the thread pool while this thread
 * converts the frame before.
 */
class FramesAhead {
  private readonly inFlight = new Map<number, { input: Fetched; decoded: Promise<DecodedFrame | FrameFailure> }>();
  private dispatched = 0;

  constructor(
    private readonly inputs: Inputs,
    private readonly threads: FrameThreads | undefined,
    private readonly shape: FrameShape,
  ) {}

  /** Dispatch the frames up to a few after frame `current` (the next one, without threads). */
  dispatch(current: number): void {
    const { threads, shape } = this;
    const last = Math.min(this.inputs.count - 1, current + (threads ? 2 * threads.size : 1));
    for (let k = this.dispatched + 1; k <= last; k++) {
      const input = this.inputs.fetch(k);
      // An input that cannot be opened fails at its turn; nothing waits for it to decode.
      const decoded = !('bytes' in input)
        ? new Promise<never>(() => {})
        : threads
          ? threads.decode(k % threads.size, k, input.bytes, shape)
          : decodeAfterInflating(input.bytes, shape);
      this.inFlight.set(k, { input, decoded });
    }
    this.dispatched = Math.max(this.dispatched, last);
  }

  /** Frame k's fetched input and decoding (every frame after the first is dispatched first). */
  take(k: number): { input: Fetched; decoded: Promise<DecodedFrame | FrameFailure> } {
    const fetched = this.inFlight.get(k);
    if (!fetched) throw new Error(`png2y4m: frame ${k} was not read ahead`);
    this.inFlight.delete(k);
    return fetched;
  }
}

/** Decoded on this thread once the thread pool has inflated its image data (if it can). */
function decodeAfterInflating(bytes: Uint8Array, shape: FrameShape): Promise<DecodedFrame | FrameFailure> {
  const inflation = inflateAhead(bytes);
  if (!inflation) return Promise.resolve().then(() => decodeFrame(bytes, shape));
  return inflation.done.then((ahead) => decodeFrame(bytes, shape, ahead));
}

/** Print frame k's messages and write it, or leave the tool as its failure requires. */
function emitFrame(outcome: FrameOutcome, shape: FrameShape, output: Output, name: string, io: ToolIo): void {
  for (const warning of outcome.warnings) io.stderr(`libpng warning: ${warning}\n`);
  switch (outcome.kind) {
    case 'failed':
      return failWith(io, outcome.line);
    case 'mismatch':
      return failWith(io, `Input size ${outcome.width}x${outcome.height} does not match ${shape.width}x${shape.height}`);
    case 'crashed':
      throw new Error(outcome.message);
    case 'converted':
      writeFrame(output, name, shape.width, shape.height, outcome.planes, io);
  }
}

/** An opened input: reading happens when the frame is decoded, as with the C tool's FILE*. */
interface Source {
  read(): Uint8Array;
}

/** An input opened and read ahead of its turn, or why it could not be opened. */
type Fetched = { bytes: Uint8Array } | { openError: string };

interface Inputs {
  count: number;
  /** Open (and with -d unlink) input k. */
  open(k: number, options: Png2y4mOptions): Source;
  /**
   * Open and read input k ahead of its turn, deleting nothing: nothing the tool shows depends on
   * when an input is read, only on when it is deleted and its failure reported ({@link reach}).
   */
  fetch(k: number): Fetched;
  /** Input k's turn after {@link fetch}: as {@link open} would (delete, fail), then its bytes. */
  reach(k: number, fetched: Fetched, options: Png2y4mOptions): Uint8Array;
  /** Print input k's name to stderr (directory scans only). */
  announce(k: number): void;
}

function selectInputs(mask: string, io: ToolIo): Inputs {
  const fail: (message: string | null) => never = (message) => failWith(io, message);
  if (mask === '-') {
    const stdin = (): Uint8Array => io.readStdin();
    return { count: 1, open: () => ({ read: stdin }), fetch: () => ({ bytes: stdin() }), reach: (_k, fetched) => ('bytes' in fetched ? fetched.bytes : fail(fetched.openError)), announce: () => {} };
  }
  const { dir, filter } = splitMask(mask);
  const names = findInputs(locate(io, dir), filter);
  if (names === null || names.length === 0) fail('No input files found. Run with -h for help.');
  const where = (k: number): { path: string; bytesPath: Buffer } => {
    const path = inputPath(dir, names[k]!);
    return { path, bytesPath: Buffer.from(locate(io, path), 'latin1') };
  };
  const openError = (path: string, error: unknown): string => `Error opening "${path}": ${strerror(error)}`;
  return {
    count: names.length,
    open(k, options) {
      const { path, bytesPath } = where(k);
      let fd: number;
      try {
        fd = openSync(bytesPath, 'r');
      } catch (error) {
        if (options.deleteInputs) unlinkQuietly(bytesPath);
        fail(openError(path, error));
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
    fetch(k) {
      const { path, bytesPath } = where(k);
      let fd: number;
      try {
        fd = openSync(bytesPath, 'r');
      } catch (error) {
        return { openError: openError(path, error) };
      }
      try {
        return { bytes: readAll(fd) };
      } finally {
        closeSync(fd);
      }
    },
    reach(k, fetched, options) {
      if (options.deleteInputs) unlinkQuietly(where(k).bytesPath);
      if ('openError' in fetched) fail(fetched.openError);
      return fetched.bytes;
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

function decodeOrFail(bytes: Uint8Array, io: ToolIo, ahead: InflatedAhead | undefined): DecodedImage {
  try {
    return decodePng(bytes, (warning) => io.stderr(`libpng warning: ${warning}\n`), ahead);
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
