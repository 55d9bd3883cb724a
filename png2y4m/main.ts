/**
 * png2y4m: PNG frames -> YUV4MPEG2, a byte-exact re-implementation of the daala_tools tool mu's
 * reference job runs once per frame (`png2y4m -i -d -o OUT IN`). Same output bytes, exit codes,
 * messages and deleted files as the C tool (see the spec in ../shared/png2y4m/SPEC.md).
 *
 * Only node built-ins are imported here and below: the tool starts once per frame on every worker.
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

/** Raised to leave the tool with an exit code once its message is printed. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs the tool; `argv[0]` is the program name used in messages. Resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // C sees bytes: work on byte strings (one char per byte) so odd file names round-trip.
  const args = argv.map((arg) => Buffer.from(arg, 'utf8').toString('latin1'));
  let output: Output | null = null;
  try {
    return run(args, (opened) => (output = opened));
  } catch (error) {
    if (error instanceof Exit) return error.code;
    // Not a documented failure (e.g. an image too large to allocate): one line, never a stack.
    writeText(STDERR, `${args[0] ?? 'png2y4m'}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    // Like exit(): whatever stdio still buffers is flushed (errors ignored), so on failure the
    // header and the frames completed so far are in the file.
    (output as Output | null)?.close();
  }
}

function fail(message: string | null): never {
  if (message !== null) writeText(STDERR, `${message}\n`);
  throw new Exit(1);
}

function run(args: string[], onOutput: (output: Output) => void): number {
  const program = args[0] ?? 'png2y4m';
  const parsed = parseCommandLine(args, process.env.POSIXLY_CORRECT !== undefined);
  if (parsed.kind === 'help') {
    writeText(STDERR, usageText(program));
    return 0;
  }
  if (parsed.kind === 'invalid') {
    writeText(STDERR, parsed.diagnostic);
    writeText(STDERR, usageText(program));
    return 1;
  }
  if (args.length < 3) {
    writeText(STDERR, usageText(program));
    return 1;
  }
  const { options, operands } = parsed;
  const mask = operands[0];
  if (mask === undefined) fail('No input files specified. Run with -h for help.');

  const inputs = selectInputs(mask);
  const first = inputs.open(0, options);
  if (options.output === null) fail('No output file specified. Run with -h for help.');
  const output = openOutput(options.output, options.incremental);
  if (!output) fail(`Error opening output file "${options.output}".`);
  onOutput(output);

  const image = decodeOrFail(first.read());
  const { width, height } = image;
  writeText(STDERR, `${inputs.count} frames, ${width}x${height}\n`);
  if (!options.incremental || output.position === 0) output.writer.writeText(y4mHeader({ width, height, ...options }));

  const plan = options.dither ? ditherPlan(width, height, options.chroma) : null;
  const planes = allocatePlanes(width, height, options.chroma);
  for (let k = 0; k < inputs.count; k++) {
    let frame = image;
    if (k === 0) inputs.announce(0);
    else {
      const source = inputs.open(k, options);
      inputs.announce(k);
      frame = decodeOrFail(source.read());
      if (frame.width !== width || frame.height !== height) {
        fail(`Input size ${frame.width}x${frame.height} does not match ${width}x${height}`);
      }
    }
    convertFrame(frame.rgb, width, height, options.chroma, plan, planes);
    writeFrame(output, options.output, width, height, planes);
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

function selectInputs(mask: string): Inputs {
  if (mask === '-') {
    return { count: 1, open: () => ({ read: () => readAll(STDIN) }), announce: () => {} };
  }
  const { dir, filter } = splitMask(mask);
  const names = findInputs(dir, filter);
  if (names === null || names.length === 0) fail('No input files found. Run with -h for help.');
  return {
    count: names.length,
    open(k, options) {
      const path = inputPath(dir, names[k]!);
      const bytesPath = Buffer.from(path, 'latin1');
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
      writeText(STDERR, `${names[k]!}\n`);
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

function decodeOrFail(bytes: Uint8Array): DecodedImage {
  try {
    return decodePng(bytes, (warning) => writeText(STDERR, `libpng warning: ${warning}\n`));
  } catch (error) {
    if (error instanceof DecodeFailure) fail(error.line);
    throw error;
  }
}

const FRAME = 'FRAME\n';

function writeFrame(output: Output, name: string, width: number, height: number, planes: Planes): void {
  const { writer } = output;
  writer.writeText(FRAME);
  const rows = (plane: Uint8Array, rowLength: number, count: number): void => {
    for (let r = 0; r < count; r++) {
      if (!writer.write(plane.subarray(r * rowLength, (r + 1) * rowLength))) fail(`Error writing to "${name}".`);
    }
  };
  rows(planes.y, width, height);
  rows(planes.cb, planes.chromaWidth, planes.chromaHeight);
  rows(planes.cr, planes.chromaWidth, planes.chromaHeight);
}
