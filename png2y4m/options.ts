/**
 * The png2y4m command line: GNU option parsing (see getoptLong.ts), `atol` numbers, and the
 * defaults of the reference tool, compiled into one options object.
 *
 * @example
 * parseCommandLine(['png2y4m', '-i', '-d', '-o', 'out.y4m', 'frames/%08d.png'])
 * // { kind: 'parsed', options: { incremental: true, deleteInputs: true, ... }, operands: [...] }
 */
import { atolInt32 } from './atol.js';
import { getoptLong, type LongOption } from './getoptLong.js';

export type ChromaMode = '420' | '422' | '444';

export interface Png2y4mOptions {
  /** `-o`: output file name, `-` for stdout; null when not given. */
  output: string | null;
  /** `-d`: unlink every input right after opening it. */
  deleteInputs: boolean;
  /** `-i`: append, header only when the output is empty. */
  incremental: boolean;
  /** `--chroma-444` / `--chroma-422`, last one wins; default 4:2:0. */
  chroma: ChromaMode;
  /** `-s` / `-S`: pixel aspect ratio, default 0:0. */
  aspectNumerator: number;
  aspectDenominator: number;
  /** `-f` / `-F`: frame rate, default 24:1. */
  framerateNumerator: number;
  framerateDenominator: number;
  /** Cleared by `--no-dither` (and never set again). */
  dither: boolean;
}

export type CommandLine =
  /** `-h`/`--help` was reached: print usage, exit 0. */
  | { kind: 'help' }
  /** getopt complained: print `diagnostic`, then usage, exit 1. */
  | { kind: 'invalid'; diagnostic: string }
  | { kind: 'parsed'; options: Png2y4mOptions; operands: string[] };

export const SHORT_OPTIONS = 'ho:s:S:f:F:di';

export const LONG_OPTIONS: readonly LongOption[] = [
  { name: 'help', hasArg: false, key: 'h' },
  { name: 'output', hasArg: true, key: 'o' },
  { name: 'chroma-444', hasArg: false, key: '444' },
  { name: 'chroma-422', hasArg: false, key: '422' },
  { name: 'aspect-numerator', hasArg: true, key: 's' },
  { name: 'aspect-denominator', hasArg: true, key: 'S' },
  { name: 'framerate-numerator', hasArg: true, key: 'f' },
  { name: 'framerate-denominator', hasArg: true, key: 'F' },
  { name: 'no-dither', hasArg: false, key: 'no-dither' },
];

export function defaultOptions(): Png2y4mOptions {
  return {
    output: null,
    deleteInputs: false,
    incremental: false,
    chroma: '420',
    aspectNumerator: 0,
    aspectDenominator: 0,
    framerateNumerator: 24,
    framerateDenominator: 1,
    dither: true,
  };
}

/** Options are acted on in order, so `-h` wins only if getopt reaches it before an error. */
export function parseCommandLine(argv: readonly string[], posixlyCorrect = false): CommandLine {
  const { events, operands } = getoptLong(argv, SHORT_OPTIONS, LONG_OPTIONS, { posixlyCorrect });
  const options = defaultOptions();
  for (const event of events) {
    if (event.kind === 'error') return { kind: 'invalid', diagnostic: event.message };
    const value = event.value ?? '';
    switch (event.key) {
      case 'h':
        return { kind: 'help' };
      case 'o':
        options.output = value;
        break;
      case 'd':
        options.deleteInputs = true;
        break;
      case 'i':
        options.incremental = true;
        break;
      case '444':
        options.chroma = '444';
        break;
      case '422':
        options.chroma = '422';
        break;
      case 's':
        options.aspectNumerator = atolInt32(value);
        break;
      case 'S':
        options.aspectDenominator = atolInt32(value);
        break;
      case 'f':
        options.framerateNumerator = atolInt32(value);
        break;
      case 'F':
        options.framerateDenominator = atolInt32(value);
        break;
      case 'no-dither':
        options.dither = false;
        break;
    }
  }
  return { kind: 'parsed', options, operands };
}
