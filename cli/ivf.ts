/**
 * `xc-orch ivf join OUT IN...`: one IVF of ExCamera's chunks in order (runtime/video/ivf.ts),
 * written under a temporary name and renamed, so OUT is never half written. Refused inputs (not
 * IVF, cut short, another codec or size, missing) exit 2 with one line; OUT's path goes to stdout.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, describeError } from '../common/errors.js';
import { IvfError } from '../runtime/video/ivf.js';
import { writeJoinedIvf } from '../runtime/video/writeJoinedIvf.js';
import { reportError } from './args.js';

export const IVF_HELP = `Usage: xc-orch ivf join OUT IN...

Joins IVF files (VP8 chunks, e.g. xc-orch run xcenc's outputs) into one IVF, in the order given:
one file header, every frame, the frame count and timestamps renumbered (the time base is the
first input's). The inputs must have the same codec and frame size.

  -h, --help   this help
`;

async function readInput(path: string): Promise<{ name: string; bytes: Buffer }> {
  try {
    return { name: path, bytes: await readFile(path) };
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${describeError(error)}`, { cause: error });
  }
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(IVF_HELP);
      return 0;
    }
    const [action, out, ...inputs] = positionals;
    if (action !== 'join') throw new ConfigError(action === undefined ? 'missing the action (join); see --help' : `unknown action '${action}' (known: join)`);
    if (out === undefined || inputs.length === 0) throw new ConfigError('join needs OUT and at least one IN; see --help');
    const read = await Promise.all(inputs.map(readInput));
    try {
      await writeJoinedIvf(out, read);
    } catch (error) {
      throw error instanceof IvfError ? new ConfigError(error.message, { cause: error }) : error;
    }
    process.stdout.write(`${out}\n`);
    return 0;
  } catch (error) {
    return reportError('ivf', error);
  }
}
