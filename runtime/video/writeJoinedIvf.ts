/**
 * Join IVF chunks (ivf.ts) and write the result to a file under a temporary name in the same
 * folder, renamed into place, so the file is never seen half written and a failure leaves nothing.
 * Used by `xc-orch ivf join` and xcenc's `--join`.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeError } from '../../common/errors.js';
import { joinIvf, parseIvf } from './ivf.js';

/**
 * Throws {@link IvfError} for an input that is not IVF or does not match the first; an Error naming
 * `out` (its cause attached) when it cannot be written. Resolves with the number of frames written.
 *
 * @example await writeJoinedIvf('video.ivf', [{ name: '0.ivf', bytes }, { name: '1.ivf', bytes: more }]) // 12
 */
export async function writeJoinedIvf(out: string, inputs: ReadonlyArray<{ name: string; bytes: Buffer }>): Promise<number> {
  const joined = joinIvf(inputs);
  const partial = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.part`);
  try {
    await writeFile(partial, joined);
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw new Error(`cannot write ${out}: ${describeError(error)}`, { cause: error });
  }
  return parseIvf(joined, out).frames.length;
}
